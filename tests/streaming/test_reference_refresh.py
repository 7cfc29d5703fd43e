"""Reference data changed in ClickHouse takes effect while the flow runs, without a restart.

The flow runs in a thread against the HTTP endpoint and checks the store for changed
reference tables every 0.2 s; the test changes the store between two records and produces
the second one once the flow's reference holds the change (waited for with a deadline, as
`test_reference_store.py` does: a fixed sleep raced the refresh thread on a loaded machine).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import flows.streaming
from flows.reference_store import ReferenceStore
from flows.streaming import StreamOptions
from tests.flows.conftest import CATALOG, SUBSCRIBERS, usage
from tests.streaming.conftest import (
    load_reference, produce_lines, rated_message, reference_files, running_flow, wait_until,
)

pytestmark = pytest.mark.kafka
REFRESH_S = 0.2
PREPAID = "447900000002"  # PRE5, opening balance 1.00, voice rounding 60/60, national 0.20/min
NEWCOMER = "447900000007"
# PRE5 with every voice minute at 0.50.
CATALOG_WITH_PRE50 = CATALOG + """\
  - id: PRE50
    payment: prepaid
    allowance_classes: []
    allowance_zones: [eu]
    voice: {rounding: "60/60", per_minute: {onnet: "0.50", national: "0.50", premium: "2.00", international: "1.00"}, offpeak_factor: "1"}
    sms: {per_message: {onnet: "0.10", national: "0.10", premium: "0.50", international: "0.30"}}
    data: {per_mb: "0.05", increment_kb: 1}
    roaming: {world: {per_minute: "2.00", per_message: "0.50", per_mb: "8.00"}}
"""


def reference_directory(root: Path, name: str, subscribers: str) -> Path:
    return reference_files(root / name, CATALOG_WITH_PRE50, subscribers)


class WatchedReferenceStore(ReferenceStore):
    """The flow's own reference store, kept where the test can ask what it rates with."""

    made: list[ReferenceStore] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        WatchedReferenceStore.made.append(self)


@pytest.fixture
def watched_reference(monkeypatch) -> list[ReferenceStore]:
    WatchedReferenceStore.made = []
    monkeypatch.setattr(flows.streaming, "ReferenceStore", WatchedReferenceStore)
    return WatchedReferenceStore.made


def plan_in_reference(store: ReferenceStore, msisdn: str) -> str | None:
    """The plan the reference gives `msisdn`, if both the subscriber and the plan are in it."""
    reference = store.current()
    columns = reference.subscribers.columns
    plans = [plan for number, plan in zip(columns["msisdn"], columns["plan_id"]) if number == msisdn]
    return plans[0] if plans and plans[0] in reference.catalog.plans else None


def options(topics) -> StreamOptions:
    return StreamOptions(topics=topics, snapshot_interval_s=0.2, reference_refresh_s=REFRESH_S, partitions=3)


def rated_around_a_reload(store, url: str, bootstrap: str, topics, tmp_path: Path, msisdn: str,
                          subscribers_after: str, plan_after: str, watched: list[ReferenceStore]) -> tuple[dict, dict]:
    """The rated messages of a 61 s call before and after the store's subscribers change
    under a running flow (the second once the flow's reference gives `msisdn` `plan_after`)."""
    with running_flow(url, bootstrap, options(topics), tmp_path / "recovery"):
        produce_lines(bootstrap, [usage("c1", msisdn, "voice", "2026-11-02T08:16:00Z", 61)], topics.network, tmp_path)
        before = rated_message(bootstrap, topics.rated, "c1")
        [flow_reference] = watched
        assert plan_in_reference(flow_reference, msisdn) != plan_after
        load_reference(store, reference_directory(tmp_path, "after", subscribers_after))
        wait_until(lambda: plan_in_reference(flow_reference, msisdn) == plan_after, timeout=30)
        produce_lines(bootstrap, [usage("c2", msisdn, "voice", "2026-11-02T08:20:00Z", 61)], topics.network, tmp_path)
        after = rated_message(bootstrap, topics.rated, "c2")
    return before, after


def test_a_plan_change_in_the_store_prices_the_next_record_with_the_new_plan(
    http_store, http_endpoint, kafka_bootstrap, stream_topics, tmp_path, watched_reference
):
    load_reference(http_store, reference_directory(tmp_path, "before", SUBSCRIBERS))
    moved = SUBSCRIBERS.replace(f"{PREPAID},A2,PRE5,", f"{PREPAID},A2,PRE50,")
    assert moved != SUBSCRIBERS
    first, second = rated_around_a_reload(http_store, http_endpoint.url, kafka_bootstrap, stream_topics, tmp_path,
                                          PREPAID, moved, "PRE50", watched_reference)

    # 61 s -> 120 s billable: PRE5 2 min x 0.20 = 0.40; PRE50 2 min x 0.50 = 1.00
    assert (first["plan_id"], Decimal(first["charge"])) == ("PRE5", Decimal("0.40"))
    assert (second["plan_id"], Decimal(second["charge"])) == ("PRE50", Decimal("1.00"))


def test_a_subscriber_added_to_the_store_is_rated_instead_of_rejected_as_unknown(
    http_store, http_endpoint, kafka_bootstrap, stream_topics, tmp_path, watched_reference
):
    load_reference(http_store, reference_directory(tmp_path, "before", SUBSCRIBERS))
    added = SUBSCRIBERS + f"{NEWCOMER},A7,PRE50,prepaid,active,2026-01-01T00:00:00Z,1,3.00,,consumer\n"
    before, after = rated_around_a_reload(http_store, http_endpoint.url, kafka_bootstrap, stream_topics, tmp_path,
                                          NEWCOMER, added, "PRE50", watched_reference)

    assert (before["status"], before["reason"]) == ("rejected", "unknown_subscriber")
    # PRE50: 120 s x 0.50/min = 1.00 + 0.20 tax = 1.20 from the opening 3.00 -> 1.80
    assert after["status"] == "rated"
    assert (Decimal(after["total"]), Decimal(after["balance_after"])) == (Decimal("1.20"), Decimal("1.80"))

"""In a stream an adjustment takes effect in arrival order: it funds the usage that reaches
the flow after it, whatever its `time` field says. Each phase below is one run of the flow
(until idle) on the same recovery directory, so the runs also resume each other's state."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from flows.streaming import StreamOptions, run_rating_flow
from tests.flows.conftest import usage
from tests.streaming.conftest import balances_of_store, load_reference, produce_lines

pytestmark = pytest.mark.kafka
PREPAID = "447900000002"  # PRE5, opening balance 1.00, voice rounding 60/60, national 0.20/min


def test_topup_funds_usage_that_arrives_after_it_even_if_it_started_earlier(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path
):
    load_reference(chdb_client, reference_dir)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)

    def run():
        run_rating_flow(None, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")

    # 61 s -> 120 s billable -> 2 min x 0.20 = 0.40 + tax 0.08 = 0.48; balance 1.00 - 0.48 = 0.52
    produce_lines(kafka_bootstrap, [usage("u1", PREPAID, "voice", "2026-11-02T08:16:00Z", 61)], stream_topics.network, tmp_path)
    run()
    # +5.00 stamped 10:00, later than u2 below: time order would put it after u2.
    produce_lines(kafka_bootstrap, [json.dumps({"adjustment_id": "a1", "msisdn": PREPAID, "amount": "5.00",
                                                "time": "2026-11-02T10:00:00Z", "kind": "topup"})],
                  stream_topics.adjustments, tmp_path)
    run()
    # 181 s -> 240 s -> 4 min x 0.20 = 0.80 + 0.16 = 0.96; 5.52 - 0.96 = 4.56, nothing unfunded
    # (in time order it would have met 0.52: balance 0, 0.44 unfunded, blocked).
    produce_lines(kafka_bootstrap, [usage("u2", PREPAID, "voice", "2026-11-02T09:00:00Z", 181)], stream_topics.network, tmp_path)
    run()

    u2 = chdb_client.query(
        "SELECT toString(total), toString(unfunded), toString(balance_after) FROM revguard.rated_usage FINAL WHERE record_id = 'u2'"
    ).result_rows
    assert [tuple(Decimal(v) for v in row) for row in u2] == [(Decimal("0.96"), Decimal("0"), Decimal("4.56"))]
    balance, blocked, _ = balances_of_store(chdb_client)[PREPAID]
    assert (Decimal(balance), blocked) == (Decimal("4.56"), False)
    adjustments = chdb_client.query("SELECT adjustment_id, toString(amount) FROM revguard.adjustments FINAL").result_rows
    assert [(a, Decimal(m)) for a, m in adjustments] == [("a1", Decimal("5"))]

"""Stream health page: records in and out, rejects by reason with their raw text, last alerts."""
from decimal import Decimal

from dashboards.queries.stream_health import records_per_minute
from tests.dashboards.conftest import app_on, texts
from tests.dashboards.seed import MSISDN_1, at as utc

PAGE = "views/stream_health.py"


def with_rejects(store) -> None:
    store.insert("revguard.rejects", [
        ["network", "network.ndjson:7", "", "", "bad_json", "{not json"],
        ["network", "network.ndjson:9", "", "", "bad_json", "]["],
        ["billed", "billed.ndjson:3", "B9", MSISDN_1, "negative_quantity", '{"duration_s": -4}'],
        ["billed", "billed.ndjson:4", "B10", MSISDN_1, "negative_quantity", '{"msisdn": "447900000001", "duration_s": -1}'],
    ], column_names=["stream", "source", "record_id", "msisdn", "reason", "raw"])


def test_rejects_are_counted_by_reason(small_store):
    with_rejects(small_store)
    at = app_on(PAGE)
    assert not at.exception
    reasons = next(frame.value for frame in at.dataframe if "rejects" in frame.value.columns)
    assert dict(zip(reasons["reason"], reasons["rejects"])) == {"bad_json": 2, "negative_quantity": 2}


def test_the_last_rejects_show_their_raw_text_with_msisdn_masked(small_store):
    with_rejects(small_store)
    at = app_on(PAGE)
    rejects = next(frame.value for frame in at.dataframe if "raw" in frame.value.columns)
    # the msisdn inside the raw line is masked too
    assert sorted(rejects["raw"]) == sorted(["{not json", "][", '{"duration_s": -4}', '{"msisdn": "4479••••0001", "duration_s": -1}'])
    assert "4479••••0001" in rejects["msisdn"].tolist()


def test_records_in_and_out_are_counted_per_minute(small_store):
    # Drawn as a chart (which AppTest does not expose), so its data is checked: the seed wrote
    # three network records and three rated rows within the same minute.
    flow = records_per_minute()
    assert flow.groupby("direction")["records"].sum().to_dict() == {"in (network)": 3, "out (rated)": 3}
    at = app_on(PAGE)
    assert not at.exception and "Nothing ingested yet." not in texts(at.markdown)


def test_the_last_alerts_are_listed(small_store):
    small_store.insert("revguard.alerts", [["x", "low_balance", MSISDN_1, "N1", utc("2026-11-02T08:00:00"), Decimal("1.5")]],
                       column_names=["alert_id", "kind", "msisdn", "record_id", "time", "balance"])
    at = app_on(PAGE)
    alerts = next(frame.value for frame in at.dataframe if "raised_at" in frame.value.columns)
    assert alerts["kind"].tolist() == ["low_balance"]

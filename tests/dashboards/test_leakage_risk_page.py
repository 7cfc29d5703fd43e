"""Leakage risk page (issue 23): money at risk of the latest scores beside the leakage found."""
from decimal import Decimal

from dashboards.queries.leakage_risk import risk_beside_found
from tests.dashboards.conftest import app_on, metric, texts
from tests.dashboards.seed import MSISDN_1, MSISDN_2, at

PAGE = "views/leakage_risk.py"
COLUMNS = ["record_id", "msisdn", "element_id", "service", "start_time", "probability", "expected_loss",
           "model_version", "as_of", "scored_at"]


def with_scores(store) -> None:
    # N2 (unbilled, 150.00 found) was scored at 0.10 x 150.00; N3 (misrated, 0.07 found) at 0.5 x 0.12;
    # N1 (clean) at 0.02 x 0.10. An older run's row for N1 is replaced by the newer one.
    store.insert("revguard.leakage_scores", [
        ["N1", MSISDN_1, "msc-01", "voice", at("2026-11-02T08:00:00"), 0.5, Decimal("0.050000"), "v0",
         at("2026-11-02T12:00:00"), at("2026-11-02T12:00:00")],
        ["N1", MSISDN_1, "msc-01", "voice", at("2026-11-02T08:00:00"), 0.02, Decimal("0.002000"), "v1",
         at("2026-11-03T12:00:00"), at("2026-11-03T12:00:00")],
        ["N2", MSISDN_1, "pgw-01", "data", at("2026-11-02T09:00:00"), 0.10, Decimal("15.000000"), "v1",
         at("2026-11-03T12:00:00"), at("2026-11-03T12:00:00")],
        ["N3", MSISDN_2, "msc-01", "voice", at("2026-11-03T10:00:00"), 0.5, Decimal("0.060000"), "v1",
         at("2026-11-03T12:00:00"), at("2026-11-03T12:00:00")],
    ], column_names=COLUMNS)


def test_money_at_risk_sits_beside_the_leakage_found_per_day(small_store):
    with_scores(small_store)
    days = risk_beside_found().set_index(risk_beside_found()["day"].astype(str))
    assert days.loc["2026-11-02", "money_at_risk"] == Decimal("15.002")
    assert days.loc["2026-11-02", "leakage_found"] == Decimal("150.00")
    assert days.loc["2026-11-03", "money_at_risk"] == Decimal("0.06")
    assert days.loc["2026-11-03", "leakage_found"] == Decimal("0.07")
    assert days["faults_found"].tolist() == [1, 1]


def test_the_page_shows_the_latest_run_and_masks_msisdns(small_store):
    with_scores(small_store)
    at_ = app_on(PAGE)
    assert not at_.exception
    assert metric(at_, "Money at risk now") == "EUR 15.06"
    assert metric(at_, "Records inside the SLA") == "3"
    records = next(frame.value for frame in at_.dataframe if "record_id" in frame.value.columns)
    assert records["record_id"].tolist() == ["N2", "N3", "N1"]
    assert all("••••" in m for m in records["msisdn"])


def test_a_store_without_scores_says_how_to_get_them(small_store):
    at_ = app_on(PAGE)
    assert not at_.exception
    assert any("revguard score" in t for t in texts(at_.markdown))


def test_a_record_rescored_from_an_earlier_clock_counts_in_that_run_only(small_store):
    # N1 was first scored at a later clock, then again (newer scored_at) at an earlier one: only
    # the newer row holds, so the latest run is the earlier clock's and it holds N1
    small_store.insert("revguard.leakage_scores", [
        ["N1", MSISDN_1, "msc-01", "voice", at("2026-11-02T08:00:00"), 0.5, Decimal("0.050000"), "v0",
         at("2026-11-04T12:00:00"), at("2026-11-04T12:00:00")],
        ["N1", MSISDN_1, "msc-01", "voice", at("2026-11-02T08:00:00"), 0.2, Decimal("0.020000"), "v1",
         at("2026-11-02T12:00:00"), at("2026-11-05T12:00:00")],
    ], column_names=COLUMNS)
    at_ = app_on(PAGE)
    assert not at_.exception
    assert metric(at_, "Money at risk now") == "EUR 0.02"

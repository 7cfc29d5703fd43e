"""Subscriber page: search by msisdn, who they are, usage, balance, alerts and findings."""
from decimal import Decimal

from tests.dashboards.conftest import app_on, metric, texts
from tests.dashboards.seed import MSISDN_2, at as utc

PAGE = "views/subscriber.py"


def searched(msisdn: str, **state):
    at = app_on(PAGE, **state)
    at.text_input(key="subscriber_msisdn").input(msisdn).run()
    return at


def test_a_subscriber_shows_plan_usage_and_findings_masked(small_store):
    at = searched(MSISDN_2)
    assert not at.exception
    assert texts(at.subheader)[0] == "4479••••0002"
    assert metric(at, "Plan") == "PAYG" and metric(at, "Payment") == "prepaid"
    findings = next(frame.value for frame in at.dataframe if "finding_id" in frame.value.columns)
    assert sorted(findings["finding_id"]) == ["F-duplicate", "F-misrated"]


def test_the_balance_history_holds_top_ups(small_store):
    small_store.insert("revguard.adjustments", [["A1", MSISDN_2, Decimal("10"), utc("2026-11-03T12:00:00"), "topup"]],
                       column_names=["adjustment_id", "msisdn", "amount", "time", "kind"])
    at = searched(MSISDN_2)
    assert any("Prepaid balance" in text for text in texts(at.markdown))
    assert not at.exception


def test_alerts_of_the_subscriber_are_listed(small_store):
    small_store.insert("revguard.alerts", [["x", "prepaid_cutoff", MSISDN_2, "N3", utc("2026-11-03T10:00:00"), Decimal("0")]],
                       column_names=["alert_id", "kind", "msisdn", "record_id", "time", "balance"])
    at = searched(MSISDN_2)
    alerts = next(frame.value for frame in at.dataframe if "kind" in frame.value.columns and "threshold" in frame.value.columns)
    assert alerts["kind"].tolist() == ["prepaid_cutoff"]


def test_an_msisdn_that_is_not_digits_is_refused_with_a_message(small_store):
    at = searched("+44 79")
    assert texts(at.error) == ["An msisdn is digits only, E.164 without +."]


def test_an_unknown_msisdn_is_said_to_be_unknown(small_store):
    at = searched("449999999999")
    assert texts(at.warning) == ["4499••••9999 is neither in billing nor provisioned on the network."]

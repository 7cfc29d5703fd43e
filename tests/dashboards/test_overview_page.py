"""Overview page on the hand-worked store (tests/dashboards/seed.py)."""
from datetime import date
from decimal import Decimal

from assurance.cases import move_case, open_case
from tests.dashboards.conftest import app_on, metric


def test_leakage_is_shown_with_its_share_of_rated_revenue(small_store):
    at = app_on()
    assert not at.exception
    assert metric(at, "Leakage") == "EUR 150.07"
    assert metric(at, "Share of rated revenue") == "99.90%"  # 150.07 / 150.22
    assert metric(at, "Over-billed") == "EUR 0.05"


def test_money_by_kind_lists_every_kind_largest_first(small_store):
    at = app_on()
    kinds = at.dataframe[0].value
    assert kinds["kind"].tolist() == ["unbilled", "misrated", "duplicate_billing"]
    assert kinds["amount"].tolist() == [150.00, 0.07, -0.05]


def test_leakage_is_broken_down_by_service_plan_and_element(small_store):
    at = app_on()
    service, plan, element = (frame.value for frame in at.dataframe[1:4])
    assert dict(zip(service["service"], service["amount"])) == {"data": 150.00, "voice": 0.07}
    assert dict(zip(plan["plan_id"], plan["amount"])) == {"SMART10": 150.00, "PAYG": 0.07}
    assert dict(zip(element["element_id"], element["amount"])) == {"pgw-01": 150.00, "msc-01": 0.07}


def test_the_date_range_narrows_every_figure(small_store):
    at = app_on()
    at.date_input(key="overview_range").set_value((date(2026, 11, 3), date(2026, 11, 3))).run()
    assert metric(at, "Leakage") == "EUR 0.07"
    assert metric(at, "Share of rated revenue") == "58.33%"  # 0.07 / 0.12: only N3 was rated that day


def test_case_money_shows_what_is_open_and_what_was_recovered(small_store):
    first = open_case(small_store, finding_ids=["F-unbilled"], title="a", amount_at_stake=Decimal("150"), actor="ana")
    second = open_case(small_store, finding_ids=["F-misrated"], title="b", amount_at_stake=Decimal("0.07"), actor="ana")
    for state in ("investigating", "confirmed"):
        move_case(small_store, second.case_id, state, actor="ana")
    move_case(small_store, second.case_id, "recovered", actor="ana", amount_recovered=Decimal("0.06"))
    at = app_on()
    assert metric(at, "Open in cases") == "EUR 150.00"
    assert metric(at, "Recovered") == "EUR 0.06"
    assert first.state == "open"

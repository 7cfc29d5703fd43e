"""Findings page: filters, masking, selection to evidence, a case opened from a selection."""
from decimal import Decimal

import pytest

from assurance.cases import case_events, load_case
from dashboards.masking import UNMASK_ENV
from tests.dashboards.conftest import app_on, button, texts
from tests.dashboards.seed import MSISDN_1

PAGE = "views/findings.py"


def findings_table(at):
    return next(frame.value for frame in at.dataframe if "finding_id" in frame.value.columns)


def selected(*rows: int) -> dict:
    return {"selection": {"rows": list(rows), "columns": [], "cells": []}}


def test_findings_are_sorted_by_money_either_sign(small_store):
    at = app_on(PAGE)
    assert not at.exception
    assert findings_table(at)["finding_id"].tolist() == ["F-unbilled", "F-misrated", "F-duplicate"]


@pytest.mark.parametrize(("widget", "value", "expected"), [
    ("findings_kinds", ["misrated"], ["F-misrated"]),
    ("findings_elements", ["msc-01"], ["F-misrated", "F-duplicate"]),
    ("findings_services", ["data"], ["F-unbilled"]),
    ("findings_plans", ["PAYG"], ["F-misrated", "F-duplicate"]),
    ("findings_min", 0.06, ["F-unbilled", "F-misrated"]),
])
def test_each_filter_narrows_the_list(small_store, widget, value, expected):
    at = app_on(PAGE)
    (at.multiselect(key=widget) if widget != "findings_min" else at.number_input(key=widget)).set_value(value).run()
    assert findings_table(at)["finding_id"].tolist() == expected


def test_msisdns_are_masked_by_default(small_store):
    at = app_on(PAGE)
    assert findings_table(at)["msisdn"].tolist()[0] == "4479••••0001"


def test_the_switch_shows_full_msisdns(small_store):
    at = app_on(PAGE)
    at.toggle(key="unmask").set_value(True).run()
    assert findings_table(at)["msisdn"].tolist()[0] == MSISDN_1


def test_the_operator_can_take_the_switch_away(small_store, monkeypatch):
    monkeypatch.setenv(UNMASK_ENV, "disabled")
    at = app_on(PAGE, unmask=True)
    assert not [t for t in at.toggle if t.key == "unmask"]
    assert findings_table(at)["msisdn"].tolist()[0] == "4479••••0001"


def test_a_selected_finding_shows_its_network_record_every_bill_and_the_shadow_rating(small_store):
    at = app_on(PAGE)
    at.session_state["findings_table"] = selected(1)  # F-misrated on N3
    at.run()
    assert not at.exception
    # In page order: the findings, then the evidence's network record (one column) and bills.
    network, bills = at.dataframe[1].value, at.dataframe[2].value
    assert network.loc["record_id"].tolist() == ["N3"] and network.loc["duration_s"].tolist() == ["61"]
    assert bills["bill_record_id"].tolist() == ["B2", "B3"]
    breakdown = dict(zip(at.table[0].value.iloc[:, 0], at.table[0].value.iloc[:, 1]))
    assert breakdown["charge (ex tax)"] == "EUR 0.12"
    assert breakdown["tax"] == "EUR 0.024"
    assert breakdown["off-peak"] == "yes"
    assert breakdown["price per minute"] == "EUR 0.118033"  # 0.12 × 60 / 61 s, to the micro-unit
    assert breakdown["destination class"] == "national"


def test_a_case_opens_from_a_selection_with_the_money_at_stake(small_store):
    at = app_on(PAGE, analyst="ana")
    at.session_state["findings_table"] = selected(1, 2)
    at.run()
    at.text_input(key="case_title").input("N3 billed wrong and twice")
    button(at, "Open case").click().run()
    assert not at.exception and not at.error
    case_id = at.session_state["last_case"]
    case = load_case(small_store, case_id)
    assert (case.title, case.finding_ids, case.amount_at_stake, case.state) == (
        "N3 billed wrong and twice", ("F-misrated", "F-duplicate"), Decimal("0.02"), "open")
    assert [event.actor for event in case_events(small_store, case_id)] == ["ana"]
    assert any(case_id in text for text in texts(at.success))

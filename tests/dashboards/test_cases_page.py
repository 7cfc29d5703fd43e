"""Cases page: alarms untriaged first, a case opened from an alarm, every transition persisted to
ClickHouse from the page, an illegal one refused with a message, the CSV export."""
from decimal import Decimal

import pytest

from assurance.cases import case_events, load_case, move_case, open_case
import csv
import io

from dashboards.queries.cases import case_csv, case_export
from tests.dashboards.conftest import app_on, button, texts

PAGE = "views/cases.py"


def alarms_table(at):
    return at.dataframe[0].value


@pytest.fixture
def one_case(small_store):
    return open_case(small_store, finding_ids=["F-misrated"], title="N3 misrated", amount_at_stake=Decimal("0.07"), actor="ana")


def moved_on_page(case_id: str, to_state: str, recovered: float | None = None):
    at = app_on(PAGE, analyst="bo", case_choice=case_id)
    at.selectbox(key="move_to").set_value(to_state)
    if recovered is not None:
        at.number_input(key="move_recovered").set_value(recovered)
    button(at, "Apply").click().run()
    return at


def test_alarms_list_the_most_money_first_when_none_is_triaged(small_store):
    at = app_on(PAGE)
    assert not at.exception
    assert alarms_table(at)["alarm_key"].tolist() == [
        "unbilled · element pgw-01 · 2026-11-02", "misrated · plan PAYG · 2026-11-03", "duplicate_billing · plan PAYG · 2026-11-03"]
    assert alarms_table(at)["severity"].tolist() == ["high", "low", "low"]


def test_a_case_opened_from_an_alarm_holds_its_findings_and_sends_it_behind_the_untriaged(small_store):
    at = app_on(PAGE, analyst="ana")
    at.session_state["alarms_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    button(at, "Open a case from this alarm").click().run()
    assert not at.exception and not at.error
    case = load_case(small_store, at.session_state["case_choice"])
    assert (case.finding_ids, case.amount_at_stake, case.severity, case.alarm_key) == (
        ("F-unbilled",), Decimal("150.00"), "high", "unbilled · element pgw-01 · 2026-11-02")
    assert alarms_table(at)["alarm_key"].tolist()[-1] == "unbilled · element pgw-01 · 2026-11-02"


@pytest.mark.parametrize("path", [("investigating", "confirmed"), ("investigating", "false_positive")])
def test_each_transition_made_on_the_page_is_stored_and_audited(one_case, small_store, path):
    for to_state in path:
        at = moved_on_page(one_case.case_id, to_state)
        assert not at.exception and not at.error, texts(at.error)
        assert load_case(small_store, one_case.case_id).state == to_state
        assert texts(at.success) == [f"Case {one_case.case_id} is now {to_state}."]
    trail = [(event.actor, event.from_state, event.to_state) for event in case_events(small_store, one_case.case_id)]
    assert trail == [("ana", "", "open"), ("bo", "open", path[0]), ("bo", path[0], path[1])]


def test_recovered_is_stored_with_the_amount_recovered(one_case, small_store):
    move_case(small_store, one_case.case_id, "investigating", actor="ana")
    move_case(small_store, one_case.case_id, "confirmed", actor="ana")
    at = moved_on_page(one_case.case_id, "recovered", recovered=0.05)
    assert not at.error
    case = load_case(small_store, one_case.case_id)
    assert (case.state, case.amount_recovered) == ("recovered", Decimal("0.05"))


def test_an_illegal_transition_is_refused_with_a_message_and_nothing_stored(one_case, small_store):
    at = moved_on_page(one_case.case_id, "confirmed")
    assert not at.exception
    assert texts(at.error) == ["Refused: a case in state 'open' cannot move to 'confirmed': it can move to investigating"]
    assert load_case(small_store, one_case.case_id).state == "open"
    assert len(case_events(small_store, one_case.case_id)) == 1


def test_the_audit_trail_of_the_chosen_case_is_shown(one_case, small_store):
    move_case(small_store, one_case.case_id, "investigating", actor="bo", note="calling billing")
    at = app_on(PAGE, case_choice=one_case.case_id)
    trail = next(frame.value for frame in at.dataframe if "to_state" in frame.value.columns)
    assert trail[["actor", "from_state", "to_state", "note"]].values.tolist() == [
        ["ana", "", "open", ""], ["bo", "open", "investigating", "calling billing"]]


def test_a_case_exports_with_each_finding_and_its_evidence(one_case):
    export = case_export(one_case.case_id)
    assert export[["case_id", "finding_id", "kind", "record_id", "bill_record_id"]].values.tolist() == [
        [one_case.case_id, "F-misrated", "misrated", "N3", "B2"]]
    assert '"shadow_charge": "0.120000"' in export["evidence"].iloc[0]


def test_the_csv_export_holds_the_evidence_exact_amounts_and_masked_msisdns(one_case):
    rows = list(csv.DictReader(io.StringIO(case_csv(one_case.case_id, unmasked=False).decode("utf-8"))))
    assert [(row["finding_id"], row["amount"], row["msisdn"], row["amount_at_stake"]) for row in rows] == [
        ("F-misrated", "0.070000", "4479••••0002", "0.070000")]
    assert '"billed_charge": "0.050000"' in rows[0]["evidence"]
    unmasked = next(csv.DictReader(io.StringIO(case_csv(one_case.case_id, unmasked=True).decode("utf-8"))))
    assert unmasked["msisdn"] == "447900000002"


def test_the_cases_page_offers_the_csv_export(one_case):
    at = app_on(PAGE, case_choice=one_case.case_id)
    assert not at.exception
    assert [element.proto.label for element in at.get("download_button")] == ["Export this case with its evidence (CSV)"]


def test_without_cases_the_page_says_how_to_open_one(small_store):
    at = app_on(PAGE)
    assert any("No cases yet" in text for text in texts(at.info))

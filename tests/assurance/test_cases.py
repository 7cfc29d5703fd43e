"""Cases: the state machine of SPEC section 7, persisted in `cases` with an append-only audit
trail in `case_events`, over chDB and over the HTTP endpoint."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from assurance.cases import (
    CaseError,
    IllegalTransition,
    StaleCase,
    UnknownCase,
    case_events,
    check_transition,
    load_case,
    move_case,
    open_case,
    severity_of,
)

ALL_STATES = ("open", "investigating", "confirmed", "false_positive", "recovered")
LEGAL = {("open", "investigating"), ("investigating", "confirmed"), ("investigating", "false_positive"), ("confirmed", "recovered")}


@pytest.fixture
def store(store_client):
    return store_client


def opened(store, amount="12.50"):
    return open_case(store, finding_ids=["F1", "F2"], title="two unbilled", amount_at_stake=Decimal(amount), actor="ana",
                     kind="unbilled", now=datetime(2026, 11, 5, 9, tzinfo=timezone.utc))


@pytest.mark.parametrize("from_state", ALL_STATES)
@pytest.mark.parametrize("to_state", ALL_STATES)
def test_only_the_five_spec_transitions_are_allowed(from_state, to_state):
    if (from_state, to_state) in LEGAL:
        check_transition(from_state, to_state)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(from_state, to_state)


@pytest.mark.parametrize(("amount", "severity"), [("0", "low"), ("9.999999", "low"), ("10", "medium"), ("-99.99", "medium"),
                                                   ("100", "high"), ("999.999999", "high"), ("1000", "critical"), ("-2500", "critical")])
def test_severity_follows_the_money_at_stake_of_either_sign(amount, severity):
    assert severity_of(Decimal(amount)) == severity


def test_an_opened_case_is_stored_open_with_its_opening_in_the_audit(store):
    case = opened(store)
    stored = load_case(store, case.case_id)
    assert (stored.state, stored.version, stored.finding_ids, stored.amount_at_stake, stored.severity) == (
        "open", 1, ("F1", "F2"), Decimal("12.50"), "medium")
    [event] = case_events(store, case.case_id)
    assert (event.from_state, event.to_state, event.actor) == ("", "open", "ana")


def test_every_legal_step_to_recovered_persists_and_is_audited(store):
    case = opened(store)
    move_case(store, case.case_id, "investigating", actor="bo", assignee="bo", note="checking mediation")
    move_case(store, case.case_id, "confirmed", actor="bo")
    move_case(store, case.case_id, "recovered", actor="cy", amount_recovered=Decimal("12.25"))
    stored = load_case(store, case.case_id)
    assert (stored.state, stored.version, stored.assignee, stored.amount_recovered) == ("recovered", 4, "bo", Decimal("12.25"))
    trail = [(e.version, e.actor, e.from_state, e.to_state) for e in case_events(store, case.case_id)]
    assert trail == [(1, "ana", "", "open"), (2, "bo", "open", "investigating"), (3, "bo", "investigating", "confirmed"),
                     (4, "cy", "confirmed", "recovered")]


def test_investigating_can_end_as_false_positive(store):
    case = opened(store)
    move_case(store, case.case_id, "investigating", actor="bo")
    move_case(store, case.case_id, "false_positive", actor="bo", note="test traffic")
    assert load_case(store, case.case_id).state == "false_positive"


def test_an_illegal_transition_is_refused_and_writes_nothing(store):
    case = opened(store)
    with pytest.raises(IllegalTransition, match="cannot move to 'confirmed'"):
        move_case(store, case.case_id, "confirmed", actor="bo")
    assert load_case(store, case.case_id).state == "open"
    assert len(case_events(store, case.case_id)) == 1


def test_a_closed_case_moves_nowhere(store):
    case = opened(store)
    move_case(store, case.case_id, "investigating", actor="bo")
    move_case(store, case.case_id, "false_positive", actor="bo")
    with pytest.raises(IllegalTransition, match="closed"):
        move_case(store, case.case_id, "investigating", actor="bo")


def test_recovered_needs_the_amount_recovered(store):
    case = opened(store)
    move_case(store, case.case_id, "investigating", actor="bo")
    move_case(store, case.case_id, "confirmed", actor="bo")
    with pytest.raises(CaseError, match="amount recovered"):
        move_case(store, case.case_id, "recovered", actor="bo")
    assert load_case(store, case.case_id).state == "confirmed"


def test_a_move_from_a_version_already_changed_is_refused(store):
    case = opened(store)
    move_case(store, case.case_id, "investigating", actor="bo", seen_version=1)
    with pytest.raises(StaleCase):
        move_case(store, case.case_id, "confirmed", actor="cy", seen_version=1)
    assert load_case(store, case.case_id).state == "investigating"


def test_a_change_without_an_analyst_name_is_refused(store):
    with pytest.raises(CaseError, match="who you are"):
        open_case(store, finding_ids=["F1"], title="x", amount_at_stake=Decimal(1), actor=" ")


def test_an_unknown_case_is_named(store):
    with pytest.raises(UnknownCase, match="no case CASE-nope"):
        move_case(store, "CASE-nope", "investigating", actor="bo")

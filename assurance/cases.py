"""Cases: the findings an analyst works on, their states, and the audit trail of every change.

States (SPEC section 7): `open -> investigating -> confirmed | false_positive`, then
`confirmed -> recovered` with the amount recovered. No other transition is allowed; one
that is not is refused with `IllegalTransition` before anything is written.

Storage (migration 0004): the newest version of a case is its row in `revguard.cases`
(ReplacingMergeTree on `version`); every opening and transition appends one row to
`revguard.case_events`, which is never rewritten. A transition names the version it saw,
so two analysts moving one case at once cannot both win: the second is refused
(`StaleCase`) and sees the case as it now is.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from decimal import Decimal

from clickhouse_connect.driver import Client

OPEN, INVESTIGATING, CONFIRMED, FALSE_POSITIVE, RECOVERED = "open", "investigating", "confirmed", "false_positive", "recovered"
STATES: tuple[str, ...] = (OPEN, INVESTIGATING, CONFIRMED, FALSE_POSITIVE, RECOVERED)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OPEN: (INVESTIGATING,),
    INVESTIGATING: (CONFIRMED, FALSE_POSITIVE),
    CONFIRMED: (RECOVERED,),
    FALSE_POSITIVE: (),
    RECOVERED: (),
}

# Severity from the money at stake (absolute, ex tax, catalog currency): the thresholds an
# RA team triages by. An alarm or a case at or above a bound takes its name.
SEVERITY_BOUNDS: tuple[tuple[Decimal, str], ...] = (
    (Decimal("1000"), "critical"),
    (Decimal("100"), "high"),
    (Decimal("10"), "medium"),
)
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low")


class CaseError(ValueError):
    """A case change that was refused; the message is one line for the analyst."""


class IllegalTransition(CaseError):
    """A transition the state machine does not allow."""


class StaleCase(CaseError):
    """The case changed since the caller read it."""


class UnknownCase(CaseError):
    """No case with that id."""


@dataclass(frozen=True)
class Case:
    case_id: str
    title: str
    kind: str
    alarm_key: str
    finding_ids: tuple[str, ...]
    amount_at_stake: Decimal
    severity: str
    state: str
    assignee: str
    notes: str
    amount_recovered: Decimal | None
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class CaseEvent:
    case_id: str
    version: int
    actor: str
    at: datetime
    from_state: str
    to_state: str
    note: str
    amount_recovered: Decimal | None


_CASE_COLUMNS = (
    "case_id", "title", "kind", "alarm_key", "finding_ids", "amount_at_stake", "severity", "state", "assignee",
    "notes", "amount_recovered", "opened_by", "opened_at", "updated_at", "version",
)  # fmt: skip
_EVENT_COLUMNS = ("case_id", "version", "actor", "at", "from_state", "to_state", "note", "amount_recovered")

CASE_BY_ID = f"SELECT {', '.join(_CASE_COLUMNS)} FROM revguard.cases FINAL WHERE case_id = {{case_id:String}}"
EVENTS_OF_CASE = (
    f"SELECT {', '.join(_EVENT_COLUMNS)} FROM revguard.case_events "
    "WHERE case_id = {case_id:String} ORDER BY version, at"
)


def severity_of(amount: Decimal) -> str:
    """critical / high / medium / low for money at stake of either sign."""
    money = abs(Decimal(amount))
    for bound, name in SEVERITY_BOUNDS:
        if money >= bound:
            return name
    return "low"


def next_states(state: str) -> tuple[str, ...]:
    """The states a case in `state` may move to."""
    if state not in TRANSITIONS:
        raise CaseError(f"unknown case state {state!r}")
    return TRANSITIONS[state]


def check_transition(from_state: str, to_state: str) -> None:
    """Raise IllegalTransition unless the state machine allows from_state -> to_state."""
    allowed = next_states(from_state)
    if to_state not in allowed:
        where = f"it can move to {' or '.join(allowed)}" if allowed else "it is closed"
        raise IllegalTransition(f"a case in state '{from_state}' cannot move to '{to_state}': {where}")


def open_case(
    client: Client,
    *,
    finding_ids: list[str] | tuple[str, ...],
    title: str,
    amount_at_stake: Decimal,
    actor: str,
    kind: str = "",
    alarm_key: str = "",
    assignee: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> Case:
    """A new case in state `open`, written with its opening event."""
    if not finding_ids:
        raise CaseError("a case needs at least one finding")
    if not actor.strip():
        raise CaseError("say who you are (the analyst name) before opening a case")
    at = now or datetime.now(timezone.utc)
    case = Case(
        case_id=f"CASE-{at:%Y%m%d}-{uuid.uuid4().hex[:8]}",
        title=title.strip() or f"{len(finding_ids)} finding(s)",
        kind=kind,
        alarm_key=alarm_key,
        finding_ids=tuple(dict.fromkeys(finding_ids)),
        amount_at_stake=Decimal(amount_at_stake),
        severity=severity_of(Decimal(amount_at_stake)),
        state=OPEN,
        assignee=assignee.strip(),
        notes=notes.strip(),
        amount_recovered=None,
        opened_by=actor.strip(),
        opened_at=at,
        updated_at=at,
        version=1,
    )
    _write(client, case, CaseEvent(case.case_id, 1, case.opened_by, at, "", OPEN, case.notes, None))
    return case


def move_case(
    client: Client,
    case_id: str,
    to_state: str,
    *,
    actor: str,
    seen_version: int | None = None,
    note: str = "",
    assignee: str | None = None,
    amount_recovered: Decimal | None = None,
    now: datetime | None = None,
) -> Case:
    """The case after moving it to `to_state`; refused (nothing written) when not allowed."""
    if not actor.strip():
        raise CaseError("say who you are (the analyst name) before changing a case")
    case = load_case(client, case_id)
    if seen_version is not None and case.version != seen_version:
        raise StaleCase(f"case {case_id} changed since you opened it (now '{case.state}', version {case.version}): reload it")
    check_transition(case.state, to_state)
    if to_state == RECOVERED:
        if amount_recovered is None or Decimal(amount_recovered) < 0:
            raise CaseError("moving a case to 'recovered' needs the amount recovered (zero or more)")
        amount_recovered = Decimal(amount_recovered)
    elif amount_recovered is not None:
        raise CaseError("an amount recovered is recorded only when a case moves to 'recovered'")
    at = now or datetime.now(timezone.utc)
    note = note.strip()
    moved = replace(
        case,
        state=to_state,
        assignee=case.assignee if assignee is None else assignee.strip(),
        notes="\n".join(part for part in (case.notes, note) if part),
        amount_recovered=amount_recovered if to_state == RECOVERED else case.amount_recovered,
        updated_at=at,
        version=case.version + 1,
    )
    _write(client, moved, CaseEvent(case_id, moved.version, actor.strip(), at, case.state, to_state, note, amount_recovered))
    return moved


def load_case(client: Client, case_id: str) -> Case:
    rows = client.query(CASE_BY_ID, parameters={"case_id": case_id}).result_rows
    if not rows:
        raise UnknownCase(f"no case {case_id}")
    values = dict(zip(_CASE_COLUMNS, rows[0]))
    values["finding_ids"] = tuple(values["finding_ids"])
    values["opened_at"] = _utc(values["opened_at"])
    values["updated_at"] = _utc(values["updated_at"])
    return Case(**values)


def case_events(client: Client, case_id: str) -> list[CaseEvent]:
    """The audit trail of one case, oldest first."""
    rows = client.query(EVENTS_OF_CASE, parameters={"case_id": case_id}).result_rows
    return [CaseEvent(**{**dict(zip(_EVENT_COLUMNS, row)), "at": _utc(row[3])}) for row in rows]


def _write(client: Client, case: Case, event: CaseEvent) -> None:
    # The event first: a crash between the two inserts leaves an audit line whose case row
    # is one version behind, which the next reader sees as the older state (never a change
    # without its audit line).
    client.insert("revguard.case_events", [[getattr(event, name) for name in _EVENT_COLUMNS]], column_names=list(_EVENT_COLUMNS))
    row = [list(case.finding_ids) if name == "finding_ids" else getattr(case, name) for name in _CASE_COLUMNS]
    client.insert("revguard.cases", [row], column_names=list(_CASE_COLUMNS))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

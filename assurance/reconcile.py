"""Running every control over a range of event time, and the summary it yields.

A run replaces its range: findings of the controls' kinds whose event_time lies in
[since, until) are removed with a lightweight DELETE, then each control inserts what
holds now. Lightweight DELETE is plain SQL on both the embedded engine (chDB) and a
server, acts at once for readers (rows are masked, not rewritten) and needs no
`is_deleted` column, so a finding that no longer holds simply disappears. Because every
control stamps its findings with an event_time inside the range it was asked for, two
overlapping runs delete and rewrite the same rows and never duplicate them; the
ReplacingMergeTree key (kind, finding_id) covers the remaining case of the same finding
written twice without a delete in between.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from time import perf_counter
from typing import Any

from rich.console import Group
from rich.progress import Progress
from rich.table import Table

from assurance.controls import CONTROLS, LEAKAGE_KINDS, STATEMENTS, run_control

DEFAULT_SLA = timedelta(hours=24)
# Billing and shadow rating both round each charge half-up to 6 places, yet a billing
# system that rounds at another step can differ by one micro-unit honestly; anything
# beyond that is a rating error.
DEFAULT_TOLERANCE = Decimal("0.000001")
# A silence shorter than this is never an element gap, whatever the element's volume.
DEFAULT_MIN_SILENCE = timedelta(minutes=15)
# Expected records in a silence before it counts as a gap: exp(-15) ~ 3e-7 chance of a
# Poisson stream being that quiet by accident.
DEFAULT_MIN_EXPECTED_RECORDS = 15.0
# Baselines look a week either side of the range for the same hour of day.
_BASELINE_REACH = timedelta(days=8)

_EARLIEST = datetime(1970, 1, 1)
_LATEST = datetime(2299, 12, 31)

# The bounds travel as strings: a DELETE is rewritten into a mutation, which re-reads a
# DateTime64 parameter as epoch seconds and fails on it; toDateTime64 of a string does not.
_DELETE_RANGE = """
DELETE FROM revguard.discrepancies
WHERE kind IN {kinds:Array(String)}
  AND event_time >= toDateTime64({since:String}, 3, 'UTC')
  AND event_time < toDateTime64({until:String}, 3, 'UTC')
"""

_BILLING_CLOCK = "SELECT count(), max(billed_at) FROM revguard.billed_usage"

_FINDINGS_BY_KIND = """
SELECT kind, count(), sum(amount)
FROM revguard.discrepancies FINAL
WHERE event_time >= {since:DateTime64(3, 'UTC')} AND event_time < {until:DateTime64(3, 'UTC')}
GROUP BY kind
"""

_RATED_REVENUE = """
SELECT service, element_id, sum(charge)
FROM revguard.rated_usage FINAL
WHERE status = 'rated'
  AND start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
GROUP BY service, element_id
"""

# Under-billed money only (positive amounts of the leakage kinds); over-billing is a
# separate figure, never netted against leakage. A record can hold two findings (unbilled
# and unfunded prepaid usage): it leaks its larger amount once, not the sum.
_LEAKAGE = """
WITH leaks AS (
    SELECT record_id, any(element_id) AS leak_element, max(amount) AS leak_amount
    FROM revguard.discrepancies FINAL
    WHERE kind IN {kinds:Array(String)} AND amount > 0
      AND event_time >= {since:DateTime64(3, 'UTC')} AND event_time < {until:DateTime64(3, 'UTC')}
    GROUP BY record_id
)
SELECT n.service, l.leak_element, sum(l.leak_amount)
FROM leaks AS l
LEFT JOIN (
    SELECT record_id, service FROM revguard.network_usage FINAL
    WHERE record_id IN (SELECT record_id FROM leaks)
) AS n ON n.record_id = l.record_id
GROUP BY n.service, l.leak_element
"""

_OVERBILLING = """
SELECT sum(amount)
FROM revguard.discrepancies FINAL
WHERE amount < 0
  AND event_time >= {since:DateTime64(3, 'UTC')} AND event_time < {until:DateTime64(3, 'UTC')}
"""


@dataclass(frozen=True)
class KindTotal:
    kind: str
    findings: int
    amount: Decimal


@dataclass(frozen=True)
class LeakageShare:
    """Leakage of one service or one element against the revenue rating found for it."""

    key: str
    rated_revenue: Decimal
    leakage: Decimal

    @property
    def percent(self) -> Decimal | None:
        return _percent(self.leakage, self.rated_revenue)


@dataclass(frozen=True)
class ReconcileSummary:
    since: datetime | None
    until: datetime | None
    billing_as_of: datetime
    detected_at: datetime
    kinds: tuple[KindTotal, ...]
    rated_revenue: Decimal
    leakage: Decimal
    overbilling: Decimal
    by_service: tuple[LeakageShare, ...]
    by_element: tuple[LeakageShare, ...]
    seconds: float
    # Wall seconds each control statement took, in the order they ran: where a slow run went.
    control_seconds: tuple[tuple[str, float], ...] = ()

    @property
    def findings(self) -> int:
        return sum(k.findings for k in self.kinds)

    @property
    def leakage_percent(self) -> Decimal | None:
        return _percent(self.leakage, self.rated_revenue)

    def kind(self, kind: str) -> KindTotal:
        return next(k for k in self.kinds if k.kind == kind)

    def __rich__(self) -> Group:
        span = f"{_when(self.since, 'the beginning')} to {_when(self.until, 'now')}"
        kinds = Table(title=f"Findings, event time {span}", title_justify="left")
        kinds.add_column("kind")
        kinds.add_column("findings", justify="right")
        kinds.add_column("amount (ex tax)", justify="right")
        for k in self.kinds:
            kinds.add_row(k.kind, f"{k.findings:,}", _money(k.amount))
        kinds.add_row("total", f"{self.findings:,}", _money(sum((k.amount for k in self.kinds), Decimal(0))),
                      style="bold")
        kpis = Table(title="Leakage", title_justify="left")
        kpis.add_column("scope")
        kpis.add_column("rated revenue", justify="right")
        kpis.add_column("leakage", justify="right")
        kpis.add_column("% of revenue", justify="right")
        kpis.add_row("all usage", _money(self.rated_revenue), _money(self.leakage),
                     _pct(self.leakage_percent), style="bold")
        for share in self.by_service:
            kpis.add_row(f"service {share.key}", _money(share.rated_revenue), _money(share.leakage),
                         _pct(share.percent))
        for share in self.by_element:
            kpis.add_row(f"element {share.key}", _money(share.rated_revenue), _money(share.leakage),
                         _pct(share.percent))
        footer = (f"over-billing {_money(-self.overbilling)}; billing clock {_iso(self.billing_as_of)}; "
                  f"{self.seconds:.2f} s")
        return Group(kinds, kpis, footer)


def reconcile(
    client: Any,
    since: datetime | None = None,
    until: datetime | None = None,
    sla: timedelta = DEFAULT_SLA,
    tolerance: Decimal = DEFAULT_TOLERANCE,
    *,
    min_silence: timedelta = DEFAULT_MIN_SILENCE,
    min_expected_records: float = DEFAULT_MIN_EXPECTED_RECORDS,
    progress: bool = False,
) -> ReconcileSummary:
    """Run every control over event times in [since, until) and replace that range's findings.

    `since`/`until` of None leave that side open; naive datetimes are taken as UTC.
    """
    started = perf_counter()
    lo = _utc_naive(since) if since is not None else _EARLIEST
    hi = _utc_naive(until) if until is not None else _LATEST
    if lo >= hi:
        raise ValueError(f"empty range: {_iso(lo)} is not before {_iso(hi)}")
    if sla < timedelta(0):
        raise ValueError("the billing SLA cannot be negative")
    if tolerance < 0:
        raise ValueError("the rating tolerance cannot be negative")
    detected_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    billing_as_of = _billing_clock(client, hi if until is not None else detected_at)
    parameters = {
        "since": _bound(lo),
        "until": _bound(hi),
        "as_of": _bound(billing_as_of),
        "sla_s": int(sla.total_seconds()),
        "tolerance": tolerance,
        "detected_at": _bound(detected_at),
        "window_lo": _bound(max(_EARLIEST, lo - _BASELINE_REACH) if since is not None else _EARLIEST),
        "window_hi": _bound(min(_LATEST, hi + _BASELINE_REACH) if until is not None else _LATEST),
        "min_silence_s": int(min_silence.total_seconds()),
        "min_expected": float(min_expected_records),
    }
    client.command(_DELETE_RANGE, parameters={"kinds": list(CONTROLS), "since": _bound(lo), "until": _bound(hi)})
    timings: list[tuple[str, float]] = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("reconciling", total=len(STATEMENTS))
        for statement, _ in STATEMENTS:
            bar.update(task, description=statement)
            control_started = perf_counter()
            run_control(client, statement, parameters)
            timings.append((statement, perf_counter() - control_started))
            bar.advance(task)
    summary = _summary(client, since, until, lo, hi, billing_as_of, detected_at, perf_counter() - started)
    return replace(summary, control_seconds=tuple(timings))


def _billing_clock(client: Any, fallback: datetime) -> datetime:
    """The latest billed_at in the store: billing's own notion of now."""
    count, latest = client.query(_BILLING_CLOCK).result_rows[0]
    return _utc_naive(latest) if count else fallback


def _summary(client: Any, since: datetime | None, until: datetime | None, lo: datetime, hi: datetime,
             billing_as_of: datetime, detected_at: datetime, seconds: float) -> ReconcileSummary:
    rng = {"since": _bound(lo), "until": _bound(hi)}
    found = {k: (n, Decimal(a)) for k, n, a in client.query(_FINDINGS_BY_KIND, parameters=rng).result_rows}
    kinds = tuple(KindTotal(k, *found.get(k, (0, Decimal(0)))) for k in CONTROLS)
    revenue_by_service: dict[str, Decimal] = {}
    revenue_by_element: dict[str, Decimal] = {}
    for service, element, charge in client.query(_RATED_REVENUE, parameters=rng).result_rows:
        revenue_by_service[service] = revenue_by_service.get(service, Decimal(0)) + charge
        revenue_by_element[element] = revenue_by_element.get(element, Decimal(0)) + charge
    leak_by_service: dict[str, Decimal] = {}
    leak_by_element: dict[str, Decimal] = {}
    leak_rows = client.query(_LEAKAGE, parameters={**rng, "kinds": sorted(LEAKAGE_KINDS)}).result_rows
    for service, element, amount in leak_rows:
        leak_by_service[service] = leak_by_service.get(service, Decimal(0)) + amount
        leak_by_element[element] = leak_by_element.get(element, Decimal(0)) + amount
    overbilling = client.query(_OVERBILLING, parameters=rng).result_rows[0][0] or Decimal(0)
    return ReconcileSummary(
        since=since,
        until=until,
        billing_as_of=billing_as_of,
        detected_at=detected_at,
        kinds=kinds,
        rated_revenue=sum(revenue_by_service.values(), Decimal(0)),
        leakage=sum(leak_by_service.values(), Decimal(0)),
        overbilling=Decimal(overbilling),
        by_service=_shares(revenue_by_service, leak_by_service),
        by_element=_shares(revenue_by_element, leak_by_element),
        seconds=seconds,
    )


def _shares(revenue: dict[str, Decimal], leakage: dict[str, Decimal]) -> tuple[LeakageShare, ...]:
    keys = sorted(set(revenue) | set(leakage))
    return tuple(LeakageShare(k or "(unknown)", revenue.get(k, Decimal(0)), leakage.get(k, Decimal(0)))
                 for k in keys)


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part * 100 / whole).quantize(Decimal("0.01"))


def _bound(moment: datetime) -> str:
    """A UTC time as a DateTime64(3) literal: the driver would send epoch seconds, which
    the server refuses to parse outside 1970-2106."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _utc_naive(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(moment: datetime | None, open_end: str) -> str:
    return open_end if moment is None else _iso(_utc_naive(moment))


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value}%"

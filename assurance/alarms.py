"""Alarms: findings grouped so an analyst triages dozens of alarms, not thousands of records.

An alarm is every finding of one kind that shares its likely cause, over the run of
consecutive days on which that cause keeps producing findings:
- kinds caused where records are produced or collected (`unbilled`, `usage_mismatch`,
  `element_gap`) group by network element: a mediation fault on `pgw-02` is one alarm;
- every other kind groups by the subscriber's plan in billing: a tariff set up wrongly for
  `SMART10` is one alarm (`unbilled_subscriber` has no plan in billing: `(none)`).
A day without any such finding ends the alarm; the next finding opens a new one. So a fault
that lasts a week is one alarm of seven days, not seven alarms an analyst must tie together,
and the number of alarms follows the number of causes, not the number of days or records.

Money at stake is the sum of the findings' absolute amounts (an element gap carries its
estimated missing revenue from its evidence, as it has no amount of its own); severity
follows `assurance.cases.severity_of`. An alarm is triaged once every one of its findings is
held by a case; findings that arrive after a case was opened make it untriaged again, with
only the new findings' money to triage. Untriaged alarms come first, the most untriaged money
first.

`leakage_in_top_alarms` measures the prioritisation: the share of the leakage money the
simulator injected (truth.ndjson, positive amounts of the leakage kinds) that the largest
alarms of those kinds hold.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from clickhouse_connect.driver import Client

from assurance.cases import SEVERITY_BOUNDS
from assurance.controls import LEAKAGE_KINDS

ELEMENT_KINDS: tuple[str, ...] = ("unbilled", "usage_mismatch", "element_gap")

# The grouping itself, shared by the alarm list and the findings of one alarm: each finding with
# its cause (kind, dimension, value) and day, then each cause's days, numbered into runs.
_GROUPED_FINDINGS = """
plans AS (
    SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id FROM revguard.subscribers GROUP BY msisdn
),
cased AS (
    SELECT DISTINCT arrayJoin(finding_ids) AS finding_id FROM revguard.cases FINAL
),
grouped AS (
    SELECT
        d.finding_id AS finding_id, toString(d.kind) AS kind, d.record_id AS record_id,
        if(d.kind IN {element_kinds:Array(String)}, 'element', 'plan') AS dimension,
        if(dimension = 'element', toString(d.element_id), if(p.plan_id = '', '(none)', toString(p.plan_id))) AS value,
        toDate(d.event_time) AS day,
        d.amount AS amount,
        if(d.kind = 'element_gap',
           toDecimal64OrZero(JSONExtractString(d.evidence, 'estimated_missing_revenue'), 6),
           abs(d.amount)) AS money,
        d.finding_id IN (SELECT finding_id FROM cased) AS in_case
    FROM revguard.discrepancies AS d FINAL
    LEFT JOIN plans AS p ON p.msisdn = d.msisdn
    WHERE d.event_time >= {since:DateTime64(3, 'UTC')} AND d.event_time < {until:DateTime64(3, 'UTC')}
      AND (empty({kinds:Array(String)}) OR d.kind IN {kinds:Array(String)})
),
daily AS (
    SELECT kind, dimension, value, day, count() AS day_findings, sum(amount) AS day_amount, sum(money) AS day_money,
           countIf(NOT in_case) AS day_untriaged, sumIf(money, NOT in_case) AS day_untriaged_money
    FROM grouped GROUP BY kind, dimension, value, day
),
-- Consecutive days of one cause share an island: the day minus its rank among the cause's days.
islands AS (
    SELECT *, subtractDays(day, rank) AS island
    FROM (SELECT *, row_number() OVER (PARTITION BY kind, dimension, value ORDER BY day) AS rank FROM daily)
)"""

# The key names the alarm for people and for cases: kind, what it groups by, and its days.
_KEY = ("concat(kind, ' · ', dimension, ' ', value, ' · ', toString(min(day)), "
        "if(max(day) > min(day), concat('..', toString(max(day))), ''))")

ALARMS = f"""
WITH {_GROUPED_FINDINGS}
SELECT
    {_KEY} AS alarm_key, kind, dimension, value, min(day) AS first_day, max(day) AS last_day, count() AS days,
    sum(day_findings) AS findings,
    sum(day_amount) AS net_amount,
    sum(day_money) AS money_at_stake,
    sum(day_untriaged) AS untriaged,
    sum(day_untriaged_money) AS untriaged_money,
    multiIf(money_at_stake >= {{critical:Decimal64(6)}}, 'critical', money_at_stake >= {{high:Decimal64(6)}}, 'high',
            money_at_stake >= {{medium:Decimal64(6)}}, 'medium', 'low') AS severity,
    untriaged = 0 AS triaged
FROM islands
GROUP BY kind, dimension, value, island
ORDER BY triaged ASC, untriaged_money DESC, money_at_stake DESC, alarm_key ASC
LIMIT {{limit:UInt32}}
"""

# An alarm's days are a maximal run, so every finding of its cause within them is one of its own.
FINDINGS_OF_ALARM = f"""
WITH {_GROUPED_FINDINGS}
SELECT finding_id, record_id, amount, money, in_case FROM grouped
WHERE kind = {{kind:String}} AND dimension = {{dimension:String}} AND value = {{value:String}}
  AND day >= {{first_day:Date}} AND day <= {{last_day:Date}}
ORDER BY money DESC, finding_id
"""

MEMBERS = f"""
WITH {_GROUPED_FINDINGS},
keys AS (
    SELECT kind, dimension, value, island, {_KEY} AS alarm_key FROM islands GROUP BY kind, dimension, value, island
)
SELECT k.alarm_key, g.kind, g.record_id, g.money
FROM grouped AS g
INNER JOIN islands AS i ON i.kind = g.kind AND i.dimension = g.dimension AND i.value = g.value AND i.day = g.day
INNER JOIN keys AS k ON k.kind = i.kind AND k.dimension = i.dimension AND k.value = i.value AND k.island = i.island
"""

_EARLIEST = "1970-01-01 00:00:00"
_LATEST = "2299-12-31 00:00:00"


@dataclass(frozen=True)
class Alarm:
    alarm_key: str
    kind: str
    dimension: str
    value: str
    first_day: date
    last_day: date
    days: int
    findings: int
    amount: Decimal
    money: Decimal
    untriaged: int
    untriaged_money: Decimal
    severity: str
    triaged: bool


@dataclass(frozen=True)
class LeakageCapture:
    """How much of the injected leakage money the `top` largest leakage alarms hold."""
    top: int
    alarms: int  # leakage alarms in the store
    injected: Decimal
    captured: Decimal

    @property
    def share(self) -> float:
        return float(self.captured / self.injected) if self.injected else 1.0


def alarm_parameters(since: str | None = None, until: str | None = None, limit: int = 500,
                     kinds: list[str] | tuple[str, ...] | frozenset[str] = ()) -> dict:
    """The bound parameters of ALARMS (also used by the app, which runs the query cached);
    `kinds` keeps the alarms of those finding kinds only (empty: every kind)."""
    bounds = {name: bound for bound, name in SEVERITY_BOUNDS}
    return {
        "element_kinds": list(ELEMENT_KINDS),
        "kinds": sorted(kinds),
        "since": since or _EARLIEST,
        "until": until or _LATEST,
        "critical": bounds["critical"],
        "high": bounds["high"],
        "medium": bounds["medium"],
        "limit": limit,
    }


def alarms(client: Client, since: str | None = None, until: str | None = None, limit: int = 500,
           kinds: list[str] | tuple[str, ...] | frozenset[str] = ()) -> list[Alarm]:
    """Alarms in triage order: untriaged first, then the most untriaged money."""
    result = client.query(ALARMS, parameters=alarm_parameters(since, until, limit, kinds))
    return [Alarm(*row[:13], triaged=bool(row[13])) for row in result.result_rows]


def of_alarm_parameters(kind: str, dimension: str, value: str, first_day: date, last_day: date) -> dict:
    """The bound parameters of FINDINGS_OF_ALARM for the alarm with these fields."""
    def day(value: date) -> date:
        return value.date() if isinstance(value, datetime) else value  # a pandas Timestamp is a datetime

    return {**alarm_parameters(), "kind": kind, "dimension": dimension, "value": value,
            "first_day": day(first_day), "last_day": day(last_day)}


def findings_of_alarm(client: Client, alarm: Alarm) -> list[tuple[str, str, Decimal, Decimal, bool]]:
    """(finding_id, record_id, amount, money, in a case) of every finding in one alarm, most money first."""
    parameters = of_alarm_parameters(alarm.kind, alarm.dimension, alarm.value, alarm.first_day, alarm.last_day)
    return [(row[0], row[1], row[2], row[3], bool(row[4])) for row in client.query(FINDINGS_OF_ALARM, parameters=parameters).result_rows]


def leakage_in_top_alarms(client: Client, truth: Path | list[dict], top: int = 50) -> LeakageCapture:
    """The share of injected leakage money (positive truth amounts of LEAKAGE_KINDS) whose records
    are findings of the `top` leakage alarms with the most money at stake.

    Over-billing kinds (phantom and duplicate bills) are not leakage: their money is the
    customer's, and it would crowd the revenue the operator lost out of any top list."""
    lines = _truth_lines(truth)
    rows = client.query(MEMBERS, parameters=alarm_parameters(kinds=LEAKAGE_KINDS)).result_rows
    money: dict[str, Decimal] = defaultdict(Decimal)
    for alarm_key, _kind, _record_id, amount in rows:
        money[alarm_key] += Decimal(amount)
    largest = set(sorted(money, key=lambda key: (-money[key], key))[:top])
    held = {(kind, record_id) for alarm_key, kind, record_id, _ in rows if alarm_key in largest}
    injected = captured = Decimal(0)
    for line in lines:
        amount = Decimal(str(line.get("amount") or 0))
        if line.get("kind") not in LEAKAGE_KINDS or amount <= 0:
            continue
        injected += amount
        if (line["kind"], line.get("record_id", "")) in held:
            captured += amount
    return LeakageCapture(top=top, alarms=len(money), injected=injected, captured=captured)


def _truth_lines(truth: Path | list[dict]) -> list[dict]:
    if isinstance(truth, (str, Path)):
        with open(truth, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    return list(truth)

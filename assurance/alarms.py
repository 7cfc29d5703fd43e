"""Alarms: findings grouped so an analyst triages hundreds of alarms, not thousands of records.

An alarm is every finding of one kind on one day that shares its likely cause:
- kinds caused where records are produced or collected (`unbilled`, `usage_mismatch`,
  `element_gap`) group by network element: a mediation fault on `pgw-02` is one alarm;
- every other kind groups by the subscriber's plan in billing: a tariff set up wrongly for
  `SMART10` is one alarm (`unbilled_subscriber` has no plan in billing: `(none)`).

Money at stake is the sum of the findings' absolute amounts (an element gap carries its
estimated missing revenue from its evidence, as it has no amount of its own); severity
follows `assurance.cases.severity_of`. An alarm is triaged once any case holds one of its
findings; untriaged alarms come first, then the most money.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from clickhouse_connect.driver import Client

from assurance.cases import SEVERITY_BOUNDS

ELEMENT_KINDS: tuple[str, ...] = ("unbilled", "usage_mismatch", "element_gap")

# The grouping itself, shared by the alarm list and the findings of one alarm.
_GROUPED_FINDINGS = """
plans AS (
    SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id FROM revguard.subscribers GROUP BY msisdn
),
grouped AS (
    SELECT
        d.finding_id AS finding_id, d.kind AS kind, d.record_id AS record_id, d.msisdn AS msisdn,
        if(d.kind IN {element_kinds:Array(String)}, 'element', 'plan') AS dimension,
        if(dimension = 'element', toString(d.element_id), if(p.plan_id = '', '(none)', p.plan_id)) AS value,
        toDate(d.event_time) AS day,
        d.amount AS amount,
        if(d.kind = 'element_gap',
           toDecimal64OrZero(JSONExtractString(d.evidence, 'estimated_missing_revenue'), 6),
           abs(d.amount)) AS money,
        concat(d.kind, ' · ', dimension, ' ', value, ' · ', toString(day)) AS alarm_key
    FROM revguard.discrepancies AS d FINAL
    LEFT JOIN plans AS p ON p.msisdn = d.msisdn
    WHERE d.event_time >= {since:DateTime64(3, 'UTC')} AND d.event_time < {until:DateTime64(3, 'UTC')}
)"""

ALARMS = f"""
WITH {_GROUPED_FINDINGS},
cased AS (
    SELECT DISTINCT arrayJoin(finding_ids) AS finding_id FROM revguard.cases FINAL
)
SELECT
    alarm_key, kind, dimension, value, day,
    count() AS findings,
    sum(g.amount) AS net_amount,
    sum(g.money) AS money_at_stake,
    multiIf(money_at_stake >= {{critical:Decimal64(6)}}, 'critical', money_at_stake >= {{high:Decimal64(6)}}, 'high',
            money_at_stake >= {{medium:Decimal64(6)}}, 'medium', 'low') AS severity,
    countIf(g.finding_id IN (SELECT finding_id FROM cased)) > 0 AS triaged
FROM grouped AS g
GROUP BY alarm_key, kind, dimension, value, day
ORDER BY triaged ASC, money_at_stake DESC, alarm_key ASC
LIMIT {{limit:UInt32}}
"""

FINDINGS_OF_ALARM = f"""
WITH {_GROUPED_FINDINGS}
SELECT finding_id, record_id, amount, money FROM grouped WHERE alarm_key = {{alarm_key:String}}
ORDER BY money DESC, finding_id
"""

_EARLIEST = "1970-01-01 00:00:00"
_LATEST = "2299-12-31 00:00:00"


@dataclass(frozen=True)
class Alarm:
    alarm_key: str
    kind: str
    dimension: str
    value: str
    day: date
    findings: int
    amount: Decimal
    money: Decimal
    severity: str
    triaged: bool


def alarm_parameters(since: str | None = None, until: str | None = None, limit: int = 500) -> dict:
    """The bound parameters of ALARMS (also used by the app, which runs the query cached)."""
    bounds = {name: bound for bound, name in SEVERITY_BOUNDS}
    return {
        "element_kinds": list(ELEMENT_KINDS),
        "since": since or _EARLIEST,
        "until": until or _LATEST,
        "critical": bounds["critical"],
        "high": bounds["high"],
        "medium": bounds["medium"],
        "limit": limit,
    }


def alarms(client: Client, since: str | None = None, until: str | None = None, limit: int = 500) -> list[Alarm]:
    """Alarms in triage order: untriaged first, then the most money."""
    result = client.query(ALARMS, parameters=alarm_parameters(since, until, limit))
    return [Alarm(*row[:9], triaged=bool(row[9])) for row in result.result_rows]


def findings_of_alarm(client: Client, alarm_key: str) -> list[tuple[str, str, Decimal, Decimal]]:
    """(finding_id, record_id, amount, money) of every finding in one alarm, most money first."""
    parameters = {**alarm_parameters(), "alarm_key": alarm_key}
    return [tuple(row) for row in client.query(FINDINGS_OF_ALARM, parameters=parameters).result_rows]

"""Overview data: leakage against rated revenue, money by kind, by day, by service, plan and
element, and the money in cases. Leakage follows `revguard reconcile`: positive amounts of the
leakage kinds, a record counted once with its largest amount."""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from assurance.controls import LEAKAGE_KINDS
from dashboards.store import frame

_RANGE = "d.event_time >= {since:DateTime64(3, 'UTC')} AND d.event_time < {until:DateTime64(3, 'UTC')}"

_LEAKS = f"""
leaks AS (
    SELECT record_id, any(d.kind) AS leak_kind, any(d.msisdn) AS leak_msisdn, any(d.element_id) AS leak_element,
           min(toDate(d.event_time)) AS leak_day, max(d.amount) AS leak_amount
    FROM revguard.discrepancies AS d FINAL
    WHERE d.kind IN {{kinds:Array(String)}} AND d.amount > 0 AND {_RANGE}
    GROUP BY record_id
)"""

HEADLINE = f"""
WITH {_LEAKS}
SELECT
    (SELECT sum(charge) FROM revguard.rated_usage FINAL
      WHERE status = 'rated'
        AND start_time >= {{since:DateTime64(3, 'UTC')}} AND start_time < {{until:DateTime64(3, 'UTC')}}) AS rated_revenue,
    (SELECT sum(leak_amount) FROM leaks) AS leakage,
    (SELECT -sum(d.amount) FROM revguard.discrepancies AS d FINAL WHERE d.amount < 0 AND {_RANGE}) AS overbilled,
    (SELECT count() FROM revguard.discrepancies AS d FINAL WHERE {_RANGE}) AS findings
"""

BY_KIND = f"""
SELECT toString(d.kind) AS kind, count() AS findings, sum(d.amount) AS amount
FROM revguard.discrepancies AS d FINAL
WHERE {_RANGE}
GROUP BY kind
ORDER BY abs(amount) DESC, kind
"""

LEAKAGE_BY_DAY = f"""
WITH {_LEAKS}
SELECT leak_day AS day, leak_kind AS kind, sum(leak_amount) AS amount FROM leaks GROUP BY day, kind ORDER BY day, kind
"""

LEAKAGE_BY_SERVICE = f"""
WITH {_LEAKS}
SELECT if(n.service = '', '(unknown)', toString(n.service)) AS service, sum(l.leak_amount) AS amount
FROM leaks AS l LEFT JOIN (SELECT record_id, service FROM revguard.network_usage FINAL
                           WHERE record_id IN (SELECT record_id FROM leaks)) AS n ON n.record_id = l.record_id
GROUP BY service ORDER BY amount DESC
"""

LEAKAGE_BY_PLAN = f"""
WITH {_LEAKS},
plans AS (SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id FROM revguard.subscribers GROUP BY msisdn)
SELECT if(p.plan_id = '', '(none)', toString(p.plan_id)) AS plan_id, sum(l.leak_amount) AS amount
FROM leaks AS l LEFT JOIN plans AS p ON p.msisdn = l.leak_msisdn
GROUP BY plan_id ORDER BY amount DESC
"""

LEAKAGE_BY_ELEMENT = f"""
WITH {_LEAKS}
SELECT toString(leak_element) AS element_id, sum(leak_amount) AS amount FROM leaks
GROUP BY element_id ORDER BY amount DESC
"""

CASE_MONEY = """
SELECT
    sumIf(amount_at_stake, state IN ('open', 'investigating', 'confirmed')) AS open_money,
    sumIf(ifNull(amount_recovered, 0), state = 'recovered') AS recovered_money,
    countIf(state IN ('open', 'investigating', 'confirmed')) AS open_cases,
    countIf(state = 'recovered') AS recovered_cases
FROM revguard.cases FINAL
"""


def _parameters(since: datetime, until: datetime) -> dict:
    return {"since": since, "until": until, "kinds": sorted(LEAKAGE_KINDS)}


def headline(since: datetime, until: datetime) -> pd.Series:
    return frame(HEADLINE, _parameters(since, until)).iloc[0]


def by_kind(since: datetime, until: datetime) -> pd.DataFrame:
    return frame(BY_KIND, _parameters(since, until))


def leakage_by_day(since: datetime, until: datetime) -> pd.DataFrame:
    return frame(LEAKAGE_BY_DAY, _parameters(since, until))


def leakage_by(dimension: str, since: datetime, until: datetime) -> pd.DataFrame:
    """Leakage by 'service', 'plan' or 'element'."""
    sql = {"service": LEAKAGE_BY_SERVICE, "plan": LEAKAGE_BY_PLAN, "element": LEAKAGE_BY_ELEMENT}[dimension]
    return frame(sql, _parameters(since, until))


def case_money() -> pd.Series:
    return frame(CASE_MONEY).iloc[0]

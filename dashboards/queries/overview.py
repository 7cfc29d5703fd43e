"""Overview data: leakage against rated revenue, money by kind, by day, by service, plan and
element, and the money in cases. Leakage follows `revguard reconcile`: positive amounts of the
leakage kinds, a record counted once with its largest amount.

Each query here reads the whole store once, aggregated by day (at most a few thousand rows),
and the page's date range is applied to those rows in Python: moving the range runs no query,
and the one costly scan (rated revenue, `rated_usage FINAL`) is paid once per cache period.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd

from assurance.controls import LEAKAGE_KINDS
from dashboards.queries.findings import SERVICE_OF_FINDING, UNSAID_SERVICES
from dashboards.store import frame

# A record's rows are always in one partition (its month of start_time), so FINAL need not merge
# across partitions: the same rows, merged per partition in parallel. PREWHERE on key and
# record-constant columns only (status is in the sorting key), so filtering before FINAL's merge
# cannot pick an older version of a record.
RATED_BY_DAY = """
SELECT toDate(start_time) AS day, sum(charge) AS rated_revenue
FROM revguard.rated_usage FINAL PREWHERE status = 'rated'
GROUP BY day ORDER BY day
SETTINGS do_not_merge_across_partitions_select_final = 1
"""

# Leakage per record (its largest amount, once), then summed by day and by what the page breaks
# it down by. The service is the one the control recorded in the finding's evidence (see
# dashboards/queries/findings.py): few findings need a look-up among the network records.
LEAKAGE_CUBE = f"""
WITH leaks AS (
    SELECT d.record_id AS record_id, any(d.kind) AS leak_kind, any(d.msisdn) AS leak_msisdn,
           any(d.element_id) AS leak_element, any({SERVICE_OF_FINDING}) AS leak_service,
           min(toDate(d.event_time)) AS leak_day, max(d.amount) AS leak_amount
    FROM revguard.discrepancies AS d FINAL
    LEFT JOIN ({UNSAID_SERVICES}) AS n ON n.record_id = d.record_id
    WHERE d.kind IN {{kinds:Array(String)}} AND d.amount > 0
    GROUP BY d.record_id
),
plans AS (SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id FROM revguard.subscribers GROUP BY msisdn)
SELECT l.leak_day AS day, toString(l.leak_kind) AS kind,
       if(l.leak_service = '', '(unknown)', l.leak_service) AS service,
       if(p.plan_id = '', '(none)', toString(p.plan_id)) AS plan_id,
       toString(l.leak_element) AS element_id, sum(l.leak_amount) AS amount
FROM leaks AS l
LEFT JOIN plans AS p ON p.msisdn = l.leak_msisdn
GROUP BY day, kind, service, plan_id, element_id
ORDER BY day, kind, service, plan_id, element_id
SETTINGS do_not_merge_across_partitions_select_final = 1
"""

FINDINGS_BY_DAY = """
SELECT toDate(d.event_time) AS day, toString(d.kind) AS kind, count() AS findings, sum(d.amount) AS amount,
       -sumIf(d.amount, d.amount < 0) AS overbilled
FROM revguard.discrepancies AS d FINAL
GROUP BY day, kind ORDER BY day, kind
"""

CASE_MONEY = """
SELECT
    sumIf(amount_at_stake, state IN ('open', 'investigating', 'confirmed')) AS open_money,
    sumIf(ifNull(amount_recovered, 0), state = 'recovered') AS recovered_money,
    countIf(state IN ('open', 'investigating', 'confirmed')) AS open_cases,
    countIf(state = 'recovered') AS recovered_cases
FROM revguard.cases FINAL
"""


@dataclass(frozen=True)
class Headline:
    rated_revenue: Decimal
    leakage: Decimal
    overbilled: Decimal
    findings: int

    @property
    def share(self) -> float:
        return float(self.leakage / self.rated_revenue) if self.rated_revenue else 0.0


def _days(rows: pd.DataFrame, since: datetime, until: datetime) -> pd.DataFrame:
    """The rows whose day lies in [since, until) (whole UTC days, as the page's range picker gives)."""
    if rows.empty:
        return rows
    first, last = since.date(), until.date()
    days = pd.to_datetime(rows["day"]).dt.date
    return rows[(days >= first) & (days < last)]


def _total(values) -> Decimal:
    return sum((Decimal(value) for value in values if value is not None), Decimal(0))


def _leakage(since: datetime, until: datetime) -> pd.DataFrame:
    return _days(frame(LEAKAGE_CUBE, {"kinds": sorted(LEAKAGE_KINDS)}), since, until)


def _findings(since: datetime, until: datetime) -> pd.DataFrame:
    return _days(frame(FINDINGS_BY_DAY), since, until)


def headline(since: datetime, until: datetime) -> Headline:
    rated = _days(frame(RATED_BY_DAY), since, until)
    found = _findings(since, until)
    return Headline(rated_revenue=_total(rated["rated_revenue"]), leakage=_total(_leakage(since, until)["amount"]),
                    overbilled=_total(found["overbilled"]), findings=int(found["findings"].sum()))


def _summed(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Exact Decimal sums of `amount` by the columns `by` (pandas would sum Decimals as objects)."""
    if rows.empty:
        return pd.DataFrame(columns=[*by, "amount"])
    sums: dict[tuple, Decimal] = {}
    for key, amount in zip(rows[by].itertuples(index=False, name=None), rows["amount"]):
        sums[key] = sums.get(key, Decimal(0)) + Decimal(amount)
    return pd.DataFrame([[*key, amount] for key, amount in sums.items()], columns=[*by, "amount"])


def by_kind(since: datetime, until: datetime) -> pd.DataFrame:
    """Every kind with its findings and net amount, the most money (either sign) first."""
    found = _findings(since, until)
    if found.empty:
        return pd.DataFrame(columns=["kind", "findings", "amount"])
    counts = found.groupby("kind")["findings"].sum()
    table = _summed(found, ["kind"])
    table.insert(1, "findings", table["kind"].map(counts).astype(int))
    return table.assign(size=table["amount"].map(abs)).sort_values(["size", "kind"], ascending=[False, True]) \
        .drop(columns="size").reset_index(drop=True)


def leakage_by_day(since: datetime, until: datetime) -> pd.DataFrame:
    return _summed(_leakage(since, until), ["day", "kind"]).sort_values(["day", "kind"]).reset_index(drop=True)


def leakage_by(dimension: str, since: datetime, until: datetime) -> pd.DataFrame:
    """Leakage by 'service', 'plan' or 'element', the most first."""
    column = {"service": "service", "plan": "plan_id", "element": "element_id"}[dimension]
    table = _summed(_leakage(since, until), [column])
    return table.sort_values(["amount", column], ascending=[False, True]).reset_index(drop=True)


def case_money() -> pd.Series:
    return frame(CASE_MONEY).iloc[0]

"""What finance reads beside the revenue forecast: known money and counts, not forecasts.

Per calendar day of the usage history (catalog time zone, as the revenue series):

- `subscribers`: subscribers activated by that day and not gone. The store keeps only a
  subscriber's current status, so a terminated one counts up to its last day of rated
  usage (one that never used the network, not at all); suspended ones count.
- `recurring_fees`: the plan's `monthly_fee` of every counted subscriber that is not
  suspended, on its cycle day (1-28): what one cycle of recurring fees bills, exact.
- `at_risk`: leakage found by the controls on that day's usage, as `revguard reconcile`
  counts it (positive amounts of the leakage kinds, a record once with its largest amount).
- `recovered`: money recorded on cases moved to `recovered`, on the day of that move.

So billed usage revenue, recurring fees, money at risk and money recovered stay apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from assurance.controls import LEAKAGE_KINDS
from forecasting.store_series import RevenueHistory
from rating.catalog import CatalogError, load_catalog

MICRO = Decimal("0.000001")
COLUMNS = ("day", "usage_revenue", "subscribers", "recurring_fees", "at_risk", "recovered")

CATALOG = "SELECT yaml FROM revguard.catalog FINAL ORDER BY loaded_at DESC LIMIT 1"
SUBSCRIBERS = """
SELECT s.msisdn, s.plan_id, s.status, toDate(s.activated_at, {timezone:String}) AS activated, s.cycle_day,
       u.last_day, u.msisdn != '' AS used
FROM (SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id, argMax(status, loaded_at) AS status,
             argMax(activated_at, loaded_at) AS activated_at, argMax(cycle_day, loaded_at) AS cycle_day
      FROM revguard.subscribers GROUP BY msisdn) AS s
LEFT JOIN (SELECT msisdn, max(toDate(start_time, {timezone:String})) AS last_day FROM revguard.rated_usage FINAL
           WHERE status = 'rated' GROUP BY msisdn) AS u ON u.msisdn = s.msisdn
"""
AT_RISK = """
SELECT leak_day AS day, sum(leak_amount) AS amount FROM (
    SELECT record_id, min(toDate(event_time, {timezone:String})) AS leak_day, max(amount) AS leak_amount
    FROM revguard.discrepancies FINAL
    WHERE kind IN {kinds:Array(String)} AND amount > 0
    GROUP BY record_id)
GROUP BY day ORDER BY day
"""
RECOVERED = """
SELECT toDate(at, {timezone:String}) AS day, sum(ifNull(amount_recovered, 0)) AS amount
FROM revguard.case_events WHERE to_state = 'recovered' GROUP BY day ORDER BY day
"""


@dataclass(frozen=True)
class FinanceDays:
    """One row per day of the history: COLUMNS, money as Decimal."""

    frame: pd.DataFrame

    def months(self) -> pd.DataFrame:
        """Per calendar month: money summed, subscribers as on the month's last day in the history."""
        frame = self.frame.assign(month=self.frame["day"].dt.to_period("M").dt.to_timestamp())
        money = ["usage_revenue", "recurring_fees", "at_risk", "recovered"]
        grouped = frame.groupby("month", sort=True)
        out = grouped[money].agg(lambda values: sum(values, Decimal(0)))
        out["subscribers"] = grouped["subscribers"].last()
        out["days"] = grouped["day"].count()
        return out.reset_index()


def finance_days(client, history: RevenueHistory) -> FinanceDays:
    """The companion series on the days of `history` (its total is the usage revenue)."""
    days = history.days
    tz = {"timezone": history.timezone}
    fees = _plan_fees(client)
    count = np.zeros(len(days), dtype=np.int64)
    fee_micro = np.zeros(len(days), dtype=object)
    fee_micro[:] = 0
    first = days[0].date()
    day_of_month = days.day.to_numpy()
    for _msisdn, plan, status, activated, cycle_day, last_day, used in client.query(SUBSCRIBERS, parameters=tz).result_rows:
        start = max(0, (activated - first).days)
        if status == "terminated":
            if not used:
                continue
            stop = min(len(days), (last_day - first).days + 1)
        else:
            stop = len(days)
        if start >= stop:
            continue
        count[start:stop] += 1
        if status != "suspended" and fees.get(plan, 0):
            cycle = np.flatnonzero(day_of_month[start:stop] == int(cycle_day)) + start
            for i in cycle.tolist():
                fee_micro[i] += fees[plan]
    frame = pd.DataFrame({
        "day": days,
        "usage_revenue": history.total,
        "subscribers": count,
        "recurring_fees": [(Decimal(int(v)) * MICRO).quantize(MICRO) for v in fee_micro],
        "at_risk": _by_day(client, AT_RISK, days, {**tz, "kinds": sorted(LEAKAGE_KINDS)}),
        "recovered": _by_day(client, RECOVERED, days, tz),
    }, columns=list(COLUMNS))
    return FinanceDays(frame)


def _plan_fees(client) -> dict[str, int]:
    """Each plan's monthly fee in micro-units, from the loaded catalog (none when absent)."""
    rows = client.query(CATALOG).result_rows
    if not rows:
        return {}
    try:
        catalog = load_catalog(rows[0][0] if "\n" in rows[0][0] else rows[0][0] + "\n")
    except CatalogError:
        return {}
    return {plan_id: plan.monthly_fee for plan_id, plan in catalog.plans.items()}


def _by_day(client, sql: str, days: pd.DatetimeIndex, parameters: dict) -> list[Decimal]:
    """Amounts per day of `days` (0 where none; days outside the history are left out)."""
    position = {day.date(): i for i, day in enumerate(days)}
    values = [Decimal(0)] * len(days)
    for day, amount in client.query(sql, parameters=parameters).result_rows:
        if day in position:
            values[position[day]] = Decimal(amount)
    return values

"""The demo's finance step: where this month's usage revenue closes.

The demo's store holds a week by default, too short to project a month with calibrated
intervals. Then the step simulates a billing history of its own (a small operator over
enough weeks, with the revenue calendar: growth, churn, weekly cycle, month starts) that
ends where the demo's week ends, reads the daily billed revenue ex tax from its bill file,
and projects from that, saying so. The demo's store is left as the demo made it.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from forecasting.errors import ForecastInputError
from forecasting.forecast import required_points
from forecasting.report import stdout
from forecasting.series import Series
from forecasting.store_series import RevenueHistory, revenue_history

FINANCE_SUBSCRIBERS = 150
FINANCE_DAYS = 75


def print_month_end(client, scratch: Path | None = None, seed: int = 1) -> None:
    """Forecast the rest of the month after the store's last day and print the projection;
    from a simulated billing history in `scratch` when the store's is too short."""
    from forecasting.outlook import month_end_projection
    from forecasting.runs import month_end_line, run_forecast

    try:
        history = revenue_history(client, "service")
    except ForecastInputError as exc:
        stdout.print(f"month-end projection: none ({exc})")
        return
    following = history.days[-1] + pd.Timedelta(days=1)
    horizon = following.days_in_month - following.day + 1
    if len(history.days) >= required_points(7, horizon):
        run = run_forecast(client, horizon=horizon, by="service")
        stdout.print(month_end_line(run.projection))
        stdout.print(f"forecast run {run.run_id[:8]} in revguard.revenue_forecasts; `revguard forecast backtest` "
                     "shows how accurate the method has been on this history")
        return
    if scratch is None:
        stdout.print(f"month-end projection: not made; the store holds {len(history.days)} days of revenue, "
                     f"{required_points(7, horizon)} are needed")
        return
    stdout.print(f"The store holds {len(history.days)} days of revenue, too few to project {following:%B %Y} "
                 f"with calibrated intervals ({required_points(7, horizon)} needed). Simulating {FINANCE_DAYS} days "
                 f"of billing for {FINANCE_SUBSCRIBERS} subscribers to {history.days[-1]:%Y-%m-%d} in {scratch}:")
    billed = simulated_history(scratch, end=history.days[-1].date(), seed=seed)
    projected = month_end_projection(billed)
    stdout.print(month_end_line(projected.projection) if projected.projection else f"month-end projection: none "
                 f"({projected.reason})")
    stdout.print("(from the simulated bills, not the demo's store; on a store with months of rated usage "
                 "`revguard forecast` projects from the store itself)")


def simulated_history(out: Path, end: dt.date, seed: int = 1) -> RevenueHistory:
    """Daily billed revenue ex tax by service from a simulated operator ending on `end`."""
    from flows.simulator import simulate

    start = end - dt.timedelta(days=FINANCE_DAYS - 1)
    simulate(out, subscribers=FINANCE_SUBSCRIBERS, days=FINANCE_DAYS, seed=seed, start=start, fault_rate=0.01,
             progress=True, revenue_calendar=True)
    timezone = str((yaml.safe_load((out / "catalog.yaml").read_text(encoding="utf-8")) or {}).get("timezone") or "UTC")
    return billed_history(out / "billed.ndjson", timezone)


def billed_history(path: Path, timezone: str) -> RevenueHistory:
    """Daily billed revenue ex tax by service, summed exactly, days in `timezone`."""
    times, services, charges = [], [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            bill = json.loads(line)
            times.append(bill["start_time"])
            services.append(bill["service"])
            charges.append(bill["charge"])
    if not times:
        raise ForecastInputError(f"{path}: no bills")
    local_days = pd.to_datetime(times, utc=True).tz_convert(timezone).date
    sums: dict[tuple[dt.date, str], Decimal] = {}
    for day, service, charge in zip(local_days, services, charges):
        sums[(day, service)] = sums.get((day, service), Decimal(0)) + Decimal(charge)
    days = pd.date_range(min(d for d, _ in sums), max(d for d, _ in sums), freq="D")
    position = {day.date(): i for i, day in enumerate(days)}
    exact: dict[str, list[Decimal]] = {}
    for (day, service), amount in sorted(sums.items()):
        exact.setdefault(f"service={service}", [Decimal(0)] * len(days))[position[day]] = amount
    series = {name: Series(name=name, times=days, values=np.array([float(v) for v in values]), freq="D", season=7)
              for name, values in exact.items()}
    return RevenueHistory(by="service", timezone=timezone, days=days, exact=exact, series=series)

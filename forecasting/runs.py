"""`revguard forecast` and `revguard forecast backtest` on the store's revenue.

A run forecasts every group of one grouping (service by default for the total) and sums
them bottom-up into the total, so the groups add up to the total on every day: each
group keeps the method that suits it, no series' forecast is revised by another's (as
MinT would) and the sum needs no covariance estimate from a few months of history. The
total's intervals are calibrated on the summed errors, so they are the total's own.
Rows go to `revguard.revenue_forecasts` as Decimal, the total being the exact sum of
the groups' rounded points.
"""
from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from forecasting.backtest import Backtest, origin_positions, rolling_origin
from forecasting.finance_series import FinanceDays, finance_days
from forecasting.forecast import LEVELS, Forecast, Projection, bottom_up, forecast_series, month_end
from forecasting.report import accuracy_table, methods_table, stdout
from forecasting.series import Series
from forecasting.store_series import RevenueHistory, revenue_history

MICRO = Decimal("0.000001")
COLUMNS = ("run_id", "series", "date", "point", "lower_80", "upper_80", "lower_95", "upper_95", "model", "created_at")
# The newest run before this one, its totals on days that have happened since.
PREVIOUS_RUN = """
SELECT run_id, any(created_at) AS created FROM revguard.revenue_forecasts FINAL
WHERE series = 'total' AND run_id != {run_id:String}
GROUP BY run_id ORDER BY created DESC LIMIT 1
"""
RUN_TOTALS = """
SELECT date, point, lower_80, upper_80, lower_95, upper_95 FROM revguard.revenue_forecasts FINAL
WHERE run_id = {run_id:String} AND series = 'total' ORDER BY date
"""


@dataclass(frozen=True)
class PreviousRun:
    """How the last run's total forecast did on the days that have happened since."""

    run_id: str
    days: int
    mean_abs_error: Decimal
    mean_abs_percent: float | None
    inside: dict[int, float]


@dataclass(frozen=True)
class ForecastRun:
    run_id: str
    by: str
    history_end: pd.Timestamp
    forecasts: list[Forecast]          # groups, then the total
    total: Forecast
    exact_points: dict[str, list[Decimal]]
    projection: Projection | None
    previous: PreviousRun | None
    rows: int
    beside: FinanceDays                # known money and counts per day, not forecast


def run_forecast(client, horizon: int = 30, by: str = "total", levels: tuple[int, ...] = LEVELS,
                 output: Path | None = None) -> ForecastRun:
    """Forecast, write `revenue_forecasts` (and `output` CSV) and return what was done."""
    history = revenue_history(client, "service" if by == "total" else by)
    parts = [forecast_series(series, horizon, levels) for series in history.series.values()]
    total = bottom_up("total", parts, levels)
    total_series = _total_series(history)
    run_id = uuid.uuid4().hex
    created = datetime.now(timezone.utc).replace(tzinfo=None)

    exact = {p.series: [_micro(v) for v in p.point] for p in parts}
    exact["total"] = [sum(day, Decimal(0)) for day in zip(*exact.values())]
    written = ([] if by == "total" else parts) + [total]
    model_of = {p.series: p.model for p in parts}
    model_of["total"] = f"bottom_up({history.by})"
    rows = []
    for fc in written:
        for i, day in enumerate(fc.times):
            ends = []
            for level in (80, 95):
                bounds = fc.bounds.get(level)
                ends += [None, None] if bounds is None else [_micro(bounds[0][i]), _micro(bounds[1][i])]
            rows.append([run_id, fc.series, day.date(), exact[fc.series][i], *ends, model_of[fc.series], created])
    client.insert("revguard.revenue_forecasts", rows, column_names=list(COLUMNS))
    if output is not None:
        _write_csv(Path(output), rows)
    return ForecastRun(run_id=run_id, by=by, history_end=history.days[-1], forecasts=written, total=total,
                       exact_points=exact, projection=month_end(total_series, total),
                       previous=previous_run(client, run_id, total_series), rows=len(rows),
                       beside=finance_days(client, history))


def previous_run(client, run_id: str, actual: Series) -> PreviousRun | None:
    """The newest earlier run scored on the days of its forecast that the store now has."""
    found = client.query(PREVIOUS_RUN, parameters={"run_id": run_id}).result_rows
    if not found:
        return None
    previous = found[0][0]
    by_day = {pd.Timestamp(t).date(): v for t, v in zip(actual.times, actual.values)}
    scored = [(by_day[day], row) for day, *row in client.query(RUN_TOTALS, parameters={"run_id": previous}).result_rows
              if day in by_day]
    if not scored:
        return PreviousRun(previous, 0, Decimal(0), None, {})
    actuals = np.array([a for a, _ in scored])
    points = np.array([float(r[0]) for _, r in scored])
    inside = {}
    for level, (lo, hi) in ((80, (1, 2)), (95, (3, 4))):
        ends = [(r[lo], r[hi]) for _, r in scored if r[lo] is not None]
        if len(ends) == len(scored):
            inside[level] = float(np.mean([float(l) <= a <= float(h) for a, (l, h) in zip(actuals, ends)]))
    total_actual = float(np.abs(actuals).sum())
    error = float(np.mean(np.abs(actuals - points)))
    return PreviousRun(previous, len(scored), _micro(error),
                       100 * float(np.abs(actuals - points).sum()) / total_actual if total_actual else None, inside)


def store_backtests(client, horizon: int = 14, origins: int = 8, by: str = "service",
                    levels: tuple[int, ...] = LEVELS) -> list[Backtest]:
    """Rolling-origin backtests of every group of `by` and of their bottom-up total."""
    history = revenue_history(client, "service" if by == "total" else by)
    total_series = _total_series(history)
    positions = origin_positions(len(total_series), 7, horizon, origins)
    part_tests = []
    for series in history.series.values():
        part_forecasts = [forecast_series(series, horizon, levels, known=o) for o in positions.tolist()]
        part_tests.append((series, part_forecasts))
    totals = [bottom_up("total", [f[k] for _, f in part_tests], levels) for k in range(len(positions))]
    results = [] if by == "total" else [rolling_origin(s, horizon, origins, levels, forecasts=f) for s, f in part_tests]
    results.append(rolling_origin(total_series, horizon, origins, levels, forecasts=totals))
    return results


def print_run(run: ForecastRun) -> None:
    table = Table(title=f"revenue forecast, ex tax (run {run.run_id[:8]}, history to {run.history_end:%Y-%m-%d})",
                  title_justify="left")
    for column in ("date", "series", "point", "80 % interval", "95 % interval", "model"):
        table.add_column(column, justify="right" if "interval" in column or column == "point" else "left", no_wrap=True)
    for fc in run.forecasts:
        for i in range(min(7, len(fc.times))):
            table.add_row(f"{fc.times[i]:%a %Y-%m-%d}", fc.series, f"{run.exact_points[fc.series][i]:,.2f}",
                          *(_interval(fc.bounds[lv][0][i], fc.bounds[lv][1][i]) if lv in fc.bounds else "-"
                            for lv in (80, 95)), fc.model)
    stdout.print(table)
    stdout.print(month_end_line(run.projection))
    previous = run.previous
    if previous is None:
        stdout.print("last run: none before this one")
    elif previous.days == 0:
        stdout.print(f"last run {previous.run_id[:8]}: none of its days has happened yet")
    else:
        covered = ", ".join(f"{100 * share:.0f} % inside its {lv} % interval" for lv, share in previous.inside.items())
        percent = "" if previous.mean_abs_percent is None else f" ({previous.mean_abs_percent:.1f} % of revenue)"
        stdout.print(f"last run {previous.run_id[:8]} on {previous.days} days since: mean absolute error "
                     f"{previous.mean_abs_error:,.2f} a day{percent}; {covered}")
    stdout.print(beside_table(run.beside))
    stdout.print(f"{run.rows} rows written to revguard.revenue_forecasts")


def beside_table(beside: FinanceDays, months: int = 3) -> Table:
    """The last `months` months of known money beside the forecast: usage billed, recurring
    fees, leakage at risk and recovered apart, and the subscriber count."""
    table = Table(title="known, not forecast: the last months of the history", title_justify="left",
                  caption="subscribers on the month's last day; recurring fees: monthly_fee per active "
                          "subscriber on its cycle day; at risk: leakage the controls found; recovered: on cases",
                  caption_justify="left")
    for column in ("month", "days", "usage revenue", "recurring fees", "at risk", "recovered", "subscribers"):
        table.add_column(column, justify="left" if column == "month" else "right", no_wrap=True)
    for row in beside.months().tail(months).itertuples():
        table.add_row(f"{row.month:%Y-%m}", str(row.days), f"{row.usage_revenue:,.2f}", f"{row.recurring_fees:,.2f}",
                      f"{row.at_risk:,.2f}", f"{row.recovered:,.2f}", f"{row.subscribers:,}")
    return table


def month_end_line(projection: Projection | None) -> str:
    """One line: where the month closes, with the month so far and the intervals."""
    if projection is None:
        return "month-end projection: the month ends beyond the horizon (raise --horizon)"
    intervals = ", ".join(f"{lv} % {_interval(*ends)}" for lv, ends in sorted(projection.bounds.items()))
    return (f"month-end projection for {projection.month:%B %Y}: {projection.point:,.2f} "
            f"({projection.to_date:,.2f} so far + {projection.remaining} days forecast); {intervals}")


def print_backtests(results: list[Backtest]) -> None:
    first = results[-1]
    stdout.print(accuracy_table(f"rolling-origin backtest: {first.origins} origins, {first.horizon} days ahead",
                                results))
    stdout.print(methods_table(results))


def _total_series(history: RevenueHistory) -> Series:
    return Series(name="total", times=history.days, values=np.array([float(v) for v in history.total]),
                  freq="D", season=7)


def _micro(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(MICRO)


def _interval(low: float, high: float) -> str:
    return f"{low:,.2f} – {high:,.2f}"


def _write_csv(path: Path, rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS[1:9])
        for row in rows:
            writer.writerow(["" if v is None else v for v in row[1:9]])

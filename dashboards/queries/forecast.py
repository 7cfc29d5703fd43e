"""Forecast page data: runs of `revguard forecast` as stored, the revenue history, and what the
forecasting room computes read-only (month-end projection, backtest, known money beside).

The computed parts take seconds (every candidate model at many origins), so they are cached
for `COMPUTED_TTL_S` per store; the stored runs follow the app's usual short cache."""
from __future__ import annotations

import csv
import io

import pandas as pd
import streamlit as st

from dashboards.store import StoreProblem, client, frame, store_key

COMPUTED_TTL_S = 600
BACKTEST_HORIZON = 14
BACKTEST_ORIGINS = 8

RUNS = """
SELECT run_id, max(created_at) AS created_at, min(date) AS first_day, max(date) AS last_day,
       uniqExact(series) AS series, count() AS rows
FROM revguard.revenue_forecasts FINAL GROUP BY run_id ORDER BY created_at DESC LIMIT 50
"""
RUN_ROWS = """
SELECT series, date, point, lower_80, upper_80, lower_95, upper_95, model
FROM revguard.revenue_forecasts FINAL WHERE run_id = {run_id:String} ORDER BY series = 'total' DESC, series, date
"""
CSV_COLUMNS = ("series", "date", "point", "lower_80", "upper_80", "lower_95", "upper_95", "model")


def runs() -> pd.DataFrame:
    """The newest forecast runs first."""
    return frame(RUNS)


def run_rows(run_id: str) -> pd.DataFrame:
    return frame(RUN_ROWS, {"run_id": run_id})


def run_csv(rows: pd.DataFrame) -> str:
    """A run's rows as `revguard forecast --output` writes them (exact decimals, blank for none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows.loc[:, list(CSV_COLUMNS)].itertuples(index=False):
        writer.writerow(["" if value is None or value != value else
                         (f"{value:%Y-%m-%d}" if hasattr(value, "strftime") else value) for value in row])
    return out.getvalue()


def history() -> tuple[pd.DataFrame | None, str | None]:
    """Daily revenue ex tax per service and total (day, series, revenue as Decimal), or why none."""
    return _computed(store_key())["history"]


def month_end() -> tuple[dict | None, str | None]:
    """The month-end projection (month, to_date, point, remaining, bounds) or why there is none."""
    return _computed(store_key())["month_end"]


def backtest() -> tuple[pd.DataFrame | None, str | None]:
    return _computed(store_key())["backtest"]


def beside() -> pd.DataFrame | None:
    """Per month: usage revenue, recurring fees, at risk, recovered (Decimal), subscribers."""
    return _computed(store_key())["beside"]


@st.cache_data(ttl=COMPUTED_TTL_S, show_spinner="Forecasting from the store's history…")
def _computed(key: str) -> dict:
    from forecasting.errors import ForecastInputError
    from forecasting.finance_series import finance_days
    from forecasting.outlook import backtest_rows, history_or_reason, month_end_projection
    from forecasting.runs import store_backtests

    try:
        store = client()
    except StoreProblem as problem:
        reason = str(problem)
        return {"history": (None, reason), "month_end": (None, reason), "backtest": (None, reason), "beside": None}
    found, reason = history_or_reason(store)
    if found is None:
        return {"history": (None, reason), "month_end": (None, reason), "backtest": (None, reason), "beside": None}
    days = pd.DataFrame({"day": found.days})
    long = [days.assign(series=name, revenue=values) for name, values in found.exact.items()]
    long.append(days.assign(series="total", revenue=found.total))
    projected = month_end_projection(found)
    if projected.projection is None:
        month = (None, projected.reason)
    else:
        p = projected.projection
        month = ({"month": p.month, "to_date": p.to_date, "point": p.point, "remaining": p.remaining,
                  "bounds": dict(p.bounds)}, None)
    try:
        tests = (backtest_rows(store_backtests(store, BACKTEST_HORIZON, BACKTEST_ORIGINS, "service")), None)
    except ForecastInputError as exc:
        tests = (None, str(exc))
    return {"history": (pd.concat(long, ignore_index=True), None), "month_end": month, "backtest": tests,
            "beside": finance_days(store, found).months()}

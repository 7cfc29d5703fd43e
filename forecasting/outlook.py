"""Read-only answers for finance's page: the month-end projection, the backtest and the known
money beside the forecast, computed from the store without writing a run."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from forecasting.backtest import Backtest
from forecasting.errors import ForecastInputError
from forecasting.forecast import Projection, bottom_up, forecast_series, month_end, required_points
from forecasting.store_series import RevenueHistory, revenue_history


@dataclass(frozen=True)
class MonthEnd:
    """A projection of the month after the history's last day, or why there is none."""

    projection: Projection | None
    reason: str | None


def month_end_projection(history: RevenueHistory) -> MonthEnd:
    """The close of the month holding the day after the history (forecast bottom-up by group)."""
    following = history.days[-1] + pd.Timedelta(days=1)
    horizon = following.days_in_month - following.day + 1
    needed = required_points(7, horizon)
    if len(history.days) < needed:
        return MonthEnd(None, f"the store holds {len(history.days)} days of revenue; projecting the {horizon} days "
                              f"left in {following:%B %Y} with calibrated intervals needs at least {needed}")
    from forecasting.runs import _total_series

    total = bottom_up("total", [forecast_series(s, horizon) for s in history.series.values()])
    return MonthEnd(month_end(_total_series(history), total), None)


def backtest_rows(results: list[Backtest]) -> pd.DataFrame:
    """One row per series: accuracy beside seasonal naive, coverage, pinball, month-end error."""
    rows = []
    for b in results:
        rows.append({
            "series": b.series, "MASE": b.chosen.mase, "naive MASE": b.candidates["seasonal_naive"].mase,
            "ratio": b.mase_ratio, "sMAPE %": b.chosen.smape,
            "in 80 %": 100 * b.chosen.coverage.get(80, float("nan")),
            "in 95 %": 100 * b.chosen.coverage.get(95, float("nan")),
            "pinball 80": b.chosen.pinball.get(80), "pinball 95": b.chosen.pinball.get(95),
            "month-end error %": None if b.month_end_error is None else 100 * b.month_end_error,
            "month ends": b.month_ends,
        })
    return pd.DataFrame(rows)


def history_or_reason(client) -> tuple[RevenueHistory | None, str | None]:
    try:
        return revenue_history(client, "service"), None
    except ForecastInputError as exc:
        return None, str(exc)

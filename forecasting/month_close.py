"""The demo's finance step: where this month's usage revenue closes, or why it cannot say."""
from __future__ import annotations

import pandas as pd

from forecasting.errors import ForecastInputError
from forecasting.forecast import required_points
from forecasting.report import stdout
from forecasting.store_series import revenue_history


def print_month_end(client) -> None:
    """Forecast the rest of the month after the store's last day and print the projection.

    A history shorter than the method needs (the demo's default week is) is said plainly,
    with the history that would do, rather than projected from too little."""
    from forecasting.runs import month_end_line, run_forecast

    try:
        history = revenue_history(client, "service")
    except ForecastInputError as exc:
        stdout.print(f"month-end projection: none ({exc})")
        return
    following = history.days[-1] + pd.Timedelta(days=1)
    horizon = following.days_in_month - following.day + 1
    needed = required_points(7, horizon)
    if len(history.days) < needed:
        stdout.print(
            f"month-end projection: not made. The store holds {len(history.days)} days of revenue; projecting the "
            f"{horizon} days left in {following:%B %Y} with calibrated intervals needs at least {needed}. "
            f"Try `revguard demo --subscribers 300 --days 75`, or simulate a longer history with "
            f"`revguard simulate --days 150 --revenue-calendar` and load it.")
        return
    run = run_forecast(client, horizon=horizon, by="service")
    stdout.print(month_end_line(run.projection))
    stdout.print(f"forecast run {run.run_id[:8]} in revguard.revenue_forecasts; `revguard forecast backtest` "
                 "shows how accurate the method has been on this history")

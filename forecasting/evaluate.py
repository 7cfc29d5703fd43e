"""`revguard forecast evaluate`: the forecasting method backtested on any series in a CSV."""
from __future__ import annotations

from pathlib import Path

from forecasting.backtest import ROW_COLUMNS, Backtest, rolling_origin
from forecasting.errors import ForecastInputError
from forecasting.series import Series, series_from_csv

DAILY_HORIZON = 14


def default_horizon(series: Series) -> int:
    """Two weeks for daily series, one season otherwise."""
    return DAILY_HORIZON if series.freq == "D" else max(series.season, 1)


def evaluate_csv(csv: Path, time_col: str, value_col: str, output: Path, season: int | None = None,
                 horizon: int | None = None, origins: int = 8, freq: str | None = None) -> Backtest:
    """Backtest the series in `csv` and write one row per origin and step to `output`."""
    if season is not None and season < 1:
        raise ForecastInputError(f"--season must be at least 1, not {season}")
    series = series_from_csv(csv, time_col, value_col, freq=freq, season=season)
    if series.season < 2:
        raise ForecastInputError(f"{csv}: no season is known for frequency {series.freq}; pass --season N (2 or more)")
    result = rolling_origin(series, horizon or default_horizon(series), origins)
    write_rows(result, Path(output))
    return result


def write_rows(result: Backtest, output: Path) -> None:
    """The backtest rows as CSV: origin, time, actual, forecast and the interval ends."""
    frame = result.rows.loc[:, list(ROW_COLUMNS)].copy()
    for column in ("origin", "time"):
        frame[column] = frame[column].dt.strftime("%Y-%m-%d" if _dates_only(frame[column]) else "%Y-%m-%dT%H:%M:%S")
    frame.to_csv(output, index=False, float_format="%.6f", lineterminator="\n")


def _dates_only(column) -> bool:
    return bool((column.dt.normalize() == column).all())

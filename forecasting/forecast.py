"""One forecast with intervals for one series: candidates calibrated on the series' own past.

At an origin (the values known so far), every method forecasts from each of the last
`CALIBRATION_ORIGINS` earlier origins whose outcome is known (and so does the mean of
calendar ridge and Holt-Winters). The method with the smallest mean absolute error there
is kept (seasonal naive wins ties: it is the floor a
model must beat), and its errors give conformal interval widths per step. Series that
must add up (services to the total) are summed bottom-up, errors included, so the
total's interval is calibrated on the total's own errors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.conformal import half_widths, recency_weights, weighted_conformal_quantile
from forecasting.errors import ForecastInputError
from forecasting.methods import METHODS
from forecasting.series import Series

CALIBRATION_ORIGINS = 80
MIN_CALIBRATION_ORIGINS = 10
LEVELS = (80, 95)


@dataclass(frozen=True)
class Forecast:
    """Point forecasts and intervals of `series` for the periods `times`."""

    series: str
    times: pd.DatetimeIndex
    point: np.ndarray
    bounds: dict[int, tuple[np.ndarray, np.ndarray]]   # level -> (lower, upper)
    model: str
    errors: np.ndarray                                  # calibration errors (origins × steps), actual − forecast
    candidates: dict[str, np.ndarray]                   # each method's point forecast from this origin
    candidate_mae: dict[str, float]                     # each method's calibration error
    floor: float | None = None                          # lower ends cut here (0 for a never-negative series)


@dataclass(frozen=True)
class Projection:
    """Where a month closes: known so far plus the forecast of its remaining periods."""

    month: pd.Timestamp
    to_date: float
    point: float
    bounds: dict[int, tuple[float, float]]
    remaining: int


def min_train(season: int) -> int:
    """Values a method needs before its first origin: three seasons, at least ten."""
    return max(3 * season, 10)


def required_points(season: int, horizon: int) -> int:
    """The shortest history that can be forecast `horizon` steps ahead with calibrated intervals."""
    return min_train(season) + horizon + MIN_CALIBRATION_ORIGINS - 1


def forecast_series(series: Series, horizon: int, levels: tuple[int, ...] = LEVELS,
                    known: int | None = None, methods: dict | None = None) -> Forecast:
    """Forecast `horizon` steps after the first `known` values (all by default), choosing
    among `methods` (all of `forecasting.methods.METHODS` by default).

    Raises ForecastInputError (one line) for a series too short for its season and horizon."""
    known = len(series) if known is None else known
    if horizon < 1:
        raise ForecastInputError(f"the horizon must be at least 1 step, not {horizon}")
    needed = required_points(series.season, horizon)
    if known < needed:
        raise ForecastInputError(
            f"{series.name}: {known} points; forecasting {horizon} steps with a season of {series.season} "
            f"needs at least {needed} (three seasons, the horizon and {MIN_CALIBRATION_ORIGINS} calibration origins)")
    last = known - horizon
    calibration = np.arange(max(min_train(series.season), last - CALIBRATION_ORIGINS + 1), last + 1)
    origins = np.append(calibration, known)
    actual = series.values[calibration[:, None] + np.arange(horizon)[None, :]]

    paths, errors, mae = {}, {}, {}
    for name, method in (METHODS if methods is None else methods).items():
        forecasts = method(series, origins, horizon)
        if forecasts is None:
            continue
        paths[name] = forecasts[-1]
        errors[name] = actual - forecasts[:-1]
        mae[name] = float(np.mean(np.abs(errors[name])))
    if "calendar_ridge" in paths and "holt_winters" in paths:
        # The two models' mean: their errors are far from perfectly correlated, so it often beats both.
        paths["ridge_winters_mean"] = (paths["calendar_ridge"] + paths["holt_winters"]) / 2
        errors["ridge_winters_mean"] = (errors["calendar_ridge"] + errors["holt_winters"]) / 2
        mae["ridge_winters_mean"] = float(np.mean(np.abs(errors["ridge_winters_mean"])))
    chosen = min(mae, key=lambda name: (mae[name], name != "seasonal_naive"))
    # Revenue that has never been negative will not be: a lower end below 0 is cut to 0, which
    # changes no interval's coverage (no actual can lie in the part cut away).
    floor = 0.0 if (series.values[:known] >= 0).all() else None
    return _with_intervals(series.name, _times_after(series, known, horizon), paths[chosen], errors[chosen],
                           chosen, levels, paths, mae, floor)


def bottom_up(name: str, parts: list[Forecast], levels: tuple[int, ...] = LEVELS) -> Forecast:
    """The sum of `parts` (same periods, same calibration origins), with intervals from the
    summed errors: the total equals the sum of its parts at every period, by construction."""
    if not parts:
        raise ValueError("bottom_up needs at least one part")
    point = np.sum([p.point for p in parts], axis=0)
    errors = np.sum([p.errors for p in parts], axis=0)
    # Each method summed over the parts too, so a backtest can compare them on the total.
    shared = set.intersection(*(set(p.candidates) for p in parts))
    candidates = {m: np.sum([p.candidates[m] for p in parts], axis=0) for m in sorted(shared)}
    floor = 0.0 if all(p.floor is not None for p in parts) else None
    return _with_intervals(name, parts[0].times, point, errors, "bottom_up", levels, candidates, {}, floor)


def month_end(series: Series, forecast: Forecast, known: int | None = None) -> Projection | None:
    """The close of the month of the first forecast period, or None when the month ends
    beyond the horizon. The interval is calibrated on the errors of sums of as many steps."""
    known = len(series) if known is None else known
    first = forecast.times[0]
    month = first.to_period("M")
    remaining = int(np.sum(forecast.times.to_period("M") == month))
    if remaining == len(forecast.times) and _month_continues(forecast.times[-1], series.freq):
        return None
    history = series.times[:known]
    to_date = float(series.values[:known][history.to_period("M") == month].sum())
    point = to_date + float(forecast.point[:remaining].sum())
    sums = np.abs(forecast.errors[:, :remaining].sum(axis=1))
    bounds = {}
    for level in forecast.bounds:
        width = weighted_conformal_quantile(sums, recency_weights(len(sums)), level)
        # The month so far is known: with a floored forecast, the close cannot fall below it.
        bounds[level] = (point - width if forecast.floor is None else max(point - width, to_date), point + width)
    return Projection(month=month.to_timestamp(), to_date=to_date, point=point, bounds=bounds, remaining=remaining)


def _month_continues(time: pd.Timestamp, freq: str) -> bool:
    """True when the period after `time` still lies in time's month."""
    following = pd.date_range(time, periods=2, freq=freq)[1]
    return following.to_period("M") == time.to_period("M")


def _times_after(series: Series, known: int, horizon: int) -> pd.DatetimeIndex:
    return pd.date_range(series.times[known - 1], periods=horizon + 1, freq=series.freq)[1:]


def _with_intervals(name: str, times: pd.DatetimeIndex, point: np.ndarray, errors: np.ndarray, model: str,
                    levels: tuple[int, ...], candidates: dict, mae: dict, floor: float | None = None) -> Forecast:
    bounds = {}
    for level in levels:
        width = half_widths(errors, level)
        lower = point - width if floor is None else np.maximum(point - width, floor)
        bounds[level] = (lower, point + width)
    return Forecast(series=name, times=pd.DatetimeIndex(times), point=point, bounds=bounds, model=model,
                    errors=errors, candidates=candidates, candidate_mae=mae, floor=floor)

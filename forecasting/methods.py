"""Point forecasters, each giving the forecasts from many origins of one series at once.

An origin `o` means "the first `o` values are known": the forecast of steps 1..H from it
is compared with values `o .. o+H-1`. Every method has the same shape,
`method(series, origins, horizon) -> array (origins, horizon)`, so calibration, selection
and backtests treat them alike.

- `seasonal_naive`: the value one season back; the floor every other method must beat.
- `calendar_ridge` (scikit-learn Ridge): level and trend fitted on a recent window with
  weights that halve every four seasons, a dummy per position in the season (day of the
  week), and for daily series the first three days of the month (when top-ups and
  recurring usage bunch). Refitted at every origin; a price change or a growth spurt is
  followed within weeks.
- `holt_winters` (statsmodels ExponentialSmoothing): additive damped trend and additive
  season, fitted once on everything the last origin knows; earlier origins forecast from
  the smoothed states they had, with those parameters.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

from forecasting.series import Series

Method = Callable[[Series, np.ndarray, int], "np.ndarray | None"]

RIDGE_WINDOW_SEASONS = 13
RIDGE_HALF_LIFE_SEASONS = 4
RIDGE_ALPHA = 0.1
MONTH_START_DAYS = 3


def seasonal_naive(series: Series, origins: np.ndarray, horizon: int) -> np.ndarray:
    """The value of the same position one season before each origin, repeated."""
    m = series.season
    origins = np.asarray(origins, dtype=np.int64)
    if (origins < m).any():
        raise ValueError(f"seasonal naive needs a full season ({m}) before every origin")
    steps = np.arange(horizon)
    return series.values[origins[:, None] - m + (steps[None, :] % m)]


def calendar_ridge(series: Series, origins: np.ndarray, horizon: int) -> np.ndarray:
    """A weighted ridge regression on trend and calendar, refitted at every origin."""
    m = series.season
    window = RIDGE_WINDOW_SEASONS * m
    origins = np.asarray(origins, dtype=np.int64)
    features = _calendar_features(series, int(origins.max()) + horizon)
    out = np.empty((len(origins), horizon))
    for row, origin in enumerate(origins.tolist()):
        first = max(0, origin - window)
        age = origin - 1 - np.arange(first, origin)
        weights = 0.5 ** (age / (RIDGE_HALF_LIFE_SEASONS * m))
        # The trend is centred on the origin so the ridge penalty shrinks slope, not level.
        x = features[first:origin + horizon].copy()
        x[:, 0] -= origin / m
        model = Ridge(alpha=RIDGE_ALPHA).fit(x[:origin - first], series.values[first:origin], sample_weight=weights)
        out[row] = model.predict(x[origin - first:])
    return out


def holt_winters(series: Series, origins: np.ndarray, horizon: int) -> np.ndarray | None:
    """Additive damped-trend Holt-Winters; None when the series is too short or degenerate."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    m = series.season
    origins = np.asarray(origins, dtype=np.int64)
    known = int(origins.max())
    if m < 2 or known < 2 * m + 4 or origins.min() < m:
        return None
    y = series.values[:known]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            fit = ExponentialSmoothing(y, trend="add", damped_trend=True, seasonal="add", seasonal_periods=m,
                                       initialization_method="estimated").fit()
        except (ValueError, np.linalg.LinAlgError):
            return None
    phi = float(fit.params["damping_trend"])
    level, trend, season = np.asarray(fit.level), np.asarray(fit.trend), np.asarray(fit.season)
    if not (np.isfinite(level).all() and np.isfinite(trend).all() and np.isfinite(season).all()):
        return None
    steps = np.arange(1, horizon + 1)
    damped = np.cumsum(phi ** steps)
    last = origins - 1   # the state after the origin's last known value
    seasonal = season[last[:, None] - m + 1 + ((steps[None, :] - 1) % m)]
    return level[last, None] + damped[None, :] * trend[last, None] + seasonal


METHODS: dict[str, Method] = {
    "seasonal_naive": seasonal_naive,
    "calendar_ridge": calendar_ridge,
    "holt_winters": holt_winters,
}


def _calendar_features(series: Series, length: int) -> np.ndarray:
    """Rows 0..length-1 of the design: trend (in seasons), season position, month start."""
    m = series.season
    n = len(series)
    times = series.times if length <= n else series.times.append(series.future_times(length - n))
    index = np.arange(length)
    columns = [index / m]
    position = index % m
    columns += [(position == p).astype(float) for p in range(m)]
    if series.freq == "D":
        day = pd.DatetimeIndex(times[:length]).day.to_numpy()
        columns += [(day == d).astype(float) for d in range(1, MONTH_START_DAYS + 1)]
    return np.column_stack(columns)

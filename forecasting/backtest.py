"""Rolling-origin backtests: the whole method rerun at past origins, scored on what followed.

At each origin the method sees only the values before it (its calibration and model choice
included), exactly as it would have on that day. Origins are spaced half a horizon apart
and end at the last origin whose horizon has been observed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.accuracy import coverage, interval_pinball, mase, seasonal_scale, smape
from forecasting.errors import ForecastInputError
from forecasting.forecast import LEVELS, Forecast, forecast_series, month_end, required_points
from forecasting.methods import seasonal_naive
from forecasting.series import Series

ROW_COLUMNS = ("origin", "time", "actual", "forecast", "lower_80", "upper_80", "lower_95", "upper_95")


@dataclass(frozen=True)
class Accuracy:
    """One method's accuracy over every origin of a backtest (MASE and sMAPE averaged per origin)."""

    method: str
    mase: float
    smape: float
    coverage: dict[int, float]
    pinball: dict[int, float]


@dataclass(frozen=True)
class Backtest:
    """A series' backtest: the chosen method, each candidate, seasonal naive, and the rows."""

    series: str
    horizon: int
    origins: int
    chosen: Accuracy
    candidates: dict[str, Accuracy]     # every method, point forecasts only (no coverage)
    models: dict[str, int]              # how often each method was chosen
    month_end_error: float | None       # mean |projected − actual| / |actual| of month closes in reach
    month_end_coverage: dict[int, float]
    month_ends: int
    rows: pd.DataFrame                  # ROW_COLUMNS, one row per origin and step

    @property
    def mase_ratio(self) -> float:
        """The chosen method's MASE over seasonal naive's (nan when naive's is 0: a perfect season)."""
        naive = self.candidates["seasonal_naive"].mase
        return self.chosen.mase / naive if naive > 0 else float("nan")


def origin_positions(length: int, season: int, horizon: int, origins: int) -> np.ndarray:
    """The `origins` origins of a backtest, earliest first; ForecastInputError if they do not fit."""
    if origins < 1:
        raise ForecastInputError(f"a backtest needs at least 1 origin, not {origins}")
    step = max(1, horizon // 2)
    last = length - horizon
    positions = last - step * np.arange(origins)[::-1]
    needed = required_points(season, horizon) + step * (origins - 1) + horizon
    if length < needed:
        raise ForecastInputError(
            f"{length} points; a backtest of {origins} origins {step} apart, {horizon} steps ahead with a "
            f"season of {season}, needs at least {needed}")
    return positions


def rolling_origin(series: Series, horizon: int, origins: int = 8, levels: tuple[int, ...] = LEVELS,
                   forecasts: list[Forecast] | None = None) -> Backtest:
    """Backtest `series`; `forecasts` (one per origin, e.g. a bottom-up total) replace the
    method's own when given."""
    positions = origin_positions(len(series), series.season, horizon, origins)
    steps = np.arange(horizon)
    rows, per_origin, candidate_points, chosen_models = [], [], {}, {}
    month_errors, month_hits = [], {level: [] for level in levels}
    for k, origin in enumerate(positions.tolist()):
        fc = forecasts[k] if forecasts is not None else forecast_series(series, horizon, levels, known=origin)
        actual = series.values[origin + steps]
        scale = seasonal_scale(series.values[:origin], series.season)
        per_origin.append((actual, fc, scale))
        chosen_models[fc.model] = chosen_models.get(fc.model, 0) + 1
        points = dict(fc.candidates)
        points.setdefault("seasonal_naive", seasonal_naive(series, np.array([origin]), horizon)[0])
        for name, point in points.items():
            candidate_points.setdefault(name, []).append((actual, point, scale))
        frame = {"origin": series.times[origin - 1], "time": series.times[origin + steps], "actual": actual,
                 "forecast": fc.point}
        for level in (80, 95):
            lower, upper = fc.bounds.get(level, (np.full(horizon, np.nan),) * 2)
            frame[f"lower_{level}"], frame[f"upper_{level}"] = lower, upper
        rows.append(pd.DataFrame(frame, columns=list(ROW_COLUMNS)))
        projection = month_end(series, fc, known=origin)
        if projection is not None:
            in_month = series.times.to_period("M") == projection.month.to_period("M")
            if _month_complete(series, projection.month):
                closed = float(series.values[in_month].sum())
                if closed != 0:
                    month_errors.append(abs(projection.point - closed) / abs(closed))
                for level in levels:
                    low, high = projection.bounds[level]
                    month_hits[level].append(low <= closed <= high)

    chosen = Accuracy(
        method="auto",
        mase=float(np.mean([mase(a, f.point, s) for a, f, s in per_origin])),
        smape=float(np.mean([smape(a, f.point) for a, f, _ in per_origin])),
        coverage={lv: coverage(np.concatenate([a for a, _, _ in per_origin]),
                               np.concatenate([f.bounds[lv][0] for _, f, _ in per_origin]),
                               np.concatenate([f.bounds[lv][1] for _, f, _ in per_origin])) for lv in levels},
        pinball={lv: float(np.mean([interval_pinball(a, *f.bounds[lv], lv) for a, f, _ in per_origin]))
                 for lv in levels},
    )
    candidates = {
        name: Accuracy(method=name, mase=float(np.mean([mase(a, p, s) for a, p, s in triples])),
                       smape=float(np.mean([smape(a, p) for a, p, _ in triples])), coverage={}, pinball={})
        for name, triples in candidate_points.items() if len(triples) == len(positions)
    }
    return Backtest(
        series=series.name, horizon=horizon, origins=len(positions), chosen=chosen, candidates=candidates,
        models=chosen_models,
        month_end_error=float(np.mean(month_errors)) if month_errors else None,
        month_end_coverage={lv: float(np.mean(h)) for lv, h in month_hits.items() if h},
        month_ends=len(month_errors), rows=pd.concat(rows, ignore_index=True))


def _month_complete(series: Series, month: pd.Timestamp) -> bool:
    """True when the series covers every period of `month`."""
    following = month.to_period("M") + 1
    return series.times[-1] >= following.to_timestamp() - pd.tseries.frequencies.to_offset(series.freq)

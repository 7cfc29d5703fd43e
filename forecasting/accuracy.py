"""Accuracy measures of forecasts against what happened."""
from __future__ import annotations

import numpy as np


def seasonal_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute change over one season in `history`: the denominator of MASE."""
    history = np.asarray(history, dtype=float)
    return float(np.mean(np.abs(history[season:] - history[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, scale: float) -> float:
    """Mean absolute error in units of the in-sample seasonal naive error (nan if that is 0)."""
    error = float(np.mean(np.abs(np.asarray(actual) - np.asarray(forecast))))
    return error / scale if scale > 0 else (0.0 if error == 0 else float("nan"))


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric mean absolute percentage error, 0..200 %; a period where both are 0 counts 0."""
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(2 * np.abs(actual - forecast), denominator, out=np.zeros_like(denominator),
                      where=denominator > 0)
    return float(100 * np.mean(ratio))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside [lower, upper]."""
    actual = np.asarray(actual)
    return float(np.mean((actual >= lower) & (actual <= upper)))


def pinball(actual: np.ndarray, quantile: np.ndarray, tau: float) -> float:
    """Mean quantile (pinball) loss of a forecast of the `tau` quantile."""
    diff = np.asarray(actual, dtype=float) - np.asarray(quantile, dtype=float)
    return float(np.mean(np.maximum(tau * diff, (tau - 1) * diff)))


def interval_pinball(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, level: float) -> float:
    """Pinball loss of an interval's two ends, read as the (1∓level)/2 quantiles, averaged."""
    tail = (1 - level / 100.0) / 2
    return (pinball(actual, lower, tail) + pinball(actual, upper, 1 - tail)) / 2

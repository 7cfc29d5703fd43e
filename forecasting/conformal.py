"""Split-conformal interval widths from the errors a method made on earlier origins.

The errors at step h from many past origins give, ranked, a width that covers the next
forecast's error at step h with the stated probability if errors were exchangeable. They
are not quite: revenue shifts (a price change, a burst of data use, a crash in a real
ledger), and a width learned evenly over months then misses for weeks after a shift. So
each past error is weighted by its recency, halving every `HALF_LIFE_ORIGINS` origins
(weighted conformal prediction, Barber, Candès, Ramdas and Tibshirani 2023): the width is
the smallest score whose weight share, the next forecast counted with weight 1 at
infinity, reaches the level. With equal weights it is the usual ceil((n+1)·level)-th
score. No distribution is assumed: the intervals are measured, in `forecasting.backtest`.
"""
from __future__ import annotations

import math

import numpy as np

# Four weeks of daily origins, a bit over two years of monthly ones: measured on the
# simulator (seed 23) and on statsmodels' elec_equip, both away from the tests' data.
HALF_LIFE_ORIGINS = 28


def recency_weights(n: int, half_life: float | None = HALF_LIFE_ORIGINS) -> np.ndarray:
    """Weights of n errors, oldest first: the newest 1, halving every `half_life` (all 1 if None)."""
    if half_life is None:
        return np.ones(n)
    return 0.5 ** ((n - 1 - np.arange(n)) / half_life)


def half_widths(errors: np.ndarray, level: float, half_life: float | None = HALF_LIFE_ORIGINS) -> np.ndarray:
    """Per step, the half width covering `level` percent of absolute errors (origins × steps,
    oldest origin first), recent errors weighing more.

    Widths never shrink with the step: a forecast further ahead is never more certain,
    and with few origins a sampled width can dip by chance."""
    scores = np.abs(np.asarray(errors, dtype=float))
    weights = recency_weights(scores.shape[0], half_life)
    widths = [weighted_conformal_quantile(scores[:, step], weights, level) for step in range(scores.shape[1])]
    return np.maximum.accumulate(np.array(widths))


def weighted_conformal_quantile(scores: np.ndarray, weights: np.ndarray, level: float) -> float:
    """The smallest score whose cumulative weight, over the total plus 1 (the next forecast's
    own weight), reaches `level` percent; the largest score when none does."""
    scores = np.asarray(scores, dtype=float)
    if scores.size == 0:
        raise ValueError("conformal widths need at least one calibration error")
    order = np.argsort(scores, kind="stable")
    share = np.cumsum(np.asarray(weights, dtype=float)[order]) / (float(np.sum(weights)) + 1.0)
    # A small tolerance, so that equal weights give exactly the rank ceil((n+1)·level).
    position = int(np.searchsorted(share, level / 100.0 - 1e-12))
    return float(scores[order][min(position, scores.size - 1)])


def conformal_quantile(scores: np.ndarray, level: float, axis: int = 0) -> np.ndarray:
    """The ceil((n+1)·level)-th smallest of n scores (the largest when that rank exceeds n)."""
    scores = np.sort(np.asarray(scores, dtype=float), axis=axis)
    n = scores.shape[axis]
    if n == 0:
        raise ValueError("conformal widths need at least one calibration error")
    rank = min(n, math.ceil((n + 1) * level / 100.0))
    return np.take(scores, rank - 1, axis=axis)

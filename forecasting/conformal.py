"""Split-conformal interval widths from the errors a method made on earlier origins.

The errors at step h from many past origins are exchangeable enough with the error the
next forecast will make at step h that their ranked absolute values give a width which
covers with the stated probability (the finite-sample rank ceil((n+1)·level)). No
distribution is assumed: the intervals are measured, in `forecasting.backtest`.
"""
from __future__ import annotations

import math

import numpy as np


def half_widths(errors: np.ndarray, level: float) -> np.ndarray:
    """Per step, the half width covering `level` percent of absolute errors (origins × steps).

    Widths never shrink with the step: a forecast further ahead is never more certain,
    and with few origins a sampled width can dip by chance."""
    return np.maximum.accumulate(conformal_quantile(np.abs(errors), level, axis=0))


def conformal_quantile(scores: np.ndarray, level: float, axis: int = 0) -> np.ndarray:
    """The ceil((n+1)·level)-th smallest of n scores (the largest when that rank exceeds n)."""
    scores = np.sort(np.asarray(scores, dtype=float), axis=axis)
    n = scores.shape[axis]
    if n == 0:
        raise ValueError("conformal widths need at least one calibration error")
    rank = min(n, math.ceil((n + 1) * level / 100.0))
    return np.take(scores, rank - 1, axis=axis)

"""Running sums, minima and carries over contiguous groups of sorted rows.

The sequential rules (allowance draw-down, balances, cycle totals) are running quantities
per subscriber in processing order; with rows sorted by group, each is a cumulative
operation reset at group starts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def group_firsts(keys: list[np.ndarray]) -> np.ndarray:
    """True at the first row of each run of equal keys (rows already sorted by keys)."""
    n = keys[0].shape[0]
    first = np.zeros(n, dtype=bool)
    if n:
        first[0] = True
        for k in keys:
            first[1:] |= k[1:] != k[:-1]
    return first


def group_ids(first: np.ndarray) -> np.ndarray:
    return np.cumsum(first) - 1


def cumsum_before(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Sum of the earlier rows of the same group (exclusive running sum)."""
    values = np.asarray(values, dtype=np.int64)
    inclusive = np.cumsum(values)
    exclusive = inclusive - values
    start_idx = np.maximum.accumulate(np.where(first, np.arange(first.shape[0]), 0))
    return exclusive - exclusive[start_idx]


def cummin(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    if values.shape[0] == 0:
        return values.copy()
    return pd.Series(values).groupby(group_ids(first), sort=False).cummin().to_numpy()


def previous(values: np.ndarray, first: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The previous row's value in the group; ``initial`` (per row) for a group's first row."""
    out = np.empty_like(values)
    if values.shape[0]:
        out[1:] = values[:-1]
        out[first] = initial[first]
    return out


def carried(marker: np.ndarray, present: np.ndarray, first: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The latest ``marker`` at or before each row where ``present``; ``initial`` before any."""
    n = marker.shape[0]
    idx = np.arange(n)
    last = np.maximum.accumulate(np.where(present, idx, -1)) if n else idx
    start_idx = np.maximum.accumulate(np.where(first, idx, 0)) if n else idx
    valid = last >= start_idx
    return np.where(valid, marker[np.maximum(last, 0)] if n else marker, initial)

"""Running sums, minima and carries over contiguous groups of sorted rows.

The sequential rules (allowance draw-down, balances, cycle totals) are running quantities
per subscriber in processing order; with rows sorted by group, each is a cumulative
operation reset at group starts.
"""
from __future__ import annotations

import numba
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


def running_max(values: np.ndarray, first: np.ndarray, initial: np.ndarray | None = None) -> np.ndarray:
    """Running maximum per group (optionally not below ``initial``, given per row).

    Shifting each group above the previous ones lets one ``maximum.accumulate`` serve all
    groups; when that shift could overflow int64, pandas' grouped cummax does it instead.
    """
    values = np.asarray(values, dtype=np.int64)
    n = values.shape[0]
    if n == 0:
        return values.copy()
    lo, hi = int(values.min()), int(values.max())
    span = hi - lo + 1
    ids = np.cumsum(first) - 1
    groups = int(ids[-1]) + 1
    if span * groups < 2**62:
        shifted = (values - lo) + ids * span
        out = np.maximum.accumulate(shifted) - ids * span + lo
    else:
        out = pd.Series(values).groupby(ids, sort=False).cummax().to_numpy()
    return out if initial is None else np.maximum(out, initial)


def running_min(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Running minimum per group."""
    return -running_max(-np.asarray(values, dtype=np.int64), first)


def regrouped(keys: list[np.ndarray], spans: list[int]) -> np.ndarray:
    """Stable permutation grouping rows by ``keys`` (major first), keeping row order inside.

    Keys are non-negative and below their ``spans``; they are packed into one int64 so that a
    single stable sort does it (fast when rows are nearly grouped already).
    """
    composite = np.zeros(keys[0].shape[0], dtype=np.int64)
    for k, span in zip(keys, spans):
        composite = composite * span + np.asarray(k, dtype=np.int64)
    return stable_order(composite, int(np.prod(spans, dtype=np.float64)))


def stable_order(keys: np.ndarray, span: int) -> np.ndarray:
    """The stable permutation sorting `keys` (non-negative, below `span`).

    A counting sort where the span is not much wider than the rows (a shard's subscriber
    slots against a batch of its records), numpy's stable sort otherwise.
    """
    keys = np.asarray(keys, dtype=np.int64)
    if _countable(span, keys.shape[0]):
        return _counted_order(keys, span)
    return np.argsort(keys, kind="stable")


def _countable(span: int, rows: int) -> bool:
    """Whether a pass over `span` buckets costs less than sorting `rows` keys."""
    return span <= 4 * rows + 1024


@numba.njit(cache=True, nogil=True)
def _counted_order(keys, span):
    starts = np.zeros(span + 1, dtype=np.int64)
    for k in keys:
        starts[k + 1] += 1
    for v in range(span):
        starts[v + 1] += starts[v]
    order = np.empty(keys.shape[0], dtype=np.int64)
    for i in range(keys.shape[0]):
        order[starts[keys[i]]] = i
        starts[keys[i]] += 1
    return order


def ascending(values: np.ndarray) -> bool:
    """Whether `values` never decrease."""
    return values.shape[0] < 2 or bool((values[1:] >= values[:-1]).all())


def latest_by_key(keys: np.ndarray, values: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys ascending, the largest value of each); keys non-negative, below `span`."""
    keys = np.asarray(keys, dtype=np.int64)
    values = np.asarray(values, dtype=np.int64)
    if _countable(span, keys.shape[0]):
        return _latest_counted(keys, values, span)
    distinct, inverse = np.unique(keys, return_inverse=True)
    latest = np.full(distinct.size, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, inverse, values)
    return distinct, latest


@numba.njit(cache=True, nogil=True)
def _latest_counted(keys, values, span):
    latest = np.full(span, np.iinfo(np.int64).min, dtype=np.int64)
    seen = np.zeros(span, dtype=np.bool_)
    for i in range(keys.shape[0]):
        seen[keys[i]] = True
        latest[keys[i]] = max(latest[keys[i]], values[i])
    distinct = np.flatnonzero(seen)
    return distinct, latest[distinct]

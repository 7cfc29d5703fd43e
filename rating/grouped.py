"""Running sums, minima and carries over contiguous groups of sorted rows.

The sequential rules (allowance draw-down, balances, cycle totals) are running quantities
per subscriber in processing order; with rows sorted by group, each is a cumulative
operation reset at group starts.
"""
from __future__ import annotations

import numba
import numpy as np


def group_firsts(keys: list[np.ndarray]) -> np.ndarray:
    """True at the first row of each run of equal keys (rows already sorted by keys)."""
    n = keys[0].shape[0]
    first = np.zeros(n, dtype=bool)
    if n:
        first[0] = True
        for k in keys:
            first[1:] |= k[1:] != k[:-1]
    return first


def cumsum_before(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Sum of the earlier rows of the same group (exclusive running sum)."""
    return _cumsum_before(np.asarray(values, dtype=np.int64), np.asarray(first, dtype=np.bool_))


@numba.njit(cache=True, nogil=True)
def _cumsum_before(values, first):
    out = np.empty(values.shape[0], dtype=np.int64)
    total = np.int64(0)
    for k in range(values.shape[0]):
        if first[k]:
            total = 0
        out[k] = total
        total += values[k]
    return out


def running_max(values: np.ndarray, first: np.ndarray, initial: np.ndarray | None = None) -> np.ndarray:
    """Running maximum per group (not below ``initial``, given per row, when given)."""
    values = np.asarray(values, dtype=np.int64)
    floor = np.full(values.shape[0], np.iinfo(np.int64).min, dtype=np.int64) if initial is None \
        else np.asarray(initial, dtype=np.int64)
    return _running_max(values, np.asarray(first, dtype=np.bool_), floor)


@numba.njit(cache=True, nogil=True)
def _running_max(values, first, floor):
    out = np.empty(values.shape[0], dtype=np.int64)
    top = np.int64(0)
    for k in range(values.shape[0]):
        top = values[k] if first[k] else max(top, values[k])
        out[k] = max(top, floor[k])
    return out


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


def distinct_places(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys ascending, each key's place among them), as `np.unique` gives them
    with `return_inverse`: a mark per key of their range when it is narrow, no sort."""
    keys = np.asarray(keys, dtype=np.int64)
    if keys.size == 0:
        return keys.copy(), np.zeros(0, dtype=np.int64)
    lo = int(keys.min())
    span = int(keys.max()) - lo + 1
    if not _countable(span, keys.shape[0]):
        return np.unique(keys, return_inverse=True)
    present = np.zeros(span, dtype=bool)
    present[keys - lo] = True
    distinct = np.flatnonzero(present)
    place = np.zeros(span, dtype=np.int64)
    place[distinct] = np.arange(distinct.size)
    return distinct + lo, place[keys - lo]


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

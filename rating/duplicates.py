"""Duplicate record ids (SPEC rule 1) within a horizon of event time.

A record is a duplicate when the most recent earlier rated record of the same msisdn with
the same ``record_id`` started no more than the horizon before the subscriber's latest
``start_time`` so far (this record included). Ids are kept as 64-bit hashes of
(msisdn, record_id) in ``RatingState.seen``; an entry is dropped once it can no longer
match, so memory follows the horizon, not the stream length.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from rating.grouped import group_firsts
from rating.hashing import string_hashes
from rating.state import RatingState, expiry_of


def record_keys(code: np.ndarray, record_id: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """64-bit hashes of (msisdn, record_id), stable across processes."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.uint64)
    return string_hashes(record_id.take(pa.array(rows.astype(np.int64))), seed=code[rows])


def key_order(keys: np.ndarray) -> np.ndarray:
    """Permutation sorting keys, ties kept in row order (a plain sort, then the rare ties)."""
    order = np.argsort(keys)
    ks = keys[order]
    tied = np.zeros(ks.shape[0], dtype=bool)
    same = ks[1:] == ks[:-1]
    tied[1:] |= same
    tied[:-1] |= same
    if tied.any():
        members = np.flatnonzero(tied)
        order[members] = order[members][np.lexsort((order[members], ks[members]))]
    return order


def duplicate_flags(
    state: RatingState, keys: np.ndarray, k_order: np.ndarray, start: np.ndarray,
    watermark: np.ndarray, eligible: np.ndarray,
) -> np.ndarray:
    """Duplicate flag per row (rows in processing order), per the horizon rule."""
    n = keys.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    ks = keys[k_order]
    # Looked up in key order: a binary search over sorted needles walks the runs once,
    # not once per key from the top (5x faster on two million remembered ids).
    fnd, sst = state.seen.lookup(ks)
    first = group_firsts([ks])
    if first.all() and not fnd.any():
        return np.zeros(n, dtype=bool)
    st, wm, el = start[k_order], watermark[k_order], eligible[k_order]
    idx = np.arange(n)
    group_start = np.maximum.accumulate(np.where(first, idx, 0))
    horizon = state.dedup_horizon_us
    rated = el.copy()
    while True:
        last_rated = np.maximum.accumulate(np.where(rated, idx, -1))
        before = np.empty(n, dtype=np.int64)
        before[0] = -1
        before[1:] = last_rated[:-1]
        in_batch = before >= group_start
        anchor = np.where(in_batch, st[np.maximum(before, 0)], sst)
        has_anchor = in_batch | fnd
        dup = el & has_anchor & (anchor >= wm - horizon)
        now_rated = el & ~dup
        if np.array_equal(now_rated, rated):
            break
        rated = now_rated
    out = np.zeros(n, dtype=bool)
    out[k_order] = dup
    return out


def remember_rated(
    state: RatingState, keys: np.ndarray, k_order: np.ndarray, start: np.ndarray, slot: np.ndarray,
    rated: np.ndarray,
) -> None:
    # The newest rated occurrence of a key anchors later duplicates.
    rows = k_order[rated[k_order]]  # sorted by key, processing order within a key
    k, s, sl = keys[rows], start[rows], slot[rows]
    newest = np.ones(k.size, dtype=bool)
    newest[:-1] = k[:-1] != k[1:]
    state.seen.add(k[newest], s[newest], sl[newest], lambda slots: expiry_of(state, slots))

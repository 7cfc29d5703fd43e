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

from rating.hashing import string_hashes
from rating.state import RatingState, expiry_of


def record_keys(code: np.ndarray, record_id: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """64-bit hashes of (msisdn, record_id) of `rows`, stable across processes."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.uint64)
    # Every row hashed where it is, then picked: taking the ids' text first cost more.
    return string_hashes(record_id, seed=code)[rows]


def duplicate_flags(
    state: RatingState, keys: np.ndarray, start: np.ndarray, watermark: np.ndarray, slot: np.ndarray,
    eligible: np.ndarray,
) -> np.ndarray:
    """Duplicate flag per row (rows in processing order), per the horizon rule; every
    eligible row that is not a duplicate is rated, and remembered as its key's newest."""
    floor = watermark - state.dedup_horizon_us
    return state.seen.checked(keys, start, slot, floor, eligible, lambda slots: expiry_of(state, slots))

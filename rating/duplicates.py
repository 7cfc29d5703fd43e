"""Duplicate record ids (SPEC rule 1), at any age.

A record is a duplicate when a record of the same msisdn with the same ``record_id`` was
already rated, however long ago. Ids are kept as 64-bit hashes of (msisdn, record_id) in
``RatingState.seen``, a cache: an entry is dropped once its start is more than the dedup
horizon behind the subscriber's latest ``start_time`` (unless the state keeps every id), so
memory follows the horizon, not the stream length. What the cache holds is always a
duplicate; what it may have dropped is asked of the caller's record of what was really
rated (``RatedBefore``): only the rows older than the horizon (a record id is one usage
event, so its copies share their start), and the rows of a closed cycle, which are
duplicates before they are late. A run whose state began empty beside a store that already
holds rated records (`revguard load` of a later directory) also asks about every row no
later than the latest stored start of its msisdn (``stored_until``): a newer row cannot be
a copy of a stored one.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa

from rating.hashing import string_hashes
from rating.state import RatingState, expiry_of

# Rows (by their index into what was asked) -> whether each was rated before, elsewhere in
# the input than this very row (a replay of the same input position is not a re-delivery).
RatedBefore = Callable[[np.ndarray], np.ndarray]

_ANY_AGE = np.iinfo(np.int64).min


def record_keys(code: np.ndarray, record_id: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """64-bit hashes of (msisdn, record_id) of `rows`, stable across processes."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.uint64)
    # Every row hashed where it is, then picked: taking the ids' text first cost more.
    return string_hashes(record_id, seed=code)[rows]


def duplicate_flags(
    state: RatingState, keys: np.ndarray, start: np.ndarray, watermark: np.ndarray, slot: np.ndarray,
    rateable: np.ndarray, closed: np.ndarray, rated_before: RatedBefore | None = None,
    stored_until: np.ndarray | None = None,
) -> np.ndarray:
    """Duplicate flag per row (rows in processing order). Every rateable row that is not a
    duplicate is rated and remembered; a closed-cycle row is only looked up (it is not rated)."""
    floors = np.full(keys.shape[0], _ANY_AGE, dtype=np.int64)  # a held key repeats at any age
    dup = state.seen.checked(keys, start, slot, floors, rateable, lambda slots: expiry_of(state, slots))
    if closed.any():
        at = np.flatnonzero(closed)
        held, _ = state.seen.lookup(keys[at])
        dup[at[held]] = True
    if rated_before is not None:
        late = start < watermark - state.dedup_horizon_us  # older than the cache can vouch for
        if stored_until is not None:  # a run that began without the store's ids: no later than them
            late |= start <= stored_until
        ask = np.flatnonzero(~dup & ((rateable & late) | closed))
        if ask.size:
            dup[ask[np.asarray(rated_before(ask), dtype=bool)]] = True
    return dup

"""The record ids a shard has rated: 64-bit hashes with the start time and slot of the newest.

An open-addressing hash table (numba). The keys are already splitmix64 hashes
(`rating.hashing`), so their top bits pick the home bucket. Sorted runs with a binary
search per run cost ~1 ms for every 2,000-row call on a shard that remembered a million
ids, a tenth of the engine's call; a probe is one or two cache misses per key.

Entries that can no longer match are dropped when the table fills up (then it is rebuilt
with the live entries, at twice the size only if they still take most of it), so a few
linger until then. That never changes an answer: `rating.duplicates` checks the horizon on
the start time it gets back.
"""
from __future__ import annotations

from typing import Callable

import numba
import numpy as np

from rating.grouped import stable_order

_MAX_LOAD = 0.7  # linear probing on uniform keys stays short below this
_MIN_BITS = 10
_ORDER_BITS = 16  # home-bucket prefix that orders a batch's keys for `SeenIds.checked`


@numba.njit(cache=True, nogil=True, inline="always")
def _bucket(keys: np.ndarray, used: np.ndarray, shift: np.uint64, key: np.uint64) -> np.int64:
    """The bucket holding `key`, or the empty one where it would go (linear probing)."""
    mask = keys.shape[0] - 1
    at = np.int64(key >> shift)
    while used[at] and keys[at] != key:
        at = (at + 1) & mask
    return at


@numba.njit(cache=True, nogil=True, inline="always")
def _put(keys: np.ndarray, start: np.ndarray, slot: np.ndarray, used: np.ndarray, at: np.int64, key: np.uint64,
         when: np.int64, where: np.int32) -> np.int64:
    """Holds `key` in bucket `at` (its own or the empty one `_bucket` found) with its start
    and slot; 1 if the bucket was empty."""
    taken = np.int64(0) if used[at] else np.int64(1)
    used[at] = True
    keys[at] = key
    start[at] = when
    slot[at] = where
    return taken


@numba.njit(cache=True, nogil=True)
def _stored(keys: np.ndarray, start: np.ndarray, slot: np.ndarray, used: np.ndarray, shift: np.uint64,
            new_keys: np.ndarray, new_start: np.ndarray, new_slot: np.ndarray) -> np.int64:
    """Puts each entry in its key's bucket, a later one replacing an earlier one of the same
    key; returns how many buckets were newly taken."""
    taken = 0
    for i in range(new_keys.shape[0]):
        at = _bucket(keys, used, shift, new_keys[i])
        taken += _put(keys, start, slot, used, at, new_keys[i], new_start[i], new_slot[i])
    return taken


@numba.njit(cache=True, nogil=True)
def _checked(keys: np.ndarray, start: np.ndarray, slot: np.ndarray, used: np.ndarray, shift: np.uint64,
             new_keys: np.ndarray, new_start: np.ndarray, new_slot: np.ndarray, floor: np.ndarray,
             eligible: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.int64]:
    """In `order` (which keeps the entries of a key in their order), per eligible entry: a
    repeat when its key is held with a start of at least its `floor`, else stored (a later
    entry of a key replacing an earlier one). Returns the repeat flags and how many buckets
    were newly taken."""
    repeat = np.zeros(new_keys.shape[0], dtype=np.bool_)
    taken = 0
    for i in order:
        if not eligible[i]:
            continue
        at = _bucket(keys, used, shift, new_keys[i])
        if used[at] and start[at] >= floor[i]:
            repeat[i] = True
        else:
            taken += _put(keys, start, slot, used, at, new_keys[i], new_start[i], new_slot[i])
    return repeat, taken


@numba.njit(cache=True, nogil=True)
def _found(keys: np.ndarray, start: np.ndarray, used: np.ndarray, shift: np.uint64,
           asked: np.ndarray, no_time: np.int64) -> tuple[np.ndarray, np.ndarray]:
    found = np.zeros(asked.shape[0], dtype=np.bool_)
    when = np.full(asked.shape[0], no_time, dtype=np.int64)
    for i in range(asked.shape[0]):
        at = _bucket(keys, used, shift, asked[i])
        if used[at]:
            found[i] = True
            when[i] = start[at]
    return found, when


class SeenIds:
    """Hashes of rated record ids with the start time and slot of the newest rating of each."""

    NO_TIME = np.iinfo(np.int64).min

    def __init__(self, bits: int = _MIN_BITS) -> None:
        self._allocate(bits)

    def _allocate(self, bits: int) -> None:
        self._bits = bits
        self._keys = np.zeros(1 << bits, dtype=np.uint64)
        self._start = np.zeros(1 << bits, dtype=np.int64)
        self._slot = np.zeros(1 << bits, dtype=np.int32)
        self._used = np.zeros(1 << bits, dtype=np.bool_)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found, start_us) of the newest entry for each key."""
        return _found(self._keys, self._start, self._used, np.uint64(64 - self._bits),
                      np.ascontiguousarray(keys, dtype=np.uint64), np.int64(self.NO_TIME))

    def add(
        self, keys: np.ndarray, start: np.ndarray, slot: np.ndarray, expiry: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        """Remember entries (a key added again takes the new start and slot).

        ``expiry(slots)`` gives the start time below which an entry of each slot can never
        match again; it is asked for only when the table fills up.
        """
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        if keys.size == 0:
            return
        if self._count + keys.size > _MAX_LOAD * self._keys.shape[0]:
            self._rebuild(self._count + keys.size, expiry)
        self._count += self._store(keys, start, slot)

    def checked(
        self, keys: np.ndarray, start: np.ndarray, slot: np.ndarray, floor: np.ndarray, eligible: np.ndarray,
        expiry: Callable[[np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """Goes through the entries in order: an eligible one is a repeat when its key is held
        with a start of at least its `floor`; every other eligible one is remembered at once,
        so a later entry of the same key is checked against it. Returns the repeat flags.

        One compiled pass: looking all keys up first, then resolving repeats among the batch's
        own entries, took a sort of the keys, a fixpoint of running maxima and a second pass
        to remember the rated ones.
        """
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        if keys.size == 0:
            return np.zeros(0, dtype=np.bool_)
        if self._count + keys.size > _MAX_LOAD * self._keys.shape[0]:
            self._rebuild(self._count + keys.size, expiry)
        # Keys are taken in the order of their home buckets (a counting sort of the top bits,
        # which keeps a key's entries in their order), so the probes walk the table in one
        # direction: a million-row call against two million ids took 1.43 s against 1.51 s
        # in arrival order (one run each); no difference on smaller tables.
        bits = min(self._bits, _ORDER_BITS)
        order = stable_order((keys >> np.uint64(64 - bits)).astype(np.int64), 1 << bits)
        repeat, taken = _checked(self._keys, self._start, self._slot, self._used, np.uint64(64 - self._bits), keys,
                                 np.ascontiguousarray(start, dtype=np.int64), np.ascontiguousarray(slot, dtype=np.int32),
                                 np.ascontiguousarray(floor, dtype=np.int64), np.ascontiguousarray(eligible, dtype=np.bool_),
                                 order)
        self._count += int(taken)
        return repeat

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, start, slot) of every entry, in bucket order."""
        used = self._used
        return self._keys[used], self._start[used], self._slot[used]

    def _rebuild(self, needed: int, expiry: Callable[[np.ndarray], np.ndarray]) -> None:
        """The live entries into a table with room for `needed` (live ones plus those coming)."""
        keys, start, slot = self.entries()
        live = start >= expiry(slot.astype(np.int64))
        self._refill(keys[live], start[live], slot[live], room=needed - self._count + int(live.sum()))

    def _refill(self, keys: np.ndarray, start: np.ndarray, slot: np.ndarray, room: int) -> None:
        """A table half as full as it may get with `room` entries, holding these."""
        self._allocate(max(_MIN_BITS, int(np.ceil(np.log2(max(room, 1) / (_MAX_LOAD / 2))))))
        self._count = self._store(keys, start, slot)

    def _store(self, keys: np.ndarray, start: np.ndarray, slot: np.ndarray) -> int:
        """Puts the entries in the table (there is room); returns how many buckets they newly took."""
        return int(_stored(self._keys, self._start, self._slot, self._used, np.uint64(64 - self._bits),
                           np.ascontiguousarray(keys, dtype=np.uint64), np.ascontiguousarray(start, dtype=np.int64),
                           np.ascontiguousarray(slot, dtype=np.int32)))

    def __getstate__(self) -> dict:
        keys, start, slot = self.entries()
        return {"keys": keys, "start": start, "slot": slot}

    def __setstate__(self, state: dict) -> None:
        if "runs" in state:  # snapshots taken when the ids were kept in sorted runs, oldest first
            runs = state["runs"]
            state = {
                "keys": np.concatenate([r[0] for r in runs]) if runs else np.zeros(0, np.uint64),
                "start": np.concatenate([r[1] for r in runs]) if runs else np.zeros(0, np.int64),
                "slot": np.concatenate([r[2] for r in runs]) if runs else np.zeros(0, np.int32),
            }
        self._refill(state["keys"], state["start"], state["slot"], room=len(state["keys"]))


def warm_up() -> None:
    """Loads (or on a first run compiles) the table's loops before the first batch needs them."""
    seen = SeenIds()
    seen.add(np.array([1], np.uint64), np.array([0], np.int64), np.array([0], np.int32), lambda s: s)
    seen.lookup(np.array([1, 2], np.uint64))
    seen.checked(np.array([1], np.uint64), np.array([0], np.int64), np.array([0], np.int32), np.array([0], np.int64),
                 np.ones(1, np.bool_), lambda s: s)

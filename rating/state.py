"""Per-subscriber rating state for one shard of subscribers, compact and picklable.

One slot per subscriber seen, held in numpy arrays (about 100 bytes a subscriber):
prepaid balance and blocked flag; the event-time and billing-cycle watermarks; the
allowance used and postpaid total of the two most recent billing cycles (a ring indexed by
cycle number mod 2); and the record ids already rated, as 64-bit hashes of
``msisdn + record_id`` in a hash table (`rating.seen_ids`; 20 bytes each pickled, 30-60
in memory), kept for ``dedup_horizon_s`` of event time behind the subscriber's latest
``start_time`` (expired entries are dropped when the table fills up, so some linger until
then), or for the whole run with ``keep_every_id`` (files).

Measured: 100,000 subscribers with 770,000 remembered ids pickle to 26 MB; 865,000
subscribers with 2,000,000 ids to 129 MB.
"""
from __future__ import annotations

import numpy as np

from rating.code_index import CodeIndex
from rating.seen_ids import SeenIds

_NO_TIME = np.iinfo(np.int64).min
_NO_CYCLE = np.iinfo(np.int32).min // 2


def expiry_of(state: "RatingState", slots: np.ndarray) -> np.ndarray:
    """Start time below which a remembered record id of each slot can no longer match."""
    if state.keep_every_id:
        return np.full(slots.shape[0], np.iinfo(np.int64).min, dtype=np.int64)
    horizon = state.dedup_horizon_us
    floor = np.iinfo(np.int64).min + horizon
    return np.maximum(state.watermark_us[slots], floor) - horizon


class RatingState:
    """Everything ``rate_batch`` remembers between batches for its shard of subscribers."""

    def __init__(self, dedup_horizon_s: int = 2 * 86_400, keep_every_id: bool = False) -> None:
        self.dedup_horizon_us = int(dedup_horizon_s) * 1_000_000
        # A run over a file keeps every id it rated (its whole record of what was rated);
        # a stream keeps the horizon and asks the store about older records.
        self.keep_every_id = keep_every_id
        self.size = 0
        self.code = np.zeros(0, dtype=np.int64)  # int("1" + msisdn)
        self.balance = np.zeros(0, dtype=np.int64)
        self.blocked = np.zeros(0, dtype=bool)
        self.watermark_us = np.zeros(0, dtype=np.int64)
        self.watermark_cycle = np.zeros(0, dtype=np.int32)
        self.ring_cycle = np.zeros((0, 2), dtype=np.int32)
        self.used = np.zeros((0, 2, 3), dtype=np.int64)
        self.cycle_total = np.zeros((0, 2), dtype=np.int64)
        self.alerted = np.zeros((0, 2), dtype=np.uint8)
        self.seen = SeenIds()
        # Slot of each code; not pickled (rebuilt from `code` on first use, ~0.1 s per million).
        self._index: CodeIndex | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        n = self.size
        for name in ("code", "balance", "blocked", "watermark_us", "watermark_cycle", "ring_cycle", "used", "cycle_total", "alerted"):
            state[name] = state[name][:n].copy()
        state["_index"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        state.pop("_indexes", None)  # snapshots taken when the index was a list of pandas Indexes
        state.setdefault("keep_every_id", False)  # snapshots taken before a state could keep every id
        self.__dict__.update(state)
        self._index = None

    def slots(self, codes: np.ndarray) -> np.ndarray:
        """Slot of each msisdn code; -1 when not seen yet."""
        return self._slot_index().positions(codes)

    def _slot_index(self) -> CodeIndex:
        if self._index is None:
            self._index = CodeIndex(self.code[: self.size])
        return self._index

    def add_slots(self, codes: np.ndarray, opening_balance: np.ndarray) -> np.ndarray:
        """New slots for unseen, distinct codes; returns their slot numbers."""
        k = codes.shape[0]
        start = self.size
        need = start + k
        if need > self.code.shape[0]:
            self._grow(max(need, 2 * self.code.shape[0], 1024))
        sl = slice(start, need)
        self.code[sl] = codes
        self.balance[sl] = np.maximum(opening_balance, 0)
        self.blocked[sl] = False
        self.watermark_us[sl] = _NO_TIME
        self.watermark_cycle[sl] = _NO_CYCLE
        self.ring_cycle[sl] = _NO_CYCLE
        self.used[sl] = 0
        self.cycle_total[sl] = 0
        self.alerted[sl] = 0
        index = self._slot_index()  # built before `size` moves on, so it covers the old slots only
        self.size = need
        index.extend(codes)
        return np.arange(start, need, dtype=np.int64)

    def _grow(self, capacity: int) -> None:
        def grown(a: np.ndarray) -> np.ndarray:
            out = np.zeros((capacity,) + a.shape[1:], dtype=a.dtype)
            out[: self.size] = a[: self.size]
            return out

        for name in ("code", "balance", "blocked", "watermark_us", "watermark_cycle", "ring_cycle", "used", "cycle_total", "alerted"):
            setattr(self, name, grown(getattr(self, name)))

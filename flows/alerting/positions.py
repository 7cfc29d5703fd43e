"""Which Kafka offsets of the alerts topic are finished, and so how far the position may move.

An offset is finished when every receiver it was routed to has acknowledged it (and the
acknowledgement is in `alert_deliveries`) or parked it, or when it went to the dead letters.
The position of a partition is the first offset not finished: alerts delivered out of order
across receivers never move it past one still waiting.
"""
from __future__ import annotations

import threading
from collections import deque


class PartitionPositions:
    """Offsets handed out per partition and the tasks each still waits for (thread-safe)."""

    def __init__(self, starts: dict[int, int]) -> None:
        self._lock = threading.Lock()
        self._next: dict[int, int] = dict(starts)  # next offset to be read, per partition
        self._waiting: dict[int, deque[list]] = {p: deque() for p in starts}  # [offset, tasks left], in offset order
        self._unfinished = 0

    def track(self, partition: int, offset: int, tasks: int) -> list:
        """Registers `offset` with `tasks` deliveries to wait for; returns the handle `done` takes."""
        entry = [offset, tasks]
        with self._lock:
            self._next[partition] = offset + 1
            self._waiting.setdefault(partition, deque()).append(entry)
            self._unfinished += tasks > 0
        return entry

    def done(self, entry: list) -> None:
        with self._lock:
            entry[1] -= 1
            self._unfinished -= entry[1] == 0

    def committable(self) -> dict[int, int]:
        """Per partition, the first offset not finished (or the next to read, when all are)."""
        with self._lock:
            out = {}
            for partition, waiting in self._waiting.items():
                while waiting and waiting[0][1] <= 0:
                    waiting.popleft()
                out[partition] = waiting[0][0] if waiting else self._next[partition]
            return out

    def pending(self) -> int:
        """Offsets read and not yet finished."""
        with self._lock:
            return self._unfinished

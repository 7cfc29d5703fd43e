"""`alert_deliveries` and `alert_offsets` in ClickHouse: what was tried, what is finished,
where reading resumes.

One writer thread owns the ClickHouse client while the service runs (clients are not shared
between threads): every `flush_s` it inserts the attempts queued since, then tells each
acknowledged delivery it is durable, then stores the partitions' positions. So a position
never passes an alert whose acknowledgement could still be lost, and after a `kill -9` a
restart re-reads only alerts whose outcome was not yet recorded: each of those is sent at
most once more, under the same idempotency key.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import astuple, dataclass

log = logging.getLogger("revguard.alerts")

DELIVERY_COLUMNS = (
    "alert_id", "event", "kind", "receiver", "attempt", "status", "response_code", "error",
    "idempotency_key", "source", "payload", "time",
)
# Keys finished (delivered or parked) or tried, with their last attempt number, from the
# recent past: a restart resumes a few seconds back, never weeks.
KEYS_QUERY = """
SELECT idempotency_key, max(attempt), countIf(status IN ('delivered', 'parked')) > 0
FROM revguard.alert_deliveries
WHERE time >= {since:DateTime64(3, 'UTC')}
GROUP BY idempotency_key
"""
# Per Alertmanager receiver, each alert whose last delivered event is `firing` (still open),
# with the body it was posted with: these are re-sent after a restart.
OPEN_QUERY = """
SELECT receiver, alert_id, argMax(payload, (time, event = 'resolved'))
FROM revguard.alert_deliveries
WHERE status = 'delivered' AND payload != '' AND time >= {since:DateTime64(3, 'UTC')}
GROUP BY receiver, alert_id
HAVING argMax(event, (time, event = 'resolved')) = 'firing'
"""
OFFSETS_QUERY = """
SELECT partition, max(next_offset)
FROM revguard.alert_offsets
WHERE consumer = {consumer:String} AND topic = {topic:String}
GROUP BY partition
"""
OFFSET_COLUMNS = ("consumer", "topic", "partition", "next_offset")
REJECT_COLUMNS = ("stream", "source", "record_id", "msisdn", "reason", "raw")


@dataclass(frozen=True)
class Attempt:
    alert_id: str
    event: str
    kind: str
    receiver: str
    attempt: int
    status: str  # delivered | failed | parked
    response_code: int
    error: str
    idempotency_key: str
    source: str
    payload: str
    time: dt.datetime


@dataclass(frozen=True)
class KnownKey:
    last_attempt: int
    finished: bool


def known_keys(client, since: dt.datetime) -> dict[str, KnownKey]:
    rows = client.query(KEYS_QUERY, parameters={"since": since}).result_rows
    return {key: KnownKey(int(attempt), bool(finished)) for key, attempt, finished in rows}


def open_alerts(client, since: dt.datetime) -> dict[str, dict[str, str]]:
    """receiver -> alert_id -> the Alertmanager body last posted, for alerts still open."""
    out: dict[str, dict[str, str]] = {}
    for receiver, alert_id, payload in client.query(OPEN_QUERY, parameters={"since": since}).result_rows:
        out.setdefault(receiver, {})[alert_id] = payload
    return out


def stored_offsets(client, consumer: str, topic: str) -> dict[int, int]:
    rows = client.query(OFFSETS_QUERY, parameters={"consumer": consumer, "topic": topic}).result_rows
    return {int(p): int(o) for p, o in rows}


class LedgerWriter:
    """Queues attempts from the receiver workers and makes them durable from one thread."""

    def __init__(self, client, consumer: str, topic: str, positions: Callable[[], dict[int, int]], flush_s: float = 0.2) -> None:
        self._client = client
        self._consumer = consumer
        self._topic = topic
        self._positions = positions
        self._flush_s = flush_s
        self._lock = threading.Lock()
        self._rows: list[Attempt] = []
        self._rejects: list[tuple[str, ...]] = []
        self._callbacks: list[Callable[[], None]] = []
        self._stored: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revguard-alert-ledger", daemon=True)
        self.error: BaseException | None = None

    def start(self, stored: dict[int, int]) -> None:
        self._stored = dict(stored)
        self._thread.start()

    def record(self, attempts: list[Attempt], durable: Callable[[], None] | None = None) -> None:
        """Queues `attempts`; `durable` runs once they are inserted."""
        with self._lock:
            self._rows.extend(attempts)
            if durable is not None:
                self._callbacks.append(durable)

    def reject(self, row: tuple[str, ...], durable: Callable[[], None]) -> None:
        """Queues a dead letter for the `rejects` table (REJECT_COLUMNS); `durable` runs once it is inserted."""
        with self._lock:
            self._rejects.append(row)
            self._callbacks.append(durable)

    def stop(self) -> None:
        """Flushes what is queued, stores the positions and ends the thread."""
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self._flush_s)
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the service checks `error` and stops
                log.exception("ledger write failed")
                self.error = exc
                return
            if stopping:
                return

    def flush(self) -> None:
        with self._lock:
            rows, self._rows = self._rows, []
            callbacks, self._callbacks = self._callbacks, []
            rejects, self._rejects = self._rejects, []
        if rejects:
            self._client.insert("revguard.rejects", rejects, column_names=list(REJECT_COLUMNS))
        if rows:
            self._client.insert("revguard.alert_deliveries", [astuple(r) for r in rows], column_names=list(DELIVERY_COLUMNS))
        for callback in callbacks:
            callback()
        moved = [(p, o) for p, o in self._positions().items() if self._stored.get(p) != o]
        if moved:
            self._client.insert(
                "revguard.alert_offsets", [(self._consumer, self._topic, p, o) for p, o in moved],
                column_names=list(OFFSET_COLUMNS),
            )
            self._stored.update(moved)

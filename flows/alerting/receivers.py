"""One worker thread per receiver: its queue in arrival order, retries, pacing, re-sends.

Each receiver has its own thread and queue, so a slow or rate-limited receiver (Slack: one
post a second) delays nobody else; within a receiver the queue is served in order, so the
events of one alert (firing, then resolved) reach it in that order even across retries.

A post that fails is tried again after a backoff that doubles up to a ceiling, drawn with
jitter so that many revguard processes do not retry in step; every attempt is a row in
`alert_deliveries`. Past the retry budget, or on an answer that cannot improve (4xx other
than 408/425/429), the deliveries are parked: recorded, counted, and no longer waited for.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from flows.alerting.alert import Alert
from flows.alerting.config import DeliveryConfig, Receiver
from flows.alerting.delivery_metrics import DeliveryMetrics
from flows.alerting.ledger import Attempt, KnownKey, LedgerWriter
from flows.alerting.payloads import alertmanager_alert, refreshed, slack_message, webhook_request
from flows.alerting.transport import Answer, HttpPoster

log = logging.getLogger("revguard.alerts")
ALERTMANAGER_BATCH = 100  # alerts per POST /api/v2/alerts


@dataclass(frozen=True)
class Task:
    alert: Alert
    key: str  # idempotency key of (alert event, receiver)
    finished: Callable[[], None]  # tells the positions this delivery is settled
    on_kafka_s: float  # the message's Kafka timestamp, epoch seconds


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ReceiverWorker:
    def __init__(self, receiver: Receiver, config: DeliveryConfig, ledger: LedgerWriter, metrics: DeliveryMetrics,
                 known: dict[str, KnownKey], stop: threading.Event, open_alerts: dict[str, str] | None = None) -> None:
        self.receiver = receiver
        self._config = config
        self._ledger = ledger
        self._metrics = metrics
        self._known = known  # shared by the workers: each writes only keys of its own receiver
        self._stop = stop
        self._queue: deque[Task] = deque()
        self._ready = threading.Condition()
        self._poster = HttpPoster(
            receiver.url + "/api/v2/alerts" if receiver.type == "alertmanager" else receiver.url, receiver.timeout_s,
        )
        self._last_post = 0.0
        # Alertmanager: alert_id -> the body last posted, for alerts open there (re-sent).
        self._open: dict[str, dict] = {k: json.loads(v) for k, v in (open_alerts or {}).items()}
        self._next_resend = time.monotonic() + receiver.resend_interval_s
        self._thread = threading.Thread(target=self._run, name=f"revguard-alerts-{receiver.name}", daemon=True)
        metrics.watch_queue(receiver.name, self.depth)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        with self._ready:
            self._ready.notify_all()
        self._thread.join(timeout)

    def submit(self, task: Task) -> None:
        with self._ready:
            self._queue.append(task)
            self._ready.notify()

    def depth(self) -> int:
        return len(self._queue)

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take()
            if batch:
                self._deliver(batch)
            self._resend_open()
        self._poster.close()

    def _take(self) -> list[Task]:
        limit = {"alertmanager": ALERTMANAGER_BATCH, "slack": self.receiver.max_alerts_per_post}.get(self.receiver.type, 1)
        with self._ready:
            if not self._queue:
                self._ready.wait(0.5)
            batch: list[Task] = []
            ids: set[str] = set()
            while self._queue and len(batch) < limit:
                task = self._queue[0]
                if task.alert.alert_id in ids:
                    break  # two events of one alert in one post: Alertmanager would have to order them
                self._queue.popleft()
                known = self._known.get(task.key)
                if known is not None and known.finished:
                    task.finished()  # a copy of an event already delivered (at-least-once upstream)
                    self._metrics.attempt(self.receiver.name, "skipped")
                    continue
                ids.add(task.alert.alert_id)
                batch.append(task)
            return batch

    def _deliver(self, batch: list[Task]) -> None:
        policy = self._config.retry
        first = time.monotonic()
        backoff = policy.initial_backoff_s
        while True:
            self._pace()
            now = _utcnow()
            body, headers, payloads = self._request(batch, now)
            answer = self._poster.post(body, headers)
            self._last_post = time.monotonic()
            if answer.ok:
                self._settle(batch, answer, "delivered", payloads)
                return
            waited = time.monotonic() - first
            if not answer.worth_retrying or waited + backoff / 2 > policy.give_up_after_s:
                log.warning("parked", extra={"receiver": self.receiver.name, "alerts": len(batch),
                                             "response_code": answer.code, "error": answer.error})
                self._settle(batch, answer, "parked", payloads)
                return
            self._ledger.record([self._attempt(t, answer, "failed", "") for t in batch])
            self._metrics.attempt(self.receiver.name, "failed", len(batch))
            if self._stop.wait(random.uniform(backoff / 2, backoff)):
                return  # stopping: these stay unfinished and are read again after the restart
            backoff = min(backoff * 2, policy.max_backoff_s)

    def _request(self, batch: list[Task], now: dt.datetime) -> tuple[bytes, dict[str, str], list[str]]:
        """(body, headers, what to keep per alert in the ledger)."""
        receiver, app_url = self.receiver, self._config.app_url
        if receiver.type == "alertmanager":
            alerts = [alertmanager_alert(t.alert, app_url, now, receiver.resend_interval_s) for t in batch]
            kept = [json.dumps(a, sort_keys=True) if t.alert.lifetime else "" for t, a in zip(batch, alerts)]
            return json.dumps(alerts).encode(), {}, kept
        if receiver.type == "webhook":
            (task,) = batch
            body, headers = webhook_request(task.alert, app_url, task.key, receiver.secret or "", now)
            return body, headers, [""]
        return json.dumps(slack_message([t.alert for t in batch], app_url)).encode(), {}, [""] * len(batch)

    def _attempt(self, task: Task, answer: Answer, status: str, payload: str) -> Attempt:
        known = self._known.get(task.key)
        number = (known.last_attempt if known else 0) + 1
        self._known[task.key] = KnownKey(number, status != "failed")
        alert = task.alert
        return Attempt(alert.alert_id, alert.event, alert.kind, self.receiver.name, number, status, answer.code,
                       answer.error, task.key, alert.source, payload, _utcnow())

    def _settle(self, batch: list[Task], answer: Answer, status: str, payloads: list[str]) -> None:
        attempts = [self._attempt(t, answer, status, p) for t, p in zip(batch, payloads)]
        acknowledged = time.time()
        name = self.receiver.name

        def durable() -> None:
            for task in batch:
                if status == "delivered":
                    self._metrics.acknowledged(name, acknowledged - task.on_kafka_s)
                task.finished()

        self._ledger.record(attempts, durable)
        self._metrics.attempt(name, status, len(batch))
        if self.receiver.type == "alertmanager" and status == "delivered":
            for task, payload in zip(batch, payloads):
                if task.alert.event == "resolved":
                    self._open.pop(task.alert.alert_id, None)
                elif payload:
                    self._open[task.alert.alert_id] = json.loads(payload)

    def _pace(self) -> None:
        """Slack-compatible hooks: at most `max_posts_per_s` posts a second."""
        if self.receiver.type != "slack":
            return
        wait = self._last_post + 1.0 / self.receiver.max_posts_per_s - time.monotonic()
        if wait > 0:
            self._stop.wait(wait)

    def _resend_open(self) -> None:
        """Alertmanager's client contract: an open alert is posted again while it stays open,
        each time with `endsAt` moved ahead, or Alertmanager resolves it by itself."""
        if self.receiver.type != "alertmanager" or time.monotonic() < self._next_resend:
            return
        self._next_resend = time.monotonic() + self.receiver.resend_interval_s
        bodies = list(self._open.values())
        now = _utcnow()
        for start in range(0, len(bodies), ALERTMANAGER_BATCH):
            chunk = [refreshed(b, now, self.receiver.resend_interval_s) for b in bodies[start:start + ALERTMANAGER_BATCH]]
            answer = self._poster.post(json.dumps(chunk).encode(), {})
            self._metrics.resent(self.receiver.name, "delivered" if answer.ok else "failed", len(chunk))
            if not answer.ok:
                log.warning("re-send failed", extra={"receiver": self.receiver.name, "response_code": answer.code,
                                                     "error": answer.error})
                return  # the next interval tries again; the alerts stay open at Alertmanager meanwhile

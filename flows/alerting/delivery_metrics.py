"""What `revguard run alerts` tells operations, on `/metrics` and in its JSON progress lines.

    revguard_alert_messages_total{outcome}               read from Kafka: routed | unrouted | rejected
    revguard_alert_deliveries_total{receiver,status}      attempts: delivered | failed | parked | skipped
    revguard_alert_delivery_seconds{receiver}             Kafka timestamp of the alert to the receiver's acknowledgement
    revguard_alert_queue_depth{receiver}                  deliveries waiting for a receiver
    revguard_alert_resends_total{receiver,status}         open alerts posted again to Alertmanager
    revguard_alert_pending_offsets                        offsets read and not finished (the position waits for them)
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter as PromCounter, Gauge, Histogram, start_http_server

log = logging.getLogger("revguard.alerts")
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


class DeliveryMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._messages = PromCounter("revguard_alert_messages", "Alert messages read from Kafka", ["outcome"], registry=self.registry)
        self._deliveries = PromCounter("revguard_alert_deliveries", "Delivery attempts by receiver and status",
                                       ["receiver", "status"], registry=self.registry)
        self._latency = Histogram("revguard_alert_delivery_seconds", "Alert on Kafka to acknowledged by the receiver",
                                  ["receiver"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self._depth = Gauge("revguard_alert_queue_depth", "Deliveries waiting for a receiver", ["receiver"], registry=self.registry)
        self._resends = PromCounter("revguard_alert_resends", "Open alerts posted again to Alertmanager",
                                    ["receiver", "status"], registry=self.registry)
        self._pending = Gauge("revguard_alert_pending_offsets", "Offsets read and not yet finished", registry=self.registry)
        self._lock = threading.Lock()
        self._totals: Counter[str] = Counter()

    def message(self, outcome: str) -> None:
        self._messages.labels(outcome).inc()
        with self._lock:
            self._totals[f"messages_{outcome}"] += 1

    def attempt(self, receiver: str, status: str, count: int = 1) -> None:
        self._deliveries.labels(receiver, status).inc(count)
        with self._lock:
            self._totals[status] += count

    def acknowledged(self, receiver: str, seconds: float) -> None:
        self._latency.labels(receiver).observe(max(seconds, 0.0))

    def resent(self, receiver: str, status: str, count: int) -> None:
        self._resends.labels(receiver, status).inc(count)

    def watch_queue(self, receiver: str, depth: Callable[[], int]) -> None:
        self._depth.labels(receiver).set_function(depth)

    def watch_pending(self, pending: Callable[[], int]) -> None:
        self._pending.set_function(pending)

    def totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self._totals)

    def serve(self, port: int) -> None:
        start_http_server(port, addr="127.0.0.1", registry=self.registry)


class ProgressLine:
    """A `progress` JSON line every `interval_s` from a daemon thread, and one at the end."""

    def __init__(self, metrics: DeliveryMetrics, pending: Callable[[], int], interval_s: float = 10.0) -> None:
        self._metrics, self._pending, self._interval_s = metrics, pending, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revguard-alert-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            log.info("progress", extra={**self._metrics.totals(), "pending_offsets": self._pending()})

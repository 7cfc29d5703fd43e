"""What a running flow tells operations: counters, consumer lag, throughput, as logs and /metrics.

`FlowMetrics` is the one place a flow's steps report to (thread-safe; worker threads
share it). It is exposed two ways:

- Prometheus text on `http://127.0.0.1:PORT/metrics` when a port is given
  (`revguard run rating --metrics-port 9108`):
      revguard_records_in_total{stream}            input records polled from Kafka
      revguard_records_out_total{status}           usage records: rated | duplicate | rejected (by
                                                   rating, or unparseable); once caught up their
                                                   sum is records_in_total{stream="network"}
      revguard_dead_letters_total{stream}          unparseable input records (bad_json, ...), any stream
      revguard_alerts_total                        balance alerts raised
      revguard_consumer_lag{partition}             high watermark minus next offset to read
      revguard_consumer_lag_total                  the sum over this process's partitions
  Throughput is `rate(revguard_records_in_total[1m])`.
- One JSON log line every `interval_s` on stderr (`event: progress`) with the same
  totals, records/s since the previous line and the total lag.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import Counter
from typing import Iterator

import pyarrow.compute as pc
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from flows.kafka.line_source import PartitionProgress
from flows.rating_flow import RatedPiece


class FlowMetrics(Collector):
    """Counters and lag of one flow process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records_in: Counter[str] = Counter()
        self.records_out: Counter[str] = Counter()
        self.dead_letters: Counter[str] = Counter()
        self.alerts = 0
        self.lag: dict[str, int] = {}

    def polled(self, progress: PartitionProgress) -> None:
        with self._lock:
            first = progress.records > 0 and not any(self.records_in.values())
            self.records_in[progress.stream] += progress.records
            if progress.high_watermark >= 0:
                self.lag[progress.origin] = max(progress.high_watermark - progress.next_offset, 0)
        if first:
            # When data starts flowing, after start-up (imports, dataflow, broker connections).
            logging.getLogger("revguard.flow").info("first records", extra={"origin": progress.origin})

    def rated(self, piece: RatedPiece) -> None:
        statuses = pc.value_counts(piece.rated["status"]).to_pylist() if piece.rated.num_rows else []
        with self._lock:
            for entry in statuses:
                self.records_out[entry["values"]] += entry["counts"]
            for reject in piece.rejects:
                self.dead_letters[reject.stream] += 1
                if reject.stream == "network":
                    # A usage record that did not parse is rejected too, as `revguard rate`
                    # counts it: records_in{network} = rated + duplicate + rejected.
                    self.records_out["rejected"] += 1
            self.alerts += piece.alerts.num_rows

    def totals(self) -> dict:
        with self._lock:
            return {
                "records_in": dict(self.records_in),
                "records_out": dict(self.records_out),
                "dead_letters": dict(self.dead_letters),
                "alerts": self.alerts,
                "lag": sum(self.lag.values()),
            }

    def collect(self) -> Iterator:
        with self._lock:
            records_in = CounterMetricFamily("revguard_records_in", "Input records polled from Kafka", labels=["stream"])
            for stream, n in self.records_in.items():
                records_in.add_metric([stream], n)
            records_out = CounterMetricFamily("revguard_records_out", "Usage records by outcome", labels=["status"])
            for status, n in self.records_out.items():
                records_out.add_metric([status], n)
            dead = CounterMetricFamily("revguard_dead_letters", "Unparseable input records", labels=["stream"])
            for stream, n in self.dead_letters.items():
                dead.add_metric([stream], n)
            alerts = CounterMetricFamily("revguard_alerts", "Balance alerts raised")
            alerts.add_metric([], self.alerts)
            lag = GaugeMetricFamily("revguard_consumer_lag", "Records behind the high watermark", labels=["partition"])
            for origin, n in self.lag.items():
                lag.add_metric([origin], n)
            total = GaugeMetricFamily("revguard_consumer_lag_total", "Records behind, all partitions of this process")
            total.add_metric([], sum(self.lag.values()))
        yield from (records_in, records_out, dead, alerts, lag, total)


def serve_metrics(metrics: FlowMetrics, port: int) -> None:
    """Prometheus text on 127.0.0.1:port/metrics, from a daemon thread."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    registry.register(metrics)
    start_http_server(port, addr="127.0.0.1", registry=registry)


class JsonLines(logging.Formatter):
    """One JSON object per log record: time, level, logger, event, and any `extra` fields."""

    _PLAIN = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._PLAIN})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def structured_logging(level: int = logging.INFO) -> None:
    """revguard's loggers write JSON lines to stderr (once per process)."""
    root = logging.getLogger("revguard")
    if any(isinstance(h.formatter, JsonLines) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


class ProgressLog:
    """Logs `progress` lines from a daemon thread until stopped."""

    def __init__(self, metrics: FlowMetrics, interval_s: float = 10.0) -> None:
        self._metrics = metrics
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revguard-progress", daemon=True)
        self._log = logging.getLogger("revguard.flow")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._emit(time.monotonic(), None)

    def _run(self) -> None:
        last = time.monotonic(), 0
        while not self._stop.wait(self._interval_s):
            last = self._emit(*last)

    def _emit(self, since: float, records_before: int | None) -> tuple[float, int]:
        now = time.monotonic()
        totals = self._metrics.totals()
        records = sum(totals["records_in"].values())
        rate = None if records_before is None else round((records - records_before) / max(now - since, 1e-9), 1)
        self._log.info("progress", extra={**totals, "records_per_s": rate})
        return now, records

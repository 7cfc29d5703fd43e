"""The network alerts' part of the rating dataflow: rated pieces in, alerts to Kafka and the store.

    rated pieces ─> counts per batch ─> one keyed detector step ─┬─> Kafka: revguard.alerts (keyed by alert_id)
                                                                 └─> ClickHouse: alerts

The detector is one key ("network"): it needs every element's counts to know the clock, and
its input is a few counts per batch, not records. The store keeps one `alerts` row per event:
`alert_id` for the opening, `alert_id/resolved` for the resolution (the table has no status
column: SPEC's balance alerts happen once), `record_id` names the element and service, `time`
is when the alert's interval starts or ends. The Kafka message carries the whole evidence.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping

import bytewax.operators as op
import pyarrow as pa
from bytewax.dataflow import Stream
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from flows.clickhouse_sink import ALERT_COLUMNS, StoreRows
from flows.kafka.rated_sink import KafkaDeliveryError, SharedProducer, shared_producer
from flows.network_alerts import NetworkAlertDetector, NetworkAlertState, network_counts
from flows.network_baseline import NetworkBaseline, learned_baseline

ALERT_ROW_SCHEMA = pa.schema([
    ("alert_id", pa.string()), ("kind", pa.string()), ("msisdn", pa.string()), ("record_id", pa.string()),
    ("time", pa.timestamp("ms", tz="UTC")), ("balance", pa.string()), ("cycle_total", pa.string()),
    ("threshold", pa.string()),
])


EMPTY_REFRESH_S = 30.0
log = logging.getLogger("revguard.flow")


class BaselineSource:
    """The baseline learned from the store by a thread of its own, learned again every
    `refresh_s` (the stream's own records reach the store, so the baseline follows the
    network). The first is learned when the flow is built (`learn_now`); after that the
    dataflow never waits for the store."""

    def __init__(self, store_client: Callable, timezone: Callable[[], str], refresh_s: float = 3600.0) -> None:
        self._store_client, self._timezone, self._refresh_s = store_client, timezone, refresh_s
        self._baseline = NetworkBaseline()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def current(self) -> NetworkBaseline:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._learn, name="revguard-baseline", daemon=True)
                self._thread.start()
        return self._baseline

    def learn_now(self) -> NetworkBaseline:
        self._baseline = learned_baseline(self._store_client(), self._timezone())
        return self._baseline

    def _learn(self) -> None:
        while True:
            # An empty baseline (a store with less than a day of traffic) is asked again soon:
            # a stream started on an empty store learns once its own records make a day.
            time.sleep(self._refresh_s if self._baseline.hourly else min(self._refresh_s, EMPTY_REFRESH_S))
            try:
                self.learn_now()
            except Exception as exc:  # noqa: BLE001 - the store may be away for a while; keep the last baseline
                log.warning("network baseline not learned", extra={"error": str(exc)})


def alert_rows(messages: list[dict]) -> StoreRows:
    """The `alerts` rows of some network alert messages (one row per event)."""
    from flows.network_alerts import _parse_iso

    rows = {
        "alert_id": [m["alert_id"] + ("/resolved" if m["status"] == "resolved" else "") for m in messages],
        "kind": [m["kind"] for m in messages],
        "msisdn": [m.get("msisdn", "") for m in messages],
        "record_id": [m.get("element_id", "") + "/" + m.get("service", "") for m in messages],
        "time": [_parse_iso(m["ends_at"] if m["status"] == "resolved" else m["starts_at"]) for m in messages],
        "balance": [None] * len(messages), "cycle_total": [None] * len(messages), "threshold": [None] * len(messages),
    }
    return StoreRows("revguard.alerts", tuple(ALERT_COLUMNS), pa.table(rows, schema=ALERT_ROW_SCHEMA))


def network_alert_steps(rated: Stream, baseline: BaselineSource, producer_conf: Mapping[str, str] | None,
                        alerts_topic: str) -> Stream:
    """Adds the detector after `rated` (a keyed stream of RatedPiece); returns its `alerts` rows."""
    detector = NetworkAlertDetector(NetworkBaseline())

    def counted(piece):
        return network_counts(piece.rated, piece.origin)

    def detect(state: NetworkAlertState | None, counts) -> tuple[NetworkAlertState, list[list[dict]]]:
        state = state or NetworkAlertState()
        detector.baseline = baseline.current()
        messages = detector.update(state, counts)
        return state, [messages] if messages else []

    counts = op.filter_map("network_counts", op.key_rm("network_unkey", rated), counted)
    alerts = op.stateful_flat_map("network_alerts", op.key_on("network_key", counts, lambda _: "network"), detect)
    alerts = op.key_rm("network_alerts_unkey", alerts)
    if producer_conf is not None:
        op.output("network_alerts_kafka", op.key_on("network_alerts_part", alerts, lambda _: "0"),
                  AlertMessageSink(producer_conf, alerts_topic))
    return op.map("network_alert_rows", alerts, alert_rows)


class _AlertPartition(StatefulSinkPartition[list[dict], None]):
    def __init__(self, shared: SharedProducer, topic: str, flush_timeout_s: float) -> None:
        self._shared, self._producer, self._topic, self._timeout = shared, shared.producer, topic, flush_timeout_s

    def write_batch(self, values: list[list[dict]]) -> None:
        for messages in values:
            for message in messages:
                key = message["alert_id"].encode()
                while True:
                    try:
                        self._producer.produce(self._topic, json.dumps(message).encode(), key)
                        break
                    except BufferError:
                        self._producer.poll(0.05)

    def snapshot(self) -> None:
        self._flush()

    def close(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if self._producer.flush(self._timeout):
            raise KafkaDeliveryError(f"network alerts not acknowledged within {self._timeout:g} s")
        if self._shared.failures:
            first = self._shared.failures[0]
            self._shared.failures.clear()
            raise KafkaDeliveryError(f"network alert messages failed: {first}")


class AlertMessageSink(FixedPartitionedSink[list[dict], None]):
    """Network alert messages to `revguard.alerts`, keyed by alert_id (an alert's events keep
    their order); flushed at every snapshot, so an epoch never commits past an unsent alert."""

    def __init__(self, conf: Mapping[str, str], topic: str, flush_timeout_s: float = 60.0) -> None:
        self._conf, self._topic, self._timeout = dict(conf), topic, flush_timeout_s

    def list_parts(self) -> list[str]:
        return ["0"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _AlertPartition:
        return _AlertPartition(shared_producer(self._conf), self._topic, self._timeout)

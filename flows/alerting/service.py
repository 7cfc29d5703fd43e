"""`revguard run alerts`: reads `revguard.alerts` and delivers each alert to its receivers.

    revguard.alerts ─parse─┬─ route by kind, severity ─> one worker per receiver ─> alert_deliveries
                           └─ malformed ─> revguard.rejects (reason)              └─> alert_offsets

Dead letters go to the rejects topic and the `rejects` table (stream `alerts`), like the
rating flow's. Where reading resumes is kept in ClickHouse (`alert_offsets`), not in a Kafka consumer
group, and the partitions are assigned, not subscribed: a group subscribe on the Tansu
broker has been seen to hand out nothing (LeaveGroupRequest time-outs), and the position
must follow the delivery records anyway. `alert_offsets` is written by the same thread,
right after the deliveries it covers are in `alert_deliveries`, so the position never gets
ahead of what is recorded as finished.

Never lost: a partition's position stops at the first alert some routed receiver has not
acknowledged (or parked). Never doubled: every (alert event, receiver) has an idempotency
key; a key with a finished row is not sent again, also after a restart. The one window
left is a crash between a receiver's answer and its row reaching the store: that delivery
is sent once more with the same key (webhooks dedup by `Idempotency-Key`; Alertmanager
merges by labels).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flows.alerting.alert import MalformedAlert, parsed_alert
from flows.alerting.config import DeliveryConfig, load_config
from flows.alerting.delivery_metrics import DeliveryMetrics, ProgressLine
from flows.alerting.ledger import LedgerWriter, known_keys, open_alerts, stored_offsets
from flows.alerting.positions import PartitionPositions
from flows.alerting.receivers import ReceiverWorker, Task
from flows.errors import InputError
from flows.kafka import topics as names

log = logging.getLogger("revguard.alerts")
CONSUMER = "revguard-alerts"
REMEMBER = dt.timedelta(days=7)  # how far back finished keys and open alerts are loaded at start


@dataclass(frozen=True)
class AlertOptions:
    alerts_topic: str = names.ALERTS
    rejects_topic: str = names.REJECTS
    consumer: str = CONSUMER  # several delivery services with their own positions (and configs)
    until_idle_s: float | None = None  # stop once caught up, every delivery settled, idle this long
    max_pending: int = 20_000  # offsets read but unfinished before reading pauses
    partitions: int = 8  # for topics that have to be created
    ledger_flush_s: float = 0.2
    extra_kafka: dict = field(default_factory=dict)


def run_alert_delivery(
    config: DeliveryConfig | Path,
    clickhouse_url: str | None,
    bootstrap: str,
    options: AlertOptions = AlertOptions(),
    *,
    metrics_port: int | None = None,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """Delivers until stopped (SIGTERM/SIGINT or `stop`) or idle; returns the totals."""
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
    from confluent_kafka import OFFSET_BEGINNING

    from flows.kafka.settings import kafka_settings
    from flows.kafka.topics import ensure_topics
    from flows.metrics import structured_logging

    structured_logging()
    config = config if isinstance(config, DeliveryConfig) else load_config(config)
    try:
        settings = kafka_settings(bootstrap=bootstrap)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    conf = {**settings.client_config(), **options.extra_kafka}
    try:
        ensure_topics(conf, options.partitions, [options.alerts_topic, options.rejects_topic], timeout_s=20)
    except KafkaException as exc:
        raise InputError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from None

    client = store_client(clickhouse_url)
    migrate(client)
    since = dt.datetime.now(dt.timezone.utc) - REMEMBER
    known = known_keys(client, since)
    still_open = open_alerts(client, since)
    stored = stored_offsets(client, options.consumer, options.alerts_topic)

    consumer = Consumer({**conf, "group.id": options.consumer, "enable.auto.commit": False,
                         "enable.auto.offset.store": False, "enable.partition.eof": True})
    metadata = consumer.list_topics(options.alerts_topic, timeout=20).topics[options.alerts_topic]
    partitions = sorted(metadata.partitions)
    positions = PartitionPositions({p: stored.get(p, 0) for p in partitions})
    consumer.assign([TopicPartition(options.alerts_topic, p, stored.get(p, OFFSET_BEGINNING)) for p in partitions])
    producer = Producer({**conf, "acks": "all", "enable.idempotence": True, "linger.ms": 5})

    stop = stop or threading.Event()
    workers_stop = threading.Event()
    metrics = DeliveryMetrics()
    metrics.watch_pending(positions.pending)
    ledger = LedgerWriter(client, options.consumer, options.alerts_topic, positions.committable, options.ledger_flush_s)
    workers = {
        r.name: ReceiverWorker(r, config, ledger, metrics, known, workers_stop, still_open.get(r.name))
        for r in config.receivers
    }
    if metrics_port is not None:
        metrics.serve(metrics_port)
    restore = _stop_on_signals(stop)
    progress = ProgressLine(metrics, positions.pending)
    ledger.start(stored)
    for worker in workers.values():
        worker.start()
    watcher_stop = threading.Event()
    watcher = None
    if config.findings is not None:  # new findings and anomalies join the topic (flows.alerting.findings)
        from flows.alerting.findings import FindingsWatcher

        watcher = FindingsWatcher(lambda: store_client(clickhouse_url), Producer({**conf, "acks": "all"}),
                                  options.alerts_topic, options.consumer, config.findings, watcher_stop)
        watcher.start()
    progress.start()
    log.info("started", extra={"topic": options.alerts_topic, "partitions": partitions, "receivers": list(workers),
                               "resume_offsets": stored, "open_alerts": sum(len(v) for v in still_open.values())})
    try:
        _consume(consumer, producer, config, options, positions, workers, known, metrics, ledger, stop)
    finally:
        watcher_stop.set()
        if watcher is not None:
            watcher.join(timeout=30)
        workers_stop.set()
        for worker in workers.values():
            worker.join(timeout=30)
        producer.flush(10)
        ledger.stop()
        consumer.close()
        progress.stop()
        restore()
    if ledger.error is not None:
        raise ledger.error
    if watcher is not None and watcher.error is not None:
        raise InputError(f"findings could not be handed to {options.alerts_topic}: {watcher.error}")
    totals = metrics.totals()
    log.info("stopped", extra={"by_signal": stop.is_set(), **totals, "pending_offsets": positions.pending()})
    return totals


def _consume(consumer, producer, config: DeliveryConfig, options: AlertOptions, positions: PartitionPositions,
             workers: dict[str, ReceiverWorker], known: dict, metrics: DeliveryMetrics, ledger: LedgerWriter,
             stop: threading.Event) -> None:
    from confluent_kafka import KafkaError

    at_end: set[int] = set()
    assigned = len(consumer.assignment())
    last_activity = time.monotonic()
    while not stop.is_set():
        if ledger.error is not None:
            return
        if positions.pending() >= options.max_pending:
            producer.poll(0.05)  # the receivers are behind: let them catch up before reading more
            continue
        messages = consumer.consume(500, 0.1)
        producer.poll(0)
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                    continue
                raise InputError(f"reading {options.alerts_topic}: {error}")
            at_end.discard(message.partition())
            last_activity = time.monotonic()
            _route(message, producer, config, options, positions, workers, known, metrics, ledger)
        if positions.pending() or any(w.depth() for w in workers.values()):
            last_activity = time.monotonic()
        idle = options.until_idle_s
        if idle is not None and len(at_end) >= assigned and time.monotonic() - last_activity >= idle:
            return


def _route(message, producer, config: DeliveryConfig, options: AlertOptions, positions: PartitionPositions,
           workers: dict[str, ReceiverWorker], known: dict, metrics: DeliveryMetrics, ledger: LedgerWriter) -> None:
    partition, offset = message.partition(), message.offset()
    source = f"{message.topic()}:{partition}:{offset}"
    _kind, stamp_ms = message.timestamp()
    on_kafka_s = stamp_ms / 1000 if stamp_ms and stamp_ms > 0 else time.time()
    try:
        alert = parsed_alert(message.value(), source)
    except MalformedAlert as exc:
        entry = positions.track(partition, offset, 2)  # on the rejects topic, and in the rejects table
        value = message.value() or b""
        dead = json.dumps({"stream": "alerts", "source": source, "record_id": "", "msisdn": "", "reason": exc.reason,
                           "raw": value.decode("utf-8", "replace"), "detail": str(exc)}, ensure_ascii=False).encode()

        def delivered(error, _message, entry=entry) -> None:
            if error is None:
                positions.done(entry)
            else:  # the position stays before it: read again, and dead-lettered again, after a restart
                log.error("dead letter not delivered", extra={"source": source, "error": str(error)})

        producer.produce(options.rejects_topic, dead, message.key(), on_delivery=delivered)
        ledger.reject(("alerts", source, "", "", exc.reason, value.decode("utf-8", "replace")), lambda: positions.done(entry))
        metrics.message("rejected")
        log.warning("malformed alert", extra={"source": source, "reason": exc.reason})
        return
    receivers = config.receivers_for(alert.kind, alert.severity)
    pending = []
    for receiver in receivers:
        key = alert.idempotency_key(receiver.name)
        previous = known.get(key)
        if previous is not None and previous.finished:
            metrics.attempt(receiver.name, "skipped")
            continue
        pending.append((receiver.name, key))
    entry = positions.track(partition, offset, len(pending))
    metrics.message("routed" if receivers else "unrouted")
    for name, key in pending:
        workers[name].submit(Task(alert, key, lambda entry=entry: positions.done(entry), on_kafka_s))


def _stop_on_signals(stop: threading.Event):
    """SIGTERM and SIGINT stop reading; deliveries in flight finish their attempt, the ledger
    and the positions are written, and the process exits. Returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def graceful(signum, _frame) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    previous = {s: signal.signal(s, graceful) for s in (signal.SIGTERM, signal.SIGINT)}
    return lambda: [signal.signal(s, h) for s, h in previous.items()]

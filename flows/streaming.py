"""`revguard run rating`: the streaming rating flow on Kafka, until stopped; resumes where it stopped.

    revguard.usage.network ──parse──┐
    revguard.balance.adjustments ─parse─┴─> split by shard ─> rate (keyed state) ─┬─> ClickHouse: rated_usage, network_usage,
    revguard.usage.billed ──parse──────────────────────────────────────────────┐ │   balances, alerts, rejects, adjustments
                                                                               └─┴─> billed_usage
                                                                                   Kafka: revguard.usage.rated, .rejects, .alerts
    rated ─> network alerts (flows.network_alert_steps): element_silent, traffic_drop, premium_surge ─> alerts, revguard.alerts

Same middle as `revguard rate` and `revguard load` (`flows.rating_flow`); what differs is
the source (one `LineBatch` per Kafka poll and partition), the order of adjustments
(arrival order: an adjustment applies to a subscriber's usage that reaches the rating step
after it), and the reference (read from ClickHouse, refreshed while running).

Exactly-once in effect: at the end of each epoch (`snapshot_interval_s`) Bytewax snapshots
each partition's next offset, every shard's `RatingState` touched in the epoch, and the
ClickHouse sink's rows not yet inserted (it inserts every `store_flush_s`, not every epoch;
see `flows.clickhouse_sink`); the Kafka sink has every message acknowledged first. Every
ClickHouse table is keyed by the record's `topic:partition:offset` or natural key, and
balances keep the latest write, so a kill -9 at any moment followed by a restart replays
from the last snapshot and ends in the same rows. Kafka outputs are at-least-once (see
`flows.kafka.rated_sink`).

Latency: Bytewax runs a stateful step on the current epoch's items as they arrive (not at
the epoch's close), so a record waits for its partition's next linger tick (`batch_linger_s`)
and for the batches ahead of it. What kept that wait long was work per batch and pauses: one
engine call per shard (one shard per worker now), a ClickHouse insert on the worker (now on
a thread of its own), full garbage collections of everything loaded at start (frozen now).
Each epoch still snapshots every shard touched in it, i.e. with traffic on every shard the
whole rating state: keep `snapshot_interval_s` at seconds, not fractions, with large states.

Recovery lives in `REVGUARD_HOME/recovery` (created on first run). Several processes
(`--process-id/--addresses`) share it, so they must run on one host or a shared volume.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import gc
import json
import logging
import signal
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import bytewax.operators as op
import pyarrow as pa
import pyarrow.compute as pc
from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import cluster_main, run_main

from flows.batches import LineBatch
from flows.clickhouse_sink import RatedClickHouseSink, StoreRows, source_column
from flows.errors import InputError
from flows.kafka import topics as names
from flows.kafka.line_source import KafkaLineSource
from flows.kafka.rated_sink import KafkaRatedSink, OutputTopics
from flows.kafka.settings import PRODUCER_DEFAULTS, KafkaSettings
from flows.metrics import FlowMetrics, ProgressLog, serve_metrics, structured_logging
from flows.network_alert_steps import BaselineSource, network_alert_steps
from flows.rated_ids import StoreRatedIds
from flows.rating_flow import (
    DEFAULT_SHARDS, ParsedUsage, RatedPiece, Reject, parsed_adjustment_batch, parsed_usage_batches, rated_by_shard,
)
from flows.reference_store import ReferenceMissing, ReferenceStore
from flows.routing import worker_keys

log = logging.getLogger("revguard.flow")

ADJUSTMENT_COLUMNS = ("adjustment_id", "msisdn", "amount", "time", "kind", "source")
BILLED_COLUMNS = (
    "bill_record_id", "record_id", "msisdn", "service", "start_time", "duration_s",
    "volume_bytes", "charge", "charge_exact", "charge_beyond_micro", "billed_at", "source",
)
RECOVERY_PARTITIONS = 4


@dataclass(frozen=True)
class StreamTopics:
    """The topics of SPEC section 1; `prefix` lets several environments share one cluster."""

    network: str = names.NETWORK_USAGE
    adjustments: str = names.BALANCE_ADJUSTMENTS
    billed: str = names.BILLED_USAGE
    rated: str = names.RATED_USAGE
    rejects: str = names.REJECTS
    alerts: str = names.ALERTS

    @classmethod
    def with_prefix(cls, prefix: str) -> "StreamTopics":
        base = cls()
        return cls(**{name: prefix + getattr(base, name) for name in base.__dataclass_fields__})

    def all(self) -> list[str]:
        return [self.network, self.adjustments, self.billed, self.rated, self.rejects, self.alerts]


@dataclass(frozen=True)
class StreamOptions:
    """How the flow runs; the defaults are for production (run until stopped)."""

    topics: StreamTopics = field(default_factory=StreamTopics)
    poll_records: int = 50_000  # most records in one batch from one partition
    batch_linger_s: float = 0.2  # longest a polled record waits for its batch to fill
    until_idle_s: float | None = None  # stop once caught up and idle this long (tests, benchmarks)
    snapshot_interval_s: float = 5.0
    # Most seconds rated rows wait for their ClickHouse insert. Each flush is an insert per
    # table and new parts to merge: at 20k records/s the flow took 0.84-0.89 cores flushing
    # every second (3 runs), 0.72-0.90 (mean 0.81, 8 runs) every 3 s, a small and noisy
    # saving; rows still reach the store within seconds.
    store_flush_s: float | None = 3.0
    reference_refresh_s: float = 10.0
    shards: int | None = None  # None: the recovery directory's, or one per worker of the cluster
    shard_keys: tuple[str, ...] | None = None  # the recovery directory's; None: the shard numbers
    kafka_output: bool = True
    partitions: int = 8  # for topics the flow has to create
    # Off by default until element_silent's precision is fit for an on-call rota (README, "For operations").
    network_alerts: bool = False  # element_silent, traffic_drop, premium_surge (flows.network_alerts)
    baseline_refresh_s: float = 3600.0


def rejects_only(origin: str, rejects: tuple[Reject, ...]) -> RatedPiece:
    """Dead letters of a stream that is not rated (billed records), shaped as a rated piece."""
    empty = pa.table({})
    return RatedPiece(0, 1, origin, empty, empty, empty, rejects)


def billed_outputs(batch: LineBatch) -> list[StoreRows | RatedPiece]:
    """Billed records for `billed_usage`, and their dead letters."""
    from rating.records import parse_billed_lines

    parsed = parse_billed_lines(batch.lines)
    rows = parsed.accepted
    position = pc.add(rows["position"], pa.scalar(batch.first_position, pa.int64()))
    rows = rows.append_column("source", source_column(batch.origin, position))
    out: list[StoreRows | RatedPiece] = [StoreRows("revguard.billed_usage", BILLED_COLUMNS, rows)]
    if parsed.rejects:
        rejects = tuple(Reject("billed", batch.origin, batch.first_position + p, reason, raw) for p, reason, raw in parsed.rejects)
        out.append(rejects_only(batch.origin, rejects))
    return out


def adjustment_rows(parsed: ParsedUsage) -> StoreRows:
    adjustments = parsed.adjustments
    rows = adjustments.append_column("source", source_column(parsed.origin, adjustments["position"]))
    return StoreRows("revguard.adjustments", ADJUSTMENT_COLUMNS, rows)


def rating_dataflow(
    settings: KafkaSettings,
    store_client,
    options: StreamOptions = StreamOptions(),
    *,
    reference: ReferenceStore | None = None,
    metrics: FlowMetrics | None = None,
    stop: threading.Event | None = None,
    workers_total: int = 1,
) -> Dataflow:
    """The streaming rating dataflow; `store_client` is a callable returning the ClickHouse client.
    `workers_total` (all processes' workers) sets how many Kafka output partitions share the work."""
    topics = options.topics
    reference = reference or ReferenceStore(store_client, options.reference_refresh_s)
    metrics = metrics or FlowMetrics()
    conf = settings.client_config()
    flow = Dataflow("revguard_rating")
    lines = op.input(
        "kafka_in", flow,
        KafkaLineSource(
            conf, {"network": topics.network, "adjustments": topics.adjustments, "billed": topics.billed},
            batch_size=options.poll_records, until_idle_s=options.until_idle_s, stop=stop, on_poll=metrics.polled,
            linger_s=options.batch_linger_s,
        ),
    )
    usage_or_not = op.branch("is_usage", lines, lambda b: b.stream == "network")
    adjustments_or_billed = op.branch("is_adjustment", usage_or_not.falses, lambda b: b.stream == "adjustments")
    usage = op.flat_map_batch("parse_usage", usage_or_not.trues, parsed_usage_batches)
    adjustments = op.map("parse_adjustments", adjustments_or_billed.trues, parsed_adjustment_batch)
    parsed = op.merge("arrival_order", usage, adjustments)
    shards = options.shards or workers_total
    rated = rated_by_shard(parsed, reference.current, shards, options.shard_keys, StoreRatedIds(store_client))
    rated = op.inspect("count", rated, lambda _step, item: metrics.rated(item[1]))
    billed = op.flat_map("parse_billed", adjustments_or_billed.falses, billed_outputs)
    billed_split = op.branch("billed_rows", billed, lambda v: isinstance(v, StoreRows))
    billed_rejects = op.key_on("billed_rejects_key", billed_split.falses, lambda _: "0")
    billed_rejects = op.inspect("count_billed", billed_rejects, lambda _step, item: metrics.rated(item[1]))
    pieces = op.merge("all_pieces", rated, billed_rejects)

    producer = {**PRODUCER_DEFAULTS, **conf}
    network = []
    if options.network_alerts:
        baseline = BaselineSource(store_client, lambda: reference.current().catalog.timezone, options.baseline_refresh_s)
        baseline.learn_now()
        network.append(network_alert_steps(rated, baseline, producer if options.kafka_output else None, topics.alerts))
    to_store = op.merge(
        "store_rows",
        op.key_rm("unkey_pieces", pieces),
        op.map("adjustment_rows", adjustments, adjustment_rows),
        billed_split.trues,
        *network,
    )
    op.output("clickhouse", op.key_on("to_store", to_store, lambda _: "store"), RatedClickHouseSink(store_client, flush_interval_s=options.store_flush_s))
    if options.kafka_output:
        op.output(
            "kafka_out", pieces,
            KafkaRatedSink(producer, OutputTopics(topics.rated, topics.rejects, topics.alerts), min(workers_total, shards),
                           shard_keys=options.shard_keys),
        )
    return flow


def recovery_config(directory: Path) -> RecoveryConfig:
    """Bytewax recovery in `directory`, initialised on first use (once, even with several processes)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory.parent / "recovery.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not any(directory.glob("part-*.sqlite3")):
            init_db_dir(directory, RECOVERY_PARTITIONS)
    return RecoveryConfig(str(directory))


LAYOUT_FILE = "layout.json"


def recovery_layout(directory: Path, asked: int | None, workers_total: int) -> tuple[int, tuple[str, ...]]:
    """(shard count, each shard's state key) of the state in `directory`: fixed by its first
    run, checked on every other.

    Rating state is keyed by shard (msisdn tail mod shards), so resuming with another count
    would look subscribers up in the wrong shard. By default a new directory gets one shard
    per worker of the cluster (one engine call per batch per worker: the call has a fixed
    cost); a restart with fewer or more workers keeps the directory's count. A new directory
    names its shards so that they land one per worker of the first run (`flows.routing`:
    shards named "0" and "1" both went to one worker of two); a directory made before keeps
    the plain numbers its state is stored under.
    """
    directory.mkdir(parents=True, exist_ok=True)
    layout = directory / LAYOUT_FILE
    with open(directory.parent / "recovery.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored, keys = None, None
        if layout.exists():
            saved = json.loads(layout.read_text())
            stored = int(saved["shards"])
            keys = tuple(saved.get("keys") or (str(s) for s in range(stored)))
        elif any(directory.glob("part-*.sqlite3")):
            stored = DEFAULT_SHARDS  # made before the count was recorded: those runs all used 8
            keys = tuple(str(s) for s in range(stored))
        if stored is not None and asked is not None and asked != stored:
            raise InputError(
                f"{directory} holds rating state in {stored} shards, not {asked}: "
                f"run with --shards {stored}, or use a new REVGUARD_HOME to start over"
            )
        shards = stored or asked or workers_total
        keys = keys or worker_keys(shards, workers_total, "shard")
        layout.write_text(json.dumps({"shards": shards, "keys": list(keys)}) + "\n")
        return shards, keys


def run_rating_flow(
    clickhouse_url: str | None,
    bootstrap: str,
    workers: int = 1,
    *,
    options: StreamOptions = StreamOptions(),
    process_id: int | None = None,
    addresses: list[str] | None = None,
    recovery_dir: Path | None = None,
    metrics_port: int | None = None,
    settings: KafkaSettings | None = None,
    stop: threading.Event | None = None,
) -> dict:
    """Runs the streaming rating flow until stopped (SIGTERM/SIGINT, or `stop` set: graceful) or idle;
    returns totals. `stop` lets a host that embeds the flow in a thread end it as a signal would."""
    from clickhouse.client import revguard_home, store_client
    from clickhouse.migrations import migrate
    from confluent_kafka import KafkaException

    from flows.kafka.settings import kafka_settings
    from flows.kafka.topics import ensure_topics

    structured_logging()
    try:
        settings = settings or kafka_settings(bootstrap=bootstrap)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    recovery_dir = recovery_dir or revguard_home() / "recovery"
    workers_total = workers * max(len(addresses or []), 1)
    shards, keys = recovery_layout(recovery_dir, options.shards, workers_total)
    options = replace(options, shards=shards, shard_keys=keys)
    client = store_client(clickhouse_url)
    if process_id in (None, 0):
        migrate(client)
    reference = ReferenceStore(lambda: store_client(clickhouse_url), options.reference_refresh_s)
    try:
        reference.current()
    except ReferenceMissing as exc:
        raise InputError(str(exc)) from None
    with contextlib.closing(reference):  # its refresh thread ends with the flow, or if it cannot start
        try:
            ensure_topics(settings.client_config(), options.partitions, options.topics.all(), timeout_s=20)
        except KafkaException as exc:
            raise InputError(f"cannot reach Kafka at {settings.bootstrap}: {exc}") from None
        recovery = recovery_config(recovery_dir)

        metrics = FlowMetrics()
        if metrics_port is not None:
            serve_metrics(metrics, metrics_port)
        stop = stop or threading.Event()
        restore = _stop_on_signals(stop)
        progress = ProgressLog(metrics)
        progress.start()
        flow = rating_dataflow(
            settings, lambda: store_client(clickhouse_url), options, reference=reference, metrics=metrics, stop=stop,
            workers_total=workers_total,
        )
        log.info("started", extra={"workers": workers, "process_id": process_id, "shards": options.shards,
                                   "until_idle_s": options.until_idle_s})
        epoch = dt.timedelta(seconds=options.snapshot_interval_s)
        quiet_garbage_collector()
        try:
            if workers == 1 and not addresses:
                run_main(flow, epoch_interval=epoch, recovery_config=recovery)
            else:
                cluster_main(
                    flow, addresses or [], process_id or 0, epoch_interval=epoch, recovery_config=recovery,
                    worker_count_per_proc=workers,
                )
        finally:
            progress.stop()
            restore()
    totals = metrics.totals()
    log.info("stopped", extra={"by_signal": stop.is_set(), **totals})
    return totals


def quiet_garbage_collector() -> None:
    """Keeps Python's cycle collector from pausing the stream.

    Measured at 20k records/s: ten full collections in 20 s, up to 350 ms each, walking
    every object of the modules and the reference data loaded at start. Those are frozen
    (never collected again), and young collections run every 50,000 allocations instead of
    700: a batch allocates messages by the thousand, and nearly all of them die young.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _stop_on_signals(stop: threading.Event):
    """SIGTERM and SIGINT end the sources at their next poll: the last epoch closes, its
    snapshot commits after the sinks flush, and the flow exits cleanly. Returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def graceful(signum, _frame):
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    previous = {s: signal.signal(s, graceful) for s in (signal.SIGTERM, signal.SIGINT)}
    return lambda: [signal.signal(s, h) for s, h in previous.items()]

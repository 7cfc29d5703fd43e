"""Rated pieces into ClickHouse: rated_usage, network_usage, balances, alerts, rejects.

Durability is decoupled from the flow's epochs, so epochs can be short (latency) without
an insert into every table each epoch. Rows are buffered per table and flushed every
`flush_interval_s`, when a table's buffer is large, and on close. In between, the
partition's recovery snapshot is the rows it holds that are not durable yet: a snapshot
never commits past data it could not replay, because the resumed partition adds those rows
back and flushes them. A failed flush raises, so nothing commits past it. Rows written
before a crash and written again after it replace themselves: every table is keyed
(ReplacingMergeTree on the natural key plus `source`, the record's input position).

Inserts run on a background thread, so the worker rates the next batch meanwhile: an insert
into the embedded store holds the worker 150-300 ms (measured at 5k records/s), which was
the largest part of the stream's tail latency. Rows stay "not durable" (in the snapshot)
until their insert has returned; at most two flushes are in flight, then the worker waits.
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition
from clickhouse_connect.driver import Client

from clickhouse.writer import TableWriter
from flows import holds
from flows.rating_flow import RatedPiece, Reject, engine_rejects

NETWORK_COLUMNS = [
    "record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes",
    "destination", "roaming_mccmnc", "element_id", "cell_id",
]
RATED_COLUMNS = NETWORK_COLUMNS + [
    "plan_id", "payment", "dest_class", "roaming_zone", "offpeak", "billable_units",
    "allowance_units", "charged_units", "charge", "tax", "total", "unfunded", "balance_after",
    "cycle_start", "status", "reason", "source",
]
BALANCE_COLUMNS = ["msisdn", "payment", "balance", "blocked", "cycle_start", "cycle_total", "updated_at", "version"]
ALERT_COLUMNS = ["alert_id", "kind", "msisdn", "record_id", "time", "balance", "cycle_total", "threshold"]
REJECT_COLUMNS = ["stream", "source", "record_id", "msisdn", "reason", "raw"]
_NEVER = 2**62  # a TableWriter batch size that is never reached: RatedWriters decides when to flush


@dataclass(frozen=True)
class StoreRows:
    """Rows for a table outside the rating output (adjustments, billed records), keyed by `source`."""

    table: str
    columns: tuple[str, ...]
    rows: pa.Table


def with_type_defaults(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Nulls become the column type's empty value where the store's column is not Nullable.

    The engine leaves units and money null on duplicate and rejected rows, and `reason`
    null on rated ones; ClickHouse keeps "" and 0 there, which is what analysts query.
    """
    columns = []
    for field in schema:
        column = table[field.name]
        if not field.nullable and column.null_count:
            column = pc.fill_null(column, empty_value(column.type))
        columns.append(column)
    return pa.table(columns, names=schema.names)


def empty_value(arrow_type: pa.DataType) -> pa.Scalar:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pa.scalar("", arrow_type)
    if pa.types.is_boolean(arrow_type):
        return pa.scalar(False)
    if pa.types.is_decimal(arrow_type):
        return pa.scalar(Decimal(0), arrow_type)
    return pa.scalar(0, arrow_type)


def source_column(origin: str, positions: pa.ChunkedArray | pa.Array) -> pa.Array:
    """`origin:position`: where each row came from, the part of its key that makes replays idempotent."""
    return pc.binary_join_element_wise(pa.scalar(origin), pc.cast(positions, pa.string()), ":")


def rejects_table(rejects: list[Reject]) -> pa.Table:
    return pa.table(
        {
            "stream": [r.stream for r in rejects],
            "source": [f"{r.origin}:{r.position}" for r in rejects],
            "record_id": [r.record_id for r in rejects],
            "msisdn": [r.msisdn for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw.decode("utf-8", "replace") for r in rejects],
        }
    )


class RatedWriters:
    """One TableWriter per table a rating flow fills, and the row shaping each needs."""

    # A table's buffer is handed to the insert thread at `batch_rows`: catching up a million
    # records, 100,000 rows a flush rated 75k records/s against 57k at 50,000 (fewer inserts
    # and fewer parts for the store to merge), for ~250 MB more peak memory.
    def __init__(self, client: Client, batch_rows: int = 100_000, in_flight: int = 2) -> None:
        # The writers never flush by themselves: this class decides when, and inserts elsewhere.
        self.rated = TableWriter(client, "revguard.rated_usage", RATED_COLUMNS, _NEVER)
        self.network = TableWriter(client, "revguard.network_usage", NETWORK_COLUMNS + ["source"], _NEVER)
        self.balances = TableWriter(client, "revguard.balances", BALANCE_COLUMNS, _NEVER)
        self.alerts = TableWriter(client, "revguard.alerts", ALERT_COLUMNS, _NEVER)
        self.rejects = TableWriter(client, "revguard.rejects", REJECT_COLUMNS, _NEVER)
        self.other: dict[str, TableWriter] = {}
        self._client = client
        self._batch_rows = batch_rows
        self._version = 0
        # What each writer holds that the store does not have yet, as it was added, and the
        # same rows compressed for a snapshot by a thread of their own as they arrive: packing
        # them all at the snapshot took the worker 0.1 s or more every epoch at 20 k records/s.
        self._pending: dict[str, list[pa.Table]] = {}
        self._packs: dict[str, list[Future]] = {}
        # Flushes handed to the insert thread, oldest first, with the rows each makes durable
        # and their packs.
        self._in_flight: list[tuple[Future, dict[str, list[pa.Table]], dict[str, list[Future]]]] = []
        self._max_in_flight = in_flight
        self._inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revguard-store")
        self._packer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revguard-pack")

    def _writers(self) -> list[TableWriter]:
        return [self.rated, self.network, self.balances, self.alerts, self.rejects, *self.other.values()]

    def _add(self, writer: TableWriter, rows: pa.Table) -> None:
        writer.add_batch(rows)
        if rows.num_rows:
            self._pending.setdefault(writer.table, []).append(rows)
            self._packs.setdefault(writer.table, []).append(self._packer.submit(_ipc_stream, rows))
        if writer.rows_buffered >= self._batch_rows:
            self.hand_off()

    def hand_off(self) -> None:
        """Start inserting everything buffered on the insert thread; returns at once unless
        `in_flight` flushes are still running (then it waits for the oldest)."""
        self.reap()
        blocks = [(w, block) for w in self._writers() if (block := w.take()) is not None]
        if not blocks:
            return
        while len(self._in_flight) >= self._max_in_flight:
            self._finish(self._in_flight[0])
        future = self._inserter.submit(_insert_all, blocks)
        self._in_flight.append((future, self._pending, self._packs))
        self._pending, self._packs = {}, {}

    def reap(self) -> None:
        """Forget finished flushes; a failed one raises here (WriteFailed), so no snapshot
        commits past rows that never reached the store."""
        while self._in_flight and self._in_flight[0][0].done():
            self._finish(self._in_flight[0])

    def _finish(self, flight: tuple[Future, dict[str, list[pa.Table]], Future]) -> None:
        flight[0].result()
        self._in_flight.remove(flight)

    def pending(self) -> dict[str, list[pa.Table]]:
        """Rows added but not durable yet, per table (Arrow tables are immutable: no copy needed):
        those of flushes still in flight, then those still buffered."""
        self.reap()
        held: dict[str, list[pa.Table]] = {}
        for rows_by_table in [flight[1] for flight in self._in_flight] + [self._pending]:
            for table, rows in rows_by_table.items():
                held.setdefault(table, []).extend(rows)
        return held

    def pending_rows(self) -> "PendingRows":
        """`pending()` for a snapshot, as the packer compressed it (waiting only for the last
        few pieces it has not finished yet)."""
        self.reap()
        packs = [flight[2] for flight in self._in_flight] + [self._packs]
        return PendingRows({}, tuple({table: [f.result() for f in futures] for table, futures in p.items()}
                                     for p in packs))

    def restore(self, pending: dict[str, list[pa.Table]]) -> None:
        """Adds back the rows a recovery snapshot held; they are flushed with the next flush."""
        writers = {w.table: w for w in (self.rated, self.network, self.balances, self.alerts, self.rejects)}
        for table, tables in pending.items():
            writer = writers.get(table) or self._other(table, tables[0].column_names)
            for rows in tables:
                self._add(writer, rows)

    def _other(self, table: str, columns: list[str]) -> TableWriter:
        writer = self.other.get(table)
        if writer is None:
            writer = self.other[table] = TableWriter(self._client, table, list(columns), _NEVER)
        return writer

    def add_rows(self, rows: StoreRows) -> None:
        # Network alerts (issue 25) join the balance alerts' writer: one writer per table.
        writer = self.alerts if rows.table == self.alerts.table else self._other(rows.table, list(rows.columns))
        if rows.rows.num_rows:
            self._add(writer, with_type_defaults(rows.rows, writer.schema))

    def _next_version(self) -> int:
        # Balances keep the row with the highest version. Write order, not the engine's seq:
        # a replay after a crash rates again from the snapshot and must overwrite whatever the
        # crashed run wrote past it, whatever seq those rows had. Nanoseconds of wall time
        # grow across restarts; the counter keeps one process's pieces strictly increasing.
        self._version = max(time.time_ns(), self._version + 1)
        return self._version

    def add(self, piece: RatedPiece) -> None:
        rated = piece.rated
        if rated.num_rows:
            rated = rated.append_column("source", source_column(piece.origin, rated["position"]))
            self._add(self.rated, with_type_defaults(rated, self.rated.schema))
            # A duplicate is the same network record again: network_usage keeps one row per
            # record_id. Columns are selected before rows are: filtering the whole rated table
            # copied every column, the input lines included, when there was nothing to drop.
            network = rated.select(self.network.schema.names)
            duplicate = pc.equal(rated["status"], "duplicate")
            if pc.any(duplicate).as_py():
                network = network.filter(pc.invert(duplicate))
            self._add(self.network, with_type_defaults(network, self.network.schema))
        dead_letters = [*piece.rejects, *engine_rejects(piece)]
        if dead_letters:
            self._add(self.rejects, rejects_table(dead_letters))
        if piece.balances.num_rows:
            balances = piece.balances
            # Arrays of one repeated value built in numpy: a list of datetimes cost a
            # time-zone lookup per row (tens of thousands of rows per piece when catching up).
            now_ms = time.time_ns() // 1_000_000
            balances = balances.append_column(
                "updated_at", pa.array(np.full(balances.num_rows, now_ms, np.int64)).cast(pa.timestamp("ms", tz="UTC"))
            )
            balances = balances.append_column(
                "version", pa.array(np.full(balances.num_rows, self._next_version(), np.uint64))
            )
            self._add(self.balances, with_type_defaults(balances, self.balances.schema))
        if piece.alerts.num_rows:
            self._add(self.alerts, with_type_defaults(piece.alerts, self.alerts.schema))

    def flush(self) -> None:
        """Everything added is in the store when this returns (or it raises WriteFailed)."""
        self.hand_off()
        while self._in_flight:
            self._finish(self._in_flight[0])

    def close(self) -> None:
        self.flush()
        self._inserter.shutdown()
        self._packer.shutdown(wait=False, cancel_futures=True)

    def written(self) -> dict[str, int]:
        return {
            "rated_usage": self.rated.rows_written,
            "network_usage": self.network.rows_written,
            "balances": self.balances.rows_written,
            "alerts": self.alerts.rows_written,
            "rejects": self.rejects.rows_written,
            **{table.removeprefix("revguard."): w.rows_written for table, w in self.other.items()},
        }


def _insert_all(blocks: list[tuple[TableWriter, pa.Table]]) -> None:
    """Runs on the insert thread: one insert per table, in the order the tables were listed."""
    for number, (writer, block) in enumerate(blocks):
        if number == 1:
            holds.reach("mid-flush")  # a test kills here: one table of the flush written, the others not
        writer.insert(block)


@dataclass(frozen=True)
class PendingRows:
    """Rows the store does not have yet, per table: what the sink's snapshot carries.

    Pickled as zstd-compressed Arrow IPC. Catching up, a snapshot held about 300,000 rows:
    70-110 MB as plain pickles, which took the worker 0.3-0.5 s to pickle and about as long
    again for Bytewax to write to the recovery store, at every snapshot. Compressed they are
    a sixth of that size for the same pickling time.
    """

    tables: dict[str, list[pa.Table]]
    # Rows compressed already on a background thread, oldest first (the sink's snapshots
    # carry only these): compressing at the snapshot was the worker's longest wait.
    packed: tuple[dict[str, list[pa.Buffer]], ...] = ()

    def __reduce__(self):
        streams: dict[str, list[pa.Buffer]] = {}
        for packed in (*self.packed, packed_rows(self.tables)):
            for name, buffers in packed.items():
                streams.setdefault(name, []).extend(buffers)
        return _pending_rows, (streams,)


def packed_rows(tables: dict[str, list[pa.Table]]) -> dict[str, list[pa.Buffer]]:
    """Each table's rows as compressed Arrow IPC streams (tables with no rows left out)."""
    return {name: _ipc(rows) for name, rows in tables.items() if rows}


def _ipc(rows: list[pa.Table]) -> list[pa.Buffer]:
    """One compressed stream per run of tables with one schema (a writer's rows share its)."""
    runs: list[list[pa.Table]] = []
    for table in rows:
        if runs and runs[-1][0].schema.equals(table.schema):
            runs[-1].append(table)
        else:
            runs.append([table])
    streams = []
    for run in runs:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, run[0].schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as stream:
            for table in run:
                stream.write_table(table)
        streams.append(sink.getvalue())
    return streams


def _ipc_stream(rows: pa.Table) -> pa.Buffer:
    """One table's rows as a compressed stream (runs on the packer thread)."""
    return _ipc([rows])[0]


def _pending_rows(streams: dict[str, list[pa.Buffer]]) -> PendingRows:
    return PendingRows({name: [pa.ipc.open_stream(b).read_all() for b in buffers] for name, buffers in streams.items()})


class _Partition(StatefulSinkPartition["RatedPiece | StoreRows", PendingRows]):
    def __init__(
        self, writers: RatedWriters, on_close: Callable[[dict[str, int]], None] | None,
        flush_interval_s: float | None, resume: PendingRows | None,
    ) -> None:
        self.writers = writers
        self.on_close = on_close
        self.flush_interval_s = flush_interval_s
        if resume:
            # Snapshots taken before PendingRows held the plain dict.
            writers.restore(resume.tables if isinstance(resume, PendingRows) else resume)
        self.flushed_at = time.monotonic()

    def write_batch(self, values: "list[RatedPiece | StoreRows]") -> None:
        for value in values:
            if isinstance(value, StoreRows):
                self.writers.add_rows(value)
            else:
                self.writers.add(value)
        if self.flush_interval_s is not None and time.monotonic() - self.flushed_at >= self.flush_interval_s:
            self.writers.hand_off()
            self.flushed_at = time.monotonic()
        else:
            self.writers.reap()
        if holds.ACTIVE:  # a test kills here: rows in the store past the last committed snapshot
            rated = sum(v.rated.num_rows for v in values if isinstance(v, RatedPiece))
            holds.reach("rated-rows", rated, before=self.writers.flush)

    def snapshot(self) -> PendingRows:
        if self.flush_interval_s is None:
            # Durable at every epoch: the snapshot holds nothing.
            self.writers.flush()
        # The epoch is about to be committed: what the store does not have yet goes with it.
        return self.writers.pending_rows()

    def close(self) -> None:
        self.writers.close()
        if self.on_close:
            self.on_close(self.writers.written())


class RatedClickHouseSink(FixedPartitionedSink["RatedPiece | StoreRows", PendingRows]):
    """Writes rated pieces (and other keyed rows) to the store. One partition: one client.

    `flush_interval_s`: most seconds rows wait in the buffer before an insert; None flushes
    at every recovery snapshot instead (the snapshot then holds no rows).
    """

    def __init__(
        self, client: Callable[[], Client], on_close: Callable[[dict[str, int]], None] | None = None,
        flush_interval_s: float | None = None,
    ) -> None:
        self._client = client
        self._on_close = on_close
        self._flush_interval_s = flush_interval_s

    def list_parts(self) -> list[str]:
        return ["store"]

    def build_part(self, step_id: str, for_part: str, resume_state: PendingRows | None) -> _Partition:
        return _Partition(RatedWriters(self._client()), self._on_close, self._flush_interval_s, resume_state)

"""The rating dataflow: raw line batches in, rated batches out, one shape for files and Kafka.

    source ─> parse ─> split by shard ─> rate (keyed state) ─> sinks

Parsing and rating are columnar (`rating.records`, `rating.engine`). Subscriber state is
Bytewax keyed state, one `RatingState` per shard of msisdns, so `-w N` workers and several
processes split the subscribers between them and each subscriber's records stay in order.
Every output piece carries the batch it came from, so a sink that needs input order
(`revguard rate`) can restore it and a sink that does not (ClickHouse) writes at once.

A file has one reader, so its flow spreads the parsing: the workers parse the batches in
turn (`spread_over_workers`), each batch is split into one shard per worker, and each shard
(`FileRatingLogic`) rates its works in batch order and places the file's adjustments among
its own subscribers' records.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import bytewax.operators as op
import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from bytewax.dataflow import Dataflow, Stream
from bytewax.operators import KeyedStream
from bytewax.operators import StatefulBatchLogic
from bytewax.testing import cluster_main, run_main

from flows.batches import LineBatch
from flows.routing import worker_keys
from rating import kernels, records
from rating.engine import RatedBatch, Reference, msisdn_codes, rate_batch
from rating.records import NETWORK_SCHEMA, ParsedBatch, parse_adjustment_lines, parse_network_lines
from rating.reject_keys import readable_keys
from rating.state import RatingState

if TYPE_CHECKING:  # the store's client library is not loaded by `revguard rate`
    from flows.rated_ids import StoreRatedIds

DEFAULT_SHARDS = 8
# Room for adjustments between two usage rows: usage row i gets seq (i + 1) * _SEQ_STEP and an
# adjustment placed before it gets a seq just below, so the engine applies it first.
_SEQ_STEP = 1024


class _PickledCompact:
    """Pickles its Arrow tables as IPC streams, which hold only a slice's own rows.

    Pickling a sliced table ships its whole buffers (pyarrow 26), and batches travel as
    slices of a larger parse or rating result: between processes each would otherwise carry
    the whole result once per slice.
    """

    def __getstate__(self) -> dict:
        return {name: _IpcTable.of(value) if isinstance(value, pa.Table) else value
                for name, value in self.__dict__.items()}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value.table() if isinstance(value, _IpcTable) else value)


@dataclass(frozen=True)
class _IpcTable:
    data: bytes

    @classmethod
    def of(cls, table: pa.Table) -> "_IpcTable":
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return cls(sink.getvalue().to_pybytes())

    def table(self) -> pa.Table:
        return pa.ipc.open_stream(self.data).read_all()


@dataclass(frozen=True)
class Reject:
    """An input line the flow could not rate, kept with its reason (dead letter)."""

    stream: str
    origin: str
    position: int
    reason: str
    raw: bytes
    record_id: str = ""
    msisdn: str = ""

    def __post_init__(self) -> None:
        # Read from the raw text when the caller had no keys (a line that did not parse), so
        # every dead letter names its record whenever the line says which.
        if not self.record_id and not self.msisdn and self.raw:
            record_id, msisdn = readable_keys(self.raw)
            object.__setattr__(self, "record_id", record_id)
            object.__setattr__(self, "msisdn", msisdn)


@dataclass(frozen=True)
class ParsedUsage(_PickledCompact):
    """A parsed usage batch: accepted rows with their absolute `position`, and rejects."""

    batch_id: int
    origin: str
    usage: pa.Table
    rejects: tuple[Reject, ...]
    # Adjustments to apply before usage row `before_row` (int64 column) of `usage`.
    adjustments: pa.Table | None = None


@dataclass(frozen=True)
class ShardWork(_PickledCompact):
    """The part of one parsed batch that belongs to one shard of subscribers."""

    batch_id: int
    pieces: int
    origin: str
    usage: pa.Table
    adjustments: pa.Table | None
    rejects: tuple[Reject, ...] = ()
    shard: int = 0


@dataclass(frozen=True)
class RatedPiece(_PickledCompact):
    """What rating one `ShardWork` produced."""

    batch_id: int
    pieces: int
    origin: str
    rated: pa.Table  # rating.engine rated rows plus `position` and `raw` (the input line)
    alerts: pa.Table
    balances: pa.Table
    rejects: tuple[Reject, ...] = ()


def parsed_usage(batch: LineBatch) -> ParsedUsage:
    """Parse a network line batch; positions become absolute (line number or offset)."""
    parsed = parse_network_lines(batch.lines)
    usage = with_raw(parsed)
    position = pc.add(usage["position"], pa.scalar(batch.first_position, pa.int64()))
    usage = usage.set_column(usage.schema.get_field_index("position"), "position", position)
    rejects = tuple(
        Reject("network", batch.origin, batch.first_position + pos, reason, raw)
        for pos, reason, raw in parsed.rejects
    )
    return ParsedUsage(batch.batch_id, batch.origin, usage, rejects)


def with_raw(parsed: ParsedBatch) -> pa.Table:
    """Accepted rows with `raw`, the text of the line each came from, newline included.

    Outputs repeat the network record as it was received and append the rating fields: its
    text needs no encoding again, and an analyst sees exactly what the network sent. The
    newline stays because the column is a view of the text the JSON reader parsed.
    """
    accepted, raw = parsed.accepted, parsed.lines
    position = accepted["position"]
    if len(position) != len(raw) or not np.array_equal(position.to_numpy(), np.arange(len(raw))):
        raw = raw.take(position)
    return accepted.append_column("raw", raw)


def engine_rejects(piece: RatedPiece) -> tuple[Reject, ...]:
    """The piece's rows the engine rejected (unknown subscriber or plan), as dead letters
    with the line each came from (without its newline)."""
    rated = piece.rated
    rejected = pc.equal(rated["status"], "rejected") if rated.num_rows else None
    if rejected is None or not pc.any(rejected).as_py():
        return ()
    kept = [c for c in ("position", "reason", "record_id", "msisdn", "raw") if c in rated.column_names]
    rows = rated.select(kept).filter(rejected)  # columns first: the rows are few, the columns wide
    lines = pc.binary_slice(rows["raw"], 0, -1).to_pylist() if "raw" in kept else [b""] * rows.num_rows
    return tuple(
        Reject("network", piece.origin, position, reason or "", line, record_id, msisdn)
        for position, reason, record_id, msisdn, line in zip(
            rows["position"].to_pylist(), rows["reason"].to_pylist(),
            rows["record_id"].to_pylist(), rows["msisdn"].to_pylist(), lines,
        )
    )


def parsed_usage_batches(batches: list[LineBatch]) -> list[ParsedUsage]:
    """`parsed_usage` of each batch, from one parse of all their lines.

    A stream hands the flow one batch per Kafka partition per poll; a parse call costs a fixed
    few milliseconds (dozens of Arrow calls), so the batches that arrive together are parsed
    together and split back by batch (each keeps its origin and positions).
    """
    if len(batches) == 1:
        return [parsed_usage(batches[0])]
    starts = np.cumsum([0] + [len(b.lines) for b in batches])
    lines = [line for b in batches for line in b.lines]
    parsed = parse_network_lines(lines)
    usage = with_raw(parsed)
    joint = usage["position"].to_numpy(zero_copy_only=False)
    # Accepted rows come in position order, so each batch's rows are one slice (no copy).
    bounds = np.searchsorted(joint, starts)
    reject_which = np.searchsorted(starts, np.array([p for p, _, _ in parsed.rejects], np.int64), side="right") - 1
    out = []
    for k, batch in enumerate(batches):
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        mine = usage.slice(lo, hi - lo)
        position = pa.array(joint[lo:hi] - starts[k] + batch.first_position, pa.int64())
        mine = mine.set_column(mine.schema.get_field_index("position"), "position", position)
        rejects = tuple(
            Reject("network", batch.origin, batch.first_position + pos - starts[k], reason, raw)
            for (pos, reason, raw), owner in zip(parsed.rejects, reject_which) if owner == k
        )
        out.append(ParsedUsage(batch.batch_id, batch.origin, mine, rejects))
    return out


def parsed_adjustment_batch(batch: LineBatch) -> ParsedUsage:
    """A stream's adjustment batch as work for the rating step: no usage, every adjustment first.

    In a stream adjustments take effect in arrival order (SPEC 3.7 per subscriber): each
    one applies after the usage rated before it arrived and before the usage after it.
    """
    parsed = parse_adjustment_lines(batch.lines)
    adjustments = parsed.accepted
    position = pc.add(adjustments["position"], pa.scalar(batch.first_position, pa.int64()))
    adjustments = adjustments.set_column(adjustments.schema.get_field_index("position"), "position", position)
    adjustments = adjustments.append_column("before_row", pa.array(np.zeros(adjustments.num_rows, np.int64)))
    rejects = tuple(
        Reject("adjustments", batch.origin, batch.first_position + pos, reason, raw)
        for pos, reason, raw in parsed.rejects
    )
    return ParsedUsage(batch.batch_id, batch.origin, no_usage(), rejects, adjustments)


def no_usage() -> pa.Table:
    """A usage batch without rows, for work that carries only adjustments."""
    return (NETWORK_SCHEMA.empty_table().append_column("position", pa.array([], pa.int64()))
            .append_column("raw", pa.array([], pa.binary())))


def shard_numbers(msisdn: pa.ChunkedArray | pa.Array, shards: int) -> np.ndarray:
    """Stable shard of each msisdn: its last six digits modulo `shards`.

    Python's `hash` is salted per process; processes of one cluster must agree on the shard.
    """
    if len(msisdn) == 0:
        return np.zeros(0, dtype=np.int64)
    msisdn = kernels.single_chunk(msisdn)
    # One compiled pass: slicing the tails and casting them were two Arrow kernels and a copy.
    shard = kernels.tail_moduli(*kernels.bytes_and_offsets(msisdn), 6, shards)
    if msisdn.null_count or (shard < 0).any():
        raise ValueError("an msisdn that is not digits has no shard")
    return shard


def shard_works(parsed: ParsedUsage, shards: int, keys: Sequence[str] | None = None,
                every_shard: bool = False) -> list[tuple[str, ShardWork]]:
    """Split a parsed batch by shard, keyed `keys[shard]` (default: the shard's number).

    Shard 0 always gets a piece: it carries the rejects. With `every_shard`, so does every
    other shard, rows or not: a shard that rates batches in order then always knows the next.
    """
    usage_shard = shard_numbers(parsed.usage["msisdn"], shards)
    adj = parsed.adjustments
    adj_shard = shard_numbers(adj["msisdn"], shards) if adj is not None else np.zeros(0, np.int64)
    if every_shard:
        present = list(range(shards))
    else:
        present = sorted(set(np.unique(usage_shard).tolist()) | set(np.unique(adj_shard).tolist()) | {0})
    # One take puts the rows in shard order (input order within a shard); each shard's rows
    # are then a slice. A take per shard cost a kernel call per column per shard.
    by_shard = np.argsort(usage_shard, kind="stable")
    grouped = parsed.usage.take(by_shard)
    bounds = np.searchsorted(usage_shard[by_shard], np.array(present + [shards], dtype=np.int64))
    works = []
    for i, shard in enumerate(present):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        rows = by_shard[lo:hi]
        usage = grouped.slice(lo, hi - lo)
        adjustments = None
        if adj is not None:
            mine = adj.take(np.flatnonzero(adj_shard == shard))
            # `before_row` pointed into the whole batch; re-point it into this shard's rows.
            before = np.searchsorted(rows, mine["before_row"].to_numpy(zero_copy_only=False))
            adjustments = mine.set_column(
                mine.schema.get_field_index("before_row"), "before_row", pa.array(before, pa.int64())
            )
        rejects = parsed.rejects if shard == 0 else ()
        key = keys[shard] if keys is not None else str(shard)
        works.append(
            (key, ShardWork(parsed.batch_id, len(present), parsed.origin, usage, adjustments, rejects, shard))
        )
    return works


class RatingLogic(StatefulBatchLogic[ShardWork, RatedPiece, tuple[RatingState, int]]):
    """Rates the pieces of one shard in arrival order against that shard's state.

    Its snapshot is the engine state with the next free `seq`, so a resumed shard numbers
    its events exactly as the crashed run did.
    """

    def __init__(self, resume: tuple[RatingState, int] | None, reference: Callable[[], Reference],
                 rated_ids: StoreRatedIds | None = None, fresh: Callable[[], RatingState] = RatingState) -> None:
        self.state, self.seq_base = resume or (fresh(), 0)
        self.reference = reference
        self.rated_ids = rated_ids  # the store, asked about records older than the dedup horizon

    def on_batch(self, works: list[ShardWork]) -> tuple[Iterable[RatedPiece], bool]:
        # Works that arrived together are rated in one engine call: the call has a fixed
        # cost of milliseconds, so under load (many small polls queued) this keeps up.
        return self._rated(works), self.RETAIN

    def _sequenced(self, work: ShardWork) -> tuple[pa.Table, pa.Table | None]:
        """The work's usage and adjustments with engine `seq`s following the previous work's."""
        n = work.usage.num_rows
        base = self.seq_base
        usage = work.usage.append_column(
            "seq", pa.array(base + (np.arange(n, dtype=np.int64) + 1) * _SEQ_STEP, pa.int64())
        )
        adjustments = None
        if work.adjustments is not None and work.adjustments.num_rows:
            before = work.adjustments["before_row"].to_numpy(zero_copy_only=False).astype(np.int64)
            # Several adjustments before the same row keep their given (time) order.
            rank = np.arange(before.size) - np.searchsorted(before, before, side="left")
            seq = base + before * _SEQ_STEP + 1 + rank
            adjustments = work.adjustments.drop_columns(["before_row"]).append_column("seq", pa.array(seq, pa.int64()))
        self.seq_base = base + (n + 1) * _SEQ_STEP
        return usage, adjustments

    def _rated(self, works: list[ShardWork]) -> list[RatedPiece]:
        sequenced = [self._sequenced(work) for work in works]
        usage = pa.concat_tables([u for u, _ in sequenced]) if len(works) > 1 else sequenced[0][0]
        adjusting = [a for _, a in sequenced if a is not None]
        adjustments = pa.concat_tables(adjusting, promote_options="permissive") if adjusting else None
        rated_before, stored_until = self._store_answers(works, usage)
        result: RatedBatch = rate_batch(self.state, self.reference(), usage.drop_columns(["position", "raw"]), adjustments,
                                        rated_before, stored_until)
        rated = result.rated.drop_columns(["seq"]).append_column("position", usage["position"]).append_column("raw", usage["raw"])
        pieces, offset = [], 0
        for i, work in enumerate(works):
            n = work.usage.num_rows
            last = i == len(works) - 1
            # Alerts and balances belong to the whole call; the last piece carries them.
            alerts = result.alerts if last else result.alerts.slice(0, 0)
            balances = result.balances if last else result.balances.slice(0, 0)
            pieces.append(RatedPiece(work.batch_id, work.pieces, work.origin, rated.slice(offset, n), alerts, balances, work.rejects))
            offset += n
        return pieces

    def _store_answers(self, works: list[ShardWork], usage: pa.Table) -> tuple[
            Callable[[np.ndarray], np.ndarray] | None, np.ndarray | None]:
        """What the engine may ask the store (`flows.rated_ids`): whether late rows were rated
        elsewhere and, for a run that began with an empty state (files), the latest start
        the store already holds per row's msisdn."""
        if self.rated_ids is None or usage.num_rows == 0:
            return None, None
        rated_ids = self.rated_ids

        def rated_before(rows: np.ndarray) -> np.ndarray:
            bounds = np.cumsum([0] + [w.usage.num_rows for w in works])
            origin = [works[k].origin for k in np.searchsorted(bounds, rows, side="right") - 1]
            taken = usage.select(["msisdn", "record_id", "position"]).take(pa.array(rows, pa.int64()))
            sources = [f"{o}:{p}" for o, p in zip(origin, taken["position"].to_pylist())]
            return rated_ids.rated_elsewhere(taken["msisdn"].to_pylist(), taken["record_id"].to_pylist(), sources)

        stored_until = rated_ids.latest_rated_start(msisdn_codes(usage["msisdn"])) if self.state.keep_every_id else None
        return rated_before, stored_until

    def snapshot(self) -> tuple[RatingState, int]:
        # Pickling copies the arrays (RatingState.__getstate__), which is what Bytewax
        # does with a snapshot before the next batch can mutate it.
        return self.state, self.seq_base


class PendingAdjustments:
    """Files only: one shard's adjustments not yet applied, each placed before the first
    later-or-equal record of its msisdn.

    SPEC 5 (`revguard rate`): adjustments take effect in time order among the records,
    the adjustment first on a tie. Per subscriber, before each record (in input order) every
    pending adjustment with `time <= start_time` is applied; what is left at the end of the
    file is applied after the last record, so final balances include it.
    """

    def __init__(self, adjustments: pa.Table) -> None:
        order = pc.sort_indices(adjustments, [("msisdn", "ascending"), ("time", "ascending"), ("position", "ascending")])
        self.pending = adjustments.take(order)

    def placed(self, usage: pa.Table) -> pa.Table | None:
        """The pending adjustments due before rows of `usage` (the shard's next rows in input
        order), with `before_row`; they are pending no more."""
        if not self.pending.num_rows or not usage.num_rows:
            return None
        # Only an adjustment no later than the batch's latest record can be due.
        due = np.flatnonzero(pc.less_equal(self.pending["time"], pc.max(usage["start_time"])).to_numpy(zero_copy_only=False))
        if due.size == 0:
            return None
        candidates = self.pending.take(due)
        target = np.full(self.pending.num_rows, -1, dtype=np.int64)
        target[due] = placement_rows(usage["msisdn"], usage["start_time"], candidates["msisdn"], candidates["time"])
        taken = np.flatnonzero(target >= 0)
        if taken.size == 0:
            return None
        placed = self.pending.take(taken).append_column("before_row", pa.array(target[taken], pa.int64()))
        self.pending = self.pending.filter(pa.array(target < 0))
        return placed.take(pc.sort_indices(placed, [("before_row", "ascending"), ("time", "ascending"),
                                                    ("position", "ascending")]))

    def rest(self) -> pa.Table | None:
        """Everything still pending, in time order, for after the last record."""
        if not self.pending.num_rows:
            return None
        rest = self.pending.append_column("before_row", pa.array(np.zeros(self.pending.num_rows, np.int64)))
        self.pending = self.pending.slice(0, 0)
        return rest.take(pc.sort_indices(rest, [("time", "ascending"), ("position", "ascending")]))


def pending_by_shard(adjustments: pa.Table, shards: int) -> dict[int, PendingAdjustments]:
    """A file's adjustments split by the shard of their msisdn (the shard of its records)."""
    shard = shard_numbers(adjustments["msisdn"], shards)
    return {s: PendingAdjustments(adjustments.filter(pa.array(shard == s))) for s in range(shards)}


class FileRatingLogic(RatingLogic):
    """Files: one shard's works rated in batch order, each after the adjustments due before
    its rows (`PendingAdjustments`).

    Parsing is spread over the workers, so a shard's works can arrive out of batch order;
    every batch gives every shard a work (`shard_works(every_shard=True)`), so the next one
    to rate is always known. At the end of the input the adjustments left are applied in a
    work of their own, the batch after the last, which every shard sends (rows or not) so
    that the batch is complete for `InputOrder`. A file flow is never resumed, so the works
    waiting and the adjustments pending are not part of the snapshot.
    """

    def __init__(self, reference: Callable[[], Reference],
                 adjustments: Callable[[int], PendingAdjustments | None], rated_ids: StoreRatedIds | None = None) -> None:
        # A file's run keeps every id it rates: its own complete record of what was rated.
        super().__init__(None, reference, rated_ids, fresh=lambda: RatingState(keep_every_id=True))
        self.adjustments_of = adjustments
        self.pending: PendingAdjustments | None = None
        self.waiting: dict[int, ShardWork] = {}
        self.next_batch = 0
        self.last: ShardWork | None = None

    def on_batch(self, works: list[ShardWork]) -> tuple[Iterable[RatedPiece], bool]:
        for work in works:
            self.waiting[work.batch_id] = work
        ready = []
        while self.next_batch in self.waiting:
            ready.append(self._placed(self.waiting.pop(self.next_batch)))
            self.next_batch += 1
        return (self._rated(ready) if ready else []), self.RETAIN

    def on_eof(self) -> tuple[Iterable[RatedPiece], bool]:
        last = self.last
        if last is None:
            return [], self.DISCARD
        rest = self.pending.rest() if self.pending is not None else None
        return self._rated([ShardWork(self.next_batch, last.pieces, last.origin, no_usage(), rest, (), last.shard)]), \
            self.DISCARD

    def _placed(self, work: ShardWork) -> ShardWork:
        if self.last is None:
            self.pending = self.adjustments_of(work.shard)
        self.last = work
        placed = self.pending.placed(work.usage) if self.pending is not None else None
        return replace(work, adjustments=placed) if placed is not None else work


def placement_rows(usage_msisdn: pa.ChunkedArray, usage_start: pa.ChunkedArray,
                   adjustment_msisdn: pa.ChunkedArray, adjustment_time: pa.ChunkedArray) -> np.ndarray:
    """For each adjustment, the first usage row (input order) of its msisdn starting at or
    after the adjustment's time, or -1 when no row of this batch qualifies.

    One compiled pass over the rows in input order: each row takes its subscriber's waiting
    adjustments (in time order) that are due by its start. The rows' msisdns are matched to
    the adjustments' few distinct ones by one hash lookup each.
    """
    names = pc.unique(pa.chunked_array(adjustment_msisdn, pa.string()))
    usage_of = pc.fill_null(pc.index_in(usage_msisdn, value_set=names), -1).to_numpy(zero_copy_only=False)
    adjustment_of = pc.index_in(adjustment_msisdn, value_set=names).to_numpy(zero_copy_only=False).astype(np.int64)
    start = pc.cast(usage_start, pa.int64()).to_numpy(zero_copy_only=False)
    time = pc.cast(adjustment_time, pa.int64()).to_numpy(zero_copy_only=False)
    by_time = np.lexsort((time, adjustment_of))  # per msisdn in time order; ties keep their order
    return _first_rows_due(usage_of.astype(np.int64), start.astype(np.int64), adjustment_of[by_time],
                           time[by_time].astype(np.int64), by_time.astype(np.int64), len(names))


@numba.njit(cache=True, nogil=True)
def _first_rows_due(usage_of, start, adjustment_of, time, by_time, names):
    begin = np.zeros(names + 1, dtype=np.int64)  # each msisdn's adjustments: a run of the sorted ones
    for k in adjustment_of:
        begin[k + 1] += 1
    for k in range(names):
        begin[k + 1] += begin[k]
    target = np.full(adjustment_of.shape[0], -1, dtype=np.int64)
    waiting = begin[:names].copy()
    for row in range(usage_of.shape[0]):
        k = usage_of[row]
        if k < 0:
            continue
        p = waiting[k]
        while p < begin[k + 1] and time[p] <= start[row]:
            target[by_time[p]] = row
            p += 1
        waiting[k] = p
    return target


@dataclass
class _Reorder:
    next_batch: int = 0
    waiting: dict[int, list[RatedPiece]] = field(default_factory=dict)


class InputOrder(StatefulBatchLogic[RatedPiece, list[RatedPiece], _Reorder]):
    """Releases the pieces of each input batch together, in batch order (any piece with a
    `batch_id` and the count of `pieces` in its batch)."""

    def __init__(self, resume: _Reorder | None) -> None:
        self.state = resume or _Reorder()

    def on_batch(self, pieces: list[RatedPiece]) -> tuple[Iterable[list[RatedPiece]], bool]:
        out = []
        for piece in pieces:
            self.state.waiting.setdefault(piece.batch_id, []).append(piece)
        while True:
            ready = self.state.waiting.get(self.state.next_batch)
            if not ready or len(ready) < ready[0].pieces:
                break
            out.append(self.state.waiting.pop(self.state.next_batch))
            self.state.next_batch += 1
        return out, self.RETAIN

    def snapshot(self) -> _Reorder:
        return self.state


def parsed_adjustments(lines: Iterable[bytes], origin: str) -> tuple[pa.Table, tuple[Reject, ...]]:
    """All adjustments of a file, with their line numbers as `position`."""
    parsed = parse_adjustment_lines(list(lines))
    adjustments = parsed.accepted
    position = pc.add(adjustments["position"], pa.scalar(1, pa.int64()))
    adjustments = adjustments.set_column(adjustments.schema.get_field_index("position"), "position", position)
    rejects = tuple(Reject("adjustments", origin, pos + 1, reason, raw) for pos, reason, raw in parsed.rejects)
    return adjustments, rejects


def rated_stream(
    flow: Dataflow,
    batches: Stream[LineBatch],
    reference: Callable[[], Reference],
    adjustments: pa.Table | None = None,
    workers: int = 1,
    rated_ids: StoreRatedIds | None = None,
) -> Stream[RatedPiece]:
    """The middle of a file's rating flow: each batch parsed on one of the `workers` in turn,
    split into one shard per worker, and each shard rated in batch order on its own worker.
    With `rated_ids` (a flow into the store) records the store already rated are duplicates."""
    kernels.warm_up()  # compiled (or loaded) while the flow is built, not in the first batch
    records.warm_up()
    parsed = op.map("parse", spread_over_workers(batches, workers), parsed_usage)
    keys = worker_keys(workers, workers, "shard")
    works = op.flat_map("split_by_shard", parsed, lambda p: shard_works(p, workers, keys, every_shard=True))
    pending = pending_by_shard(adjustments, workers) if adjustments is not None else {}
    if pending:  # its loop compiled (or loaded) now, not in the first batch
        one, at = pa.chunked_array([pa.array(["1"])]), pa.chunked_array([pa.array([0], pa.timestamp("us", tz="UTC"))])
        placement_rows(one, at, one, at)
    rated = op.stateful_batch("rate", works, lambda _: FileRatingLogic(reference, pending.get, rated_ids))
    return op.key_rm("unkey_rated", rated)


class _Forward(StatefulBatchLogic[LineBatch, LineBatch, None]):
    """Hands its items on where its key lives: a way to choose the worker of the next step."""

    def on_batch(self, values: list[LineBatch]) -> tuple[Iterable[LineBatch], bool]:
        return values, self.DISCARD

    def snapshot(self) -> None:
        return None


def spread_over_workers(batches: Stream[LineBatch], workers: int) -> Stream[LineBatch]:
    """Batches handed to the workers in turn: a file has one reader, but needs every core to parse.

    Turns, not Bytewax's `redistribute`, which picks a worker at random for each of the
    file's few dozen batches. The last worker, which writes the output, takes its turn
    like the others since its writing moved to a thread of its own (`RatedNdjsonSink`):
    with half the turns it was slower (8 alternating rounds: median 1.75 s against 1.69 s).
    """
    if workers == 1:
        return batches
    turns = worker_keys(workers, workers, "parse")
    keyed = op.key_on("by_batch", batches, lambda b: turns[b.batch_id % len(turns)])
    return op.key_rm("unkey_spread", op.stateful_batch("spread", keyed, lambda _: _Forward()))


def rated_by_shard(
    parsed: Stream[ParsedUsage], reference: Callable[[], Reference], shards: int = DEFAULT_SHARDS,
    keys: Sequence[str] | None = None, rated_ids: StoreRatedIds | None = None,
) -> KeyedStream[RatedPiece]:
    """Split parsed batches by shard and rate each shard against its own keyed state
    (keyed `keys[shard]`, by default the shard's number); `rated_ids` answers for records
    older than the state's dedup horizon."""
    kernels.warm_up()  # compiled (or loaded) while the flow is built, not in the first batch
    records.warm_up()
    works = op.flat_map("split_by_shard", parsed, lambda p: shard_works(p, shards, keys))
    return op.stateful_batch("rate", works, lambda resume: RatingLogic(resume, reference, rated_ids))


def in_input_order(rated: Stream[RatedPiece], workers: int = 1) -> KeyedStream[list[RatedPiece]]:
    """Whole input batches in input order, all on one worker: the last one."""
    key = worker_keys(workers, workers, "out")[-1]
    keyed = op.key_on("one_output", rated, lambda _: key)
    return op.stateful_batch("input_order", keyed, InputOrder)


def epoch_for_files() -> dt.timedelta:
    """Files need no recovery: one long epoch spares per-epoch state snapshots."""
    return dt.timedelta(hours=24)


def run_file_flow(flow: Dataflow, workers: int = 1) -> None:
    """Runs a file flow to its end in this process, on `workers` worker threads."""
    if workers == 1:
        run_main(flow, epoch_interval=epoch_for_files())
    else:
        cluster_main(flow, [], 0, epoch_interval=epoch_for_files(), worker_count_per_proc=workers)

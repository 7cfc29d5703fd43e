"""Rated records as NDJSON lines, in input order (the output of `revguard rate`).

A rated line is the network record as it was received, its closing brace replaced by the
rating fields: `{...the input line's fields...,"plan_id":"SMART10",...,"cycle_start":"..."}`.
The input text is reused, not encoded again (it was half the cost of encoding a line).
Money stays exact on the way out: decimal columns are written as decimal strings
("0.120000"), never through a float. Timestamps are RFC 3339 in UTC with `Z`.
"""
from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from flows import json_kernel
from flows.rating_flow import RatedPiece, Reject
from rating.kernels import bytes_and_offsets, read_only, single_chunk
from rating.records import NETWORK_SCHEMA

# Fields of the network record: a rated line carries them in the input's own text.
_INPUT_FIELDS = frozenset(NETWORK_SCHEMA.names)


_CONTROL = r"[\x00-\x1f]"
_INT64_MIN = -(2**63)


def json_texts(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The JSON text of every value of a column, computed column-wise in Arrow.

    Encoding row by row in Python (or through pandas) costs more than rating itself;
    Arrow's string kernels do it at C speed. Decimals become decimal strings, exactly.
    """
    column = single_chunk(column)
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # One string type for the kernels below: a join of 64-bit-offset text with the
        # quotes' 32-bit literals has no kernel. A batch's text is far below 2 GiB.
        text = _few_values_quoted(column.cast(pa.string()))
    elif pa.types.is_boolean(kind):
        text = pc.if_else(column, "true", "false")
    elif pa.types.is_integer(kind):
        text = pc.cast(column, pa.string())
    elif pa.types.is_decimal(kind):
        text = _quoted(pc.cast(column, pa.string()))
    elif pa.types.is_timestamp(kind):
        text = _rfc3339_quoted(column)
    elif pa.types.is_binary(kind):
        text = _quoted(pc.cast(column, pa.string()))
    else:
        raise TypeError(f"no JSON form for {kind}")
    return pc.fill_null(text, "null")


def _few_values_quoted(strings: pa.Array) -> pa.Array:
    """Quoted strings; a column of few distinct values (service, status, plan) is quoted once
    per distinct value and spread with `take`."""
    if len(strings) < 64:
        return _quoted(strings)
    encoded = pc.dictionary_encode(strings)
    if len(encoded.dictionary) * 8 > len(strings):
        return _quoted(strings)
    return _quoted(encoded.dictionary).take(encoded.indices)


_DAY_US = 86_400_000_000
# "HH:MM:SS" for every second of a day, built once: formatting becomes a lookup.
_CLOCK = pa.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)])


def _rfc3339_quoted(column: pa.Array) -> pa.Array:
    """`"2026-11-02T08:15:00Z"` for whole-second UTC timestamps: the date of each distinct day
    and the clock of each second of the day are looked up, not formatted per value."""
    valid = ~np.asarray(column.is_null())
    micros = pc.fill_null(pc.cast(column.cast(pa.timestamp("us", tz="UTC")), pa.int64()), 0).to_numpy(zero_copy_only=False)
    if not valid.any() or (micros[valid] % 1_000_000).any():
        return _quoted(_rfc3339(column))
    days = np.floor_divide(micros, _DAY_US)
    distinct, day_index = np.unique(days[valid], return_inverse=True)
    dates = pc.strftime(pa.array(distinct * _DAY_US, pa.timestamp("us")), format="%Y-%m-%d")
    index = np.zeros(len(micros), dtype=np.int64)
    index[valid] = day_index
    date_text = dates.take(pa.array(index))
    clock_text = _CLOCK.take(pa.array(np.where(valid, (micros - days * _DAY_US) // 1_000_000, 0)))
    text = pc.binary_join_element_wise('"', date_text, "T", clock_text, 'Z"', "")
    return pc.if_else(pa.array(valid), text, pa.nulls(len(micros), pa.string()))


def _needs_escape(strings: pa.Array) -> bool:
    """Whether any value holds a quote, a backslash or a control character.

    Scans the array's character buffer at once: a regex per value costs ~1 µs each.
    """
    if len(strings) == 0:
        return False
    data, offsets = bytes_and_offsets(strings)
    chars = data[offsets[0]:offsets[-1]]
    return bool((chars < 0x20).any() or (chars == 0x22).any() or (chars == 0x5C).any())


def _quoted(strings: pa.Array) -> pa.Array:
    if pa.types.is_string(strings.type) and not _needs_escape(strings):
        return pc.binary_join_element_wise('"', strings, '"', "")  # the usual case: ids, digits, codes
    if pc.any(pc.match_substring_regex(strings, _CONTROL)).as_py():
        # Control characters are rare enough to escape one value at a time.
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in strings.to_pylist()],
                        pa.string())
    escaped = pc.replace_substring(pc.replace_substring(strings, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def _rfc3339(column: pa.Array) -> pa.Array:
    """UTC timestamps as `2026-11-02T08:15:00Z` (fraction only when there is one).

    Casting the zone-naive value is an order of magnitude faster than strftime with a zone.
    """
    naive = column.cast(pa.timestamp(column.type.unit))
    seconds = pc.cast(naive, pa.timestamp("s"), safe=False)
    whole = pc.all(pc.equal(pc.cast(seconds, naive.type), naive)).as_py() is not False
    text = pc.cast(seconds if whole else pc.cast(naive, pa.timestamp("ms"), safe=False), pa.string())
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), "Z", "")


def ndjson_lines(table: pa.Table, newline: bool = False) -> pa.Array:
    """One JSON object per row, as an Arrow string array (each ending in a newline if asked)."""
    return encoded_lines(list(zip(table.column_names, table.columns)), None, table.num_rows, newline)


def rated_lines(rated: pa.Table, newline: bool = False) -> pa.Array:
    """One JSON object per rated row: its input line (`raw`) with the other columns appended.

    Without `raw` (rows not read from text) every column is encoded.
    """
    if "raw" not in rated.column_names:
        return ndjson_lines(rated, newline)
    appended = [(name, column) for name, column in zip(rated.column_names, rated.columns)
                if name != "raw" and name not in _INPUT_FIELDS]
    return encoded_lines(appended, rated["raw"], rated.num_rows, newline)


def encoded_lines(columns: list[tuple[str, pa.ChunkedArray | pa.Array]], raw: pa.ChunkedArray | pa.Array | None,
                  rows: int, newline: bool) -> pa.Array:
    """The lines `flows.json_kernel` writes: `raw`'s object texts (or `{`) with `columns` appended.

    Integers, exact decimals and flags go to the kernel as int64 values, strings that need no
    escaping as their own characters; anything else (times, escaped text) as JSON texts made
    here, once per distinct value when the values are few.
    """
    kinds = np.zeros(len(columns), dtype=np.int8)
    scales = np.zeros(len(columns), dtype=np.int64)
    # Filled a column at a time, handed to the kernel a row at a time (transposed: 3× faster there).
    values = np.zeros((len(columns), rows), dtype=np.int64)
    valid = np.ones((len(columns), rows), dtype=np.bool_)
    prefixes: list[bytes] = []
    texts: list[pa.Array] = []
    text_count = 0
    for c, (name, column) in enumerate(columns):
        column = single_chunk(column)
        prefixes.append((("" if raw is None and c == 0 else ",") + json.dumps(name) + ":").encode())
        kinds[c], scales[c] = _kernel_kind(column)
        if kinds[c] == json_kernel.INTEGER and pc.min(column).as_py() == _INT64_MIN:  # has no positive twin
            kinds[c] = json_kernel.TEXT
        if column.null_count:
            valid[c] = np.asarray(column.is_valid())
        if kinds[c] == json_kernel.DECIMAL:
            values[c] = _unscaled(column)
        elif kinds[c] == json_kernel.INTEGER:
            values[c] = pc.fill_null(column, 0).to_numpy(zero_copy_only=False)
        elif kinds[c] == json_kernel.BOOLEAN:
            values[c] = pc.fill_null(column, False).to_numpy(zero_copy_only=False)
        elif kinds[c] == json_kernel.QUOTED:
            texts.append(column.cast(pa.string()))
            values[c] = text_count + np.arange(rows)
        elif not _few_values(column):
            texts.append(json_texts(column))
            values[c] = text_count + np.arange(rows)
        else:
            encoded = pc.dictionary_encode(column, null_encoding="encode")
            texts.append(json_texts(encoded.dictionary))
            values[c] = text_count + encoded.indices.to_numpy(zero_copy_only=False)
        text_count += len(texts[-1]) if kinds[c] in (json_kernel.TEXT, json_kernel.QUOTED) else 0
    text_data, text_offsets = bytes_and_offsets(pa.concat_arrays(texts) if texts else pa.array([], pa.string()))
    if raw is not None:
        raw_data, raw_offsets = bytes_and_offsets(single_chunk(raw))
    else:
        raw_data, raw_offsets = read_only(np.zeros(0, np.uint8)), np.zeros(0, np.int64)
    prefix_offsets = np.cumsum([0] + [len(p) for p in prefixes], dtype=np.int64)
    prefix_data = np.frombuffer(b"".join(prefixes), dtype=np.uint8)
    # Every byte buffer goes in read-only (bytes_and_offsets gives them so): one array type,
    # one compiled version of the kernel.
    out, offsets = json_kernel.written_lines(rows, raw_data, raw_offsets, read_only(prefix_data),
                                             prefix_offsets, kinds, scales,
                                             np.ascontiguousarray(values.T), np.ascontiguousarray(valid.T),
                                             text_data, text_offsets, newline)
    kind = pa.string() if offsets[-1] < 2**31 else pa.large_string()
    offsets = offsets.astype(np.int32) if kind == pa.string() else offsets
    return pa.Array.from_buffers(kind, rows, [None, pa.py_buffer(offsets), pa.py_buffer(out)])


def warm_up() -> None:
    """Loads (or on a first run compiles) the line kernel before the first records need it:
    that takes 0.5-1 s here, which would otherwise be the first batch's wait."""
    rated_lines(pa.table({"n": [1], "raw": pa.array([b'{"x":1}'], pa.binary())}))
    two = [EncodedPiece(0, 2, pa.array([f"{i}\n"]), np.array([i]), {}) for i in range(2)]
    interleaved_text(two, np.empty(0, dtype=np.uint8))  # a batch of two workers' pieces


def _few_values(column: pa.Array) -> bool:
    """At most one distinct value per 64 rows (cycle starts, not event times)."""
    return len(column) >= 64 and pc.count_distinct(column, mode="all").as_py() * 64 <= len(column)


def _kernel_kind(column: pa.Array) -> tuple[int, int]:
    """(kind, decimal scale): how `flows.json_kernel` writes the column's values."""
    kind = column.type
    if pa.types.is_signed_integer(kind) or kind in (pa.uint8(), pa.uint16(), pa.uint32()):
        return json_kernel.INTEGER, 0
    if pa.types.is_decimal128(kind) and kind.precision <= 18:  # every value fits in int64
        return json_kernel.DECIMAL, kind.scale
    if pa.types.is_boolean(kind):
        return json_kernel.BOOLEAN, 0
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and not _needs_escape(column):
        return json_kernel.QUOTED, 0
    return json_kernel.TEXT, 0


def _unscaled(decimals: pa.Array) -> np.ndarray:
    """The unscaled int64 of each decimal128 value: the low half of its 16 bytes (the high half
    only extends the sign at precision 18 or less). Null slots hold whatever; they are not read."""
    words = np.frombuffer(decimals.buffers()[1], dtype=np.int64)
    return words[2 * decimals.offset:2 * (decimals.offset + len(decimals)):2]


def reject_line(reject: Reject) -> str:
    return json.dumps(
        {
            "record_id": reject.record_id,
            "msisdn": reject.msisdn,
            "status": "rejected",
            "reason": reject.reason,
            "raw": reject.raw.decode("utf-8", "replace"),
        },
        ensure_ascii=False,
    )


def ordered_lines(pieces: list[RatedPiece]) -> tuple[pa.Array, np.ndarray]:
    """Every rated row and reject of `pieces` as lines ending in a newline, in input position
    order, and their positions."""
    tables = [p.rated for p in pieces if p.rated.num_rows]
    rejects = [r for p in pieces for r in p.rejects]
    lines: list[pa.Array] = []
    positions: list[np.ndarray] = []
    if tables:
        rated = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        positions.append(rated["position"].to_numpy(zero_copy_only=False))
        lines.append(rated_lines(rated.drop_columns(["position"]), newline=True))
    if rejects:
        positions.append(np.array([r.position for r in rejects], dtype=np.int64))
        lines.append(pa.array([reject_line(r) + "\n" for r in rejects], lines[0].type if lines else pa.string()))
    return merged(lines, positions)


def merged(lines: list[pa.Array], positions: list[np.ndarray]) -> tuple[pa.Array, np.ndarray]:
    """Lines from several sources (each with its positions) as one array in position order."""
    lines = [part for part in lines if len(part)]
    positions = [part for part in positions if len(part)]
    if not lines:
        return pa.array([], pa.string()), np.zeros(0, dtype=np.int64)
    every = np.concatenate(positions) if len(positions) > 1 else positions[0]
    joined = pa.concat_arrays([part.cast(pa.large_string()) for part in lines]) \
        if len({part.type for part in lines}) > 1 else (pa.concat_arrays(lines) if len(lines) > 1 else lines[0])
    if every.size < 2 or (every[1:] > every[:-1]).all():  # a shard's own rows come in order
        return joined, every
    order = np.argsort(every, kind="stable")
    return joined.take(pa.array(order)), every[order]


@dataclass(frozen=True)
class EncodedPiece:
    """A rated piece as its output lines, encoded on the worker that rated it: the writer
    only merges the pieces of a batch by position."""

    batch_id: int
    pieces: int
    lines: pa.Array  # each ending in a newline, in position order
    positions: np.ndarray
    counts: dict[str, int]


def encoded_piece(piece: RatedPiece) -> EncodedPiece:
    counts: dict[str, int] = {}
    tally(counts, piece)
    lines, positions = ordered_lines([piece])
    return EncodedPiece(piece.batch_id, piece.pieces, lines, positions, counts)


def text_bytes(strings: pa.Array | pa.ChunkedArray) -> memoryview:
    """All values of a string array back to back, straight from its character buffer."""
    data, offsets = bytes_and_offsets(single_chunk(strings))
    return memoryview(data)[offsets[0]:offsets[-1]]


def interleaved_text(parts: list[EncodedPiece], buffer: np.ndarray) -> tuple[memoryview, np.ndarray]:
    """The lines of a batch's pieces merged into position order, written into `buffer` (or
    into a larger one, returned with the text for the next call).

    A batch's lines are one line per input line, so their positions are a run of integers
    and each line's place is its position less the first: no sort.
    """
    positions = np.concatenate([p.positions for p in parts])
    bounds = np.cumsum([0] + [len(p.lines) for p in parts])
    first = int(positions.min())
    piece_of = np.full(positions.size, -1, dtype=np.int64)
    row_of = np.empty(positions.size, dtype=np.int64)
    place = positions - first
    if int(place.max()) < positions.size:
        for k in range(len(parts)):
            piece_of[place[bounds[k]:bounds[k + 1]]] = k
            row_of[place[bounds[k]:bounds[k + 1]]] = np.arange(bounds[k + 1] - bounds[k])
    if (piece_of < 0).any():  # not a run after all: sort
        order = np.argsort(positions, kind="stable")
        piece_of = np.searchsorted(bounds, order, side="right") - 1
        row_of = order - bounds[piece_of]
    strings = [bytes_and_offsets(single_chunk(p.lines)) for p in parts]
    lengths = [np.diff(offsets) for _, offsets in strings]
    out_offsets = np.zeros(positions.size + 1, dtype=np.int64)
    for k in range(len(parts)):
        out_offsets[1:][piece_of == k] = lengths[k][row_of[piece_of == k]]
    np.cumsum(out_offsets, out=out_offsets)
    size = int(out_offsets[-1])
    if buffer.size < size:
        buffer = np.empty(size + size // 4, dtype=np.uint8)
    json_kernel.interleaved(tuple(data for data, _ in strings), tuple(offsets for _, offsets in strings),
                            piece_of, row_of, out_offsets, buffer)
    return memoryview(buffer)[:size], buffer


class _NdjsonPartition(StatefulSinkPartition[list[EncodedPiece], None]):
    """Merges and writes each batch on a thread of its own, in the order given.

    The worker that writes also parses and rates; merging and writing a batch (~50 ms for
    100,000 lines) held it up, and the batches it could not get to piled up into a tail
    at the end of the file (0.25 s in a 2 s run). The merge and the write release the GIL.
    """

    def __init__(self, path: Path, counts: dict[str, int]) -> None:
        self._file = path.open("wb")
        self._counts = counts
        # The merged text of a batch, reused: a new buffer of ~25 MB a batch cost as much
        # in first-touch page faults as the copying into it.
        self._buffer = np.empty(0, dtype=np.uint8)
        # A few batches may wait (each ~60 MB of lines); then the worker waits for the disk.
        self._waiting: queue.Queue[list[EncodedPiece] | None] = queue.Queue(maxsize=4)
        self._failure: BaseException | None = None
        self._writer = threading.Thread(target=self._write_waiting, name="rated-ndjson-writer", daemon=True)
        self._writer.start()

    def write_batch(self, values: list[list[EncodedPiece]]) -> None:
        self._raise_failure()
        for pieces in values:
            self._waiting.put(pieces)
            for piece in pieces:
                for name, count in piece.counts.items():
                    self._counts[name] = self._counts.get(name, 0) + count

    def snapshot(self) -> None:
        self._waiting.join()
        self._raise_failure()
        self._file.flush()
        return None

    def close(self) -> None:
        self._waiting.put(None)
        self._writer.join()
        self._file.close()
        self._raise_failure()

    def _write_waiting(self) -> None:
        while (pieces := self._waiting.get()) is not None:
            try:
                if self._failure is None:  # after a failure the rest is not written
                    self._write(pieces)
            except BaseException as exc:  # handed to the worker at its next call
                self._failure = exc
            finally:
                self._waiting.task_done()

    def _write(self, pieces: list[EncodedPiece]) -> None:
        parts = [p for p in pieces if len(p.lines)]
        if len(parts) == 1:
            self._file.write(text_bytes(parts[0].lines))
        elif parts:
            text, self._buffer = interleaved_text(parts, self._buffer)
            self._file.write(text)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


class RatedNdjsonSink(FixedPartitionedSink[list[EncodedPiece], None]):
    """Writes the encoded pieces of each batch (`InputOrder` hands them over batch by batch)
    to one file, merged into input order.

    Exactly one partition writes the file, so one worker owns the file and its order. It
    lists a partition per worker and writes through the last: Bytewax makes worker 0 the
    owner of a lone partition, and worker 0 already reads the input file (its source's one
    partition), so reading and writing would share a core while the others had neither.
    """

    def __init__(self, path: Path, counts: dict[str, int], workers: int = 1) -> None:
        self._path = Path(path)
        self._counts = counts
        self._parts = [f"{self._path.name}:{i:04d}" for i in range(workers)]  # sorted as numbered

    def list_parts(self) -> list[str]:
        return self._parts

    def part_fn(self, item_key: str) -> int:
        return len(self._parts) - 1  # the writer: the last of the sorted parts

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> StatefulSinkPartition:
        if for_part != self._parts[-1]:
            return _Unused()
        return _NdjsonPartition(self._path, self._counts)


class _Unused(StatefulSinkPartition[list[EncodedPiece], None]):
    """A partition that is listed, to place the writer on another worker, and never written."""

    def write_batch(self, values: list[list[EncodedPiece]]) -> None:
        raise RuntimeError("the rated NDJSON writer is the last partition")

    def snapshot(self) -> None:
        return None


def tally(counts: dict[str, int], piece: RatedPiece) -> None:
    """Adds a piece to `in = rated + duplicate + rejected`."""
    statuses = piece.rated["status"].value_counts().to_pylist() if piece.rated.num_rows else []
    for entry in statuses:
        counts[entry["values"]] = counts.get(entry["values"], 0) + entry["counts"]
    counts["rejected"] = counts.get("rejected", 0) + len(piece.rejects)
    counts["in"] = counts.get("in", 0) + piece.rated.num_rows + len(piece.rejects)


def counted(counts: dict[str, int], keys: Iterable[str] = ("in", "rated", "duplicate", "rejected")) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in keys}

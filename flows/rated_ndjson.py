"""Rated records as NDJSON lines, in input order (the output of `revguard rate`).

A rated line is the network record as it was received, its closing brace replaced by the
rating fields: `{...the input line's fields...,"plan_id":"SMART10",...,"cycle_start":"..."}`.
The input text is reused, not encoded again (it was half the cost of encoding a line).
Money stays exact on the way out: decimal columns are written as decimal strings
("0.120000"), never through a float. Timestamps are RFC 3339 in UTC with `Z`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from flows.rating_flow import RatedPiece, Reject
from rating.records import NETWORK_SCHEMA

# Fields of the network record: a rated line carries them in the input's own text.
_INPUT_FIELDS = frozenset(NETWORK_SCHEMA.names)


_CONTROL = r"[\x00-\x1f]"


def json_texts(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The JSON text of every value of a column, computed column-wise in Arrow.

    Encoding row by row in Python (or through pandas) costs more than rating itself;
    Arrow's string kernels do it at C speed. Decimals become decimal strings, exactly.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = _few_values_quoted(column)
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
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32, count=len(strings) + 1, offset=strings.offset * 4)
    data = strings.buffers()[2]
    if data is None:
        return False
    chars = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
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


def ndjson_lines(table: pa.Table) -> pa.Array:
    """One JSON object per row, as an Arrow string array."""
    parts: list = []
    for i, (name, column) in enumerate(zip(table.column_names, table.columns)):
        parts.append(("{" if i == 0 else ",") + json.dumps(name) + ":")
        parts.append(json_texts(column))
    parts.append("}")
    if table.num_rows == 0:
        return pa.array([], pa.string())
    return pc.binary_join_element_wise(*parts, "")


def rated_lines(rated: pa.Table) -> pa.Array:
    """One JSON object per rated row: its input line (`raw`) with the other columns appended.

    Without `raw` (rows not read from text) every column is encoded.
    """
    if "raw" not in rated.column_names:
        return ndjson_lines(rated)
    if rated.num_rows == 0:
        return pa.array([], pa.string())
    parts: list = [_object_heads(rated["raw"])]
    run: list[tuple[str, pa.Array]] = []  # adjacent columns of few values, written as one piece
    for name, column in zip(rated.column_names, rated.columns):
        if name == "raw" or name in _INPUT_FIELDS:
            continue
        column = column.combine_chunks()
        if _few_values(column):
            run.append((name, column))
            continue
        parts.extend(_members(run))
        run = []
        parts.extend(["," + json.dumps(name) + ":", json_texts(column)])
    parts.extend(_members(run))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def _few_values(column: pa.Array) -> bool:
    """Strings, flags or times with at most one distinct value per 64 rows (codes and cycle
    starts, not ids or event times)."""
    kind = column.type
    if not (pa.types.is_string(kind) or pa.types.is_boolean(kind) or pa.types.is_timestamp(kind)) or len(column) < 64:
        return False
    return pc.count_distinct(column, mode="all").as_py() * 64 <= len(column)


def _members(run: list[tuple[str, pa.Array]]) -> list[pa.Array]:
    """`,"a":x,"b":y` for adjacent columns of few distinct values, as one text per row.

    Plan, payment, class, zone and off-peak flag take a few dozen combinations in a batch:
    each combination is written once in Python and spread with `take`, instead of ten
    Arrow calls and ten more pieces per row in the final join. A run is split where its
    combinations would outnumber its rows (their codes stay far from overflowing).
    """
    groups: list[list[tuple[str, pa.DictionaryArray]]] = []
    combinations = 0
    for name, column in run:
        encoded = pc.dictionary_encode(column, null_encoding="encode")
        size = len(encoded.dictionary)
        if not groups or combinations * size > len(column):
            groups.append([])
            combinations = 1
        groups[-1].append((name, encoded))
        combinations *= size
    return [_combined(group) for group in groups]


def _combined(group: list[tuple[str, pa.DictionaryArray]]) -> pa.Array:
    codes = np.zeros(len(group[0][1]), dtype=np.int64)
    texts: list[list[str]] = []
    for name, encoded in group:
        dictionary = encoded.dictionary
        if pa.types.is_timestamp(dictionary.type):
            values = json_texts(dictionary).to_pylist()
        else:
            values = [json.dumps(v, ensure_ascii=False) for v in dictionary.to_pylist()]
        texts.append(["," + json.dumps(name) + ":" + v for v in values])
        codes = codes * len(values) + encoded.indices.to_numpy(zero_copy_only=False)
    distinct, which = np.unique(codes, return_inverse=True)
    combined = []
    for code in distinct.tolist():
        members = []
        for choices in reversed(texts):
            code, index = divmod(code, len(choices))
            members.append(choices[index])
        combined.append("".join(reversed(members)))
    return pa.array(combined, pa.string()).take(pa.array(which))


def _object_heads(raw: pa.ChunkedArray | pa.Array) -> pa.Array:
    """JSON object texts without their closing brace (and any blank after it).

    The parser accepted each line as one JSON object, so its last non-blank byte is `}`.
    """
    text = pc.cast(raw.combine_chunks() if isinstance(raw, pa.ChunkedArray) else raw, pa.string())
    text = pc.utf8_rtrim_whitespace(text)
    return pc.utf8_slice_codeunits(text, 0, -1)


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


def ordered_lines(pieces: list[RatedPiece]) -> pa.Array:
    """Every rated row and reject of one input batch, in input position order."""
    tables = [p.rated for p in pieces if p.rated.num_rows]
    rejects = [r for p in pieces for r in p.rejects]
    lines: list[pa.Array] = []
    positions: list[np.ndarray] = []
    if tables:
        rated = pa.concat_tables(tables)
        positions.append(rated["position"].to_numpy(zero_copy_only=False))
        lines.append(rated_lines(rated.drop_columns(["position"])))
    if rejects:
        positions.append(np.array([r.position for r in rejects], dtype=np.int64))
        lines.append(pa.array([reject_line(r) for r in rejects], pa.string()))
    if not lines:
        return pa.array([], pa.string())
    order = np.argsort(np.concatenate(positions), kind="stable")
    return pa.concat_arrays(lines).take(pa.array(order))


def text_bytes(strings: pa.Array) -> memoryview:
    """All values of a string array back to back, straight from its character buffer."""
    strings = strings.combine_chunks() if isinstance(strings, pa.ChunkedArray) else strings
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32, count=len(strings) + 1, offset=strings.offset * 4)
    return memoryview(strings.buffers()[2])[offsets[0]:offsets[-1]]


class _NdjsonPartition(StatefulSinkPartition[list[RatedPiece], None]):
    def __init__(self, path: Path, counts: dict[str, int]) -> None:
        self._file = path.open("wb")
        self._counts = counts

    def write_batch(self, values: list[list[RatedPiece]]) -> None:
        for pieces in values:
            lines = ordered_lines(pieces)
            if len(lines):
                self._file.write(text_bytes(pc.binary_join_element_wise(lines, "\n", "")))
            for piece in pieces:
                tally(self._counts, piece)

    def snapshot(self) -> None:
        self._file.flush()
        return None

    def close(self) -> None:
        self._file.close()


class RatedNdjsonSink(FixedPartitionedSink[list[RatedPiece], None]):
    """Writes ordered rated batches to one file.

    One partition, so exactly one worker of a cluster owns the file and its order.
    """

    def __init__(self, path: Path, counts: dict[str, int]) -> None:
        self._path = Path(path)
        self._counts = counts

    def list_parts(self) -> list[str]:
        return [self._path.name]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _NdjsonPartition:
        return _NdjsonPartition(self._path, self._counts)


def tally(counts: dict[str, int], piece: RatedPiece) -> None:
    """Adds a piece to `in = rated + duplicate + rejected`."""
    statuses = piece.rated["status"].value_counts().to_pylist() if piece.rated.num_rows else []
    for entry in statuses:
        counts[entry["values"]] = counts.get(entry["values"], 0) + entry["counts"]
    counts["rejected"] = counts.get("rejected", 0) + len(piece.rejects)
    counts["in"] = counts.get("in", 0) + piece.rated.num_rows + len(piece.rejects)


def counted(counts: dict[str, int], keys: Iterable[str] = ("in", "rated", "duplicate", "rejected")) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in keys}

"""Record contracts of SPEC 1.1, 1.3 and 1.4 and their columnar validation.

A batch of raw JSON lines becomes an Arrow table of accepted rows (with the line's
``position`` in the batch) plus rejects ``(position, reason, raw)``. Every input line ends
up in exactly one of the two. Reasons, first matching wins, in this order:

``bad_json`` (not a JSON object on one line, including blank lines), ``missing_field:<f>``
(absent, null or empty string for a required field), ``bad_type:<f>`` (a JSON value of the
wrong type, a quantity that is not a whole number or beyond int64, an adjustment amount with
more than 6 places), ``bad_timestamp:<f>`` (not RFC 3339 with an offset, or more than 6
fractional digits), ``negative:<f>``, ``bad_service`` (not voice/sms/data in any case),
``bad_kind`` (adjustment kind not topup/refund/credit), ``bad_value:msisdn`` (not 1-18 ASCII
digits), ``bad_value:charge`` (a billed charge of 10^12 or more in size: beyond the store).

Forms billing and mediation systems write that are the same value, accepted as that value:
``service`` in any case (``"VOICE"`` is voice), a quantity as a JSON integer, an integral
JSON number (``12.0``) or a string of one (``"12"``), times with fractions of a second and any
offset, ``record_id`` / ``bill_record_id`` with surrounding whitespace (trimmed).

Optional fields default as SPEC 1.1 implies: ``duration_s``/``volume_bytes`` 0,
``destination``/``roaming_mccmnc``/``element_id`` empty, ``cell_id`` null. Unknown extra
fields are ignored. Timestamps are converted to UTC microseconds. Adjustment ``amount`` may
be a JSON number or string; it is read as exact decimal text, never through a float.

A billed ``charge`` is any decimal, JSON number or string, any number of places, exponent
allowed (``"1e-3"``), negative for a credit. It is kept three ways: ``charge`` rounded half
away from zero to the micro-unit (the money every sum and finding uses), ``charge_exact`` the
exact value as plain decimal text, and ``charge_beyond_micro`` the sign (-1, 0, 1) of
``charge_exact - charge``, with which a comparison against a micro-unit tolerance stays exact
whatever the number of places (see ``assurance/sql/record_matching.sql``).
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pj

from rating import flat_json
from rating.kernels import bytes_and_offsets
from rating.lines import TextLines, binary_over
from rating.money import MONEY_TYPE, micro_from_money_array, micro_from_text, money_array

TIMESTAMP = pa.timestamp("us", tz="UTC")
SERVICES = ("voice", "sms", "data")
ADJUSTMENT_KINDS = ("topup", "refund", "credit")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

NETWORK_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("msisdn", pa.string()),
        ("service", pa.string()),
        ("start_time", TIMESTAMP),
        ("duration_s", pa.int64()),
        ("volume_bytes", pa.int64()),
        ("destination", pa.string()),
        ("roaming_mccmnc", pa.string()),
        ("element_id", pa.string()),
        ("cell_id", pa.string()),
    ]
)
ADJUSTMENT_SCHEMA = pa.schema(
    [
        ("adjustment_id", pa.string()),
        ("msisdn", pa.string()),
        ("amount", MONEY_TYPE),
        ("time", TIMESTAMP),
        ("kind", pa.string()),
    ]
)
BILLED_SCHEMA = pa.schema(
    [
        ("bill_record_id", pa.string()),
        ("record_id", pa.string()),
        ("msisdn", pa.string()),
        ("service", pa.string()),
        ("start_time", TIMESTAMP),
        ("duration_s", pa.int64()),
        ("volume_bytes", pa.int64()),
        ("charge", MONEY_TYPE),
        ("billed_at", TIMESTAMP),
        ("charge_exact", pa.string()),
        ("charge_beyond_micro", pa.int8()),
    ]
)
# How the JSON reader takes a billed charge and billed quantities: Arrow's decimal reading
# takes a JSON number and a numeric string alike ("12", 12.0, "1e-3"). Precision 20 is the
# guard: Arrow checks the digits it reads against the declared precision but not the value
# after scaling, so 20 digits at scale 18 (38 digits) is the most it can hold without
# wrapping silently. Values it cannot hold go to the line-by-line reader, which is exact.
_WIDE_MONEY = pa.decimal128(20, 18)
_WHOLE_NUMBER = pa.decimal128(19, 0)
_CHARGE_LIMIT = Decimal(10**12)  # Decimal(18, 6) in the store
REJECT_SCHEMA = pa.schema([("position", pa.int64()), ("reason", pa.string()), ("raw", pa.binary())])


@dataclass(frozen=True)
class _Contract:
    schema: pa.Schema  # parsed types
    required: tuple[str, ...]
    timestamps: tuple[str, ...]
    defaults: dict  # field -> value used when absent or null
    read_as: dict = field(default_factory=dict)  # field -> type the JSON reader takes it as
    derived: tuple[str, ...] = ()  # output fields computed from others, never read from input
    trimmed: tuple[str, ...] = ()  # identifiers whose surrounding whitespace is not part of them

    @property
    def json_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(f.name, pa.string()) if f.name in self.timestamps
             else pa.field(f.name, self.read_as[f.name]) if f.name in self.read_as else f
             for f in self.schema if f.name not in self.derived]
        )


_NETWORK = _Contract(
    NETWORK_SCHEMA,
    required=("record_id", "msisdn", "service", "start_time"),
    timestamps=("start_time",),
    defaults={"duration_s": 0, "volume_bytes": 0, "destination": "", "roaming_mccmnc": "", "element_id": ""},
    trimmed=("record_id",),
)
_ADJUSTMENT = _Contract(
    ADJUSTMENT_SCHEMA,
    required=("adjustment_id", "msisdn", "amount", "time", "kind"),
    timestamps=("time",),
    defaults={},
)

# SPEC 1.2: `record_id` may be empty (billing did not say which network record it billed);
# a negative `charge` is a credit the billing system gave, not a malformed record.
_BILLED = _Contract(
    BILLED_SCHEMA,
    required=("bill_record_id", "msisdn", "service", "start_time", "charge", "billed_at"),
    timestamps=("start_time", "billed_at"),
    defaults={"record_id": "", "duration_s": 0, "volume_bytes": 0},
    read_as={"charge": _WIDE_MONEY, "duration_s": _WHOLE_NUMBER, "volume_bytes": _WHOLE_NUMBER},
    derived=("charge_exact", "charge_beyond_micro"),
    trimmed=("bill_record_id", "record_id"),
)


@dataclass(frozen=True)
class ParsedBatch:
    """Accepted rows (with ``position``: index of the line in the input) and rejects."""

    accepted: pa.Table
    rejects: list[tuple[int, str, bytes]]
    # Network records only: every input line followed by a newline, as one binary array over
    # the very buffer the JSON reader parsed (each record's text without a copy per line).
    lines: pa.Array | None = None

    @property
    def rejects_table(self) -> pa.Table:
        pos, reasons, raws = zip(*self.rejects) if self.rejects else ((), (), ())
        return pa.table(
            [pa.array(pos, pa.int64()), pa.array(reasons, pa.string()), pa.array(raws, pa.binary())],
            schema=REJECT_SCHEMA,
        )


def parse_network_lines(lines: Sequence[bytes]) -> ParsedBatch:
    """Network usage records (SPEC 1.1) from JSON lines, validated column by column."""
    return _parse(lines, _NETWORK, _network_checks, keep_lines=True, layout=_NETWORK_LAYOUT,
                  plain_checks=_network_plain_checks)


def warm_up() -> None:
    """Loads (or on a first run compiles, seconds) the reader of plain lines before a flow's
    first batch needs it."""
    parse_network_lines([b'{"record_id":"w","msisdn":"1","service":"sms","start_time":"2026-01-01T00:00:00Z"}'])


def parse_adjustment_lines(lines: Sequence[bytes]) -> ParsedBatch:
    """Balance adjustments (SPEC 1.3) from JSON lines."""
    return _parse(lines, _ADJUSTMENT, _adjustment_checks)


def parse_billed_lines(lines: Sequence[bytes]) -> ParsedBatch:
    """Billed records (SPEC 1.2) from JSON lines."""
    return _parse(lines, _BILLED, _network_checks)


# The plain shape of a network record, read by `rating.flat_json` without the general reader.
_NETWORK_LAYOUT = flat_json.Layout(
    names=tuple(NETWORK_SCHEMA.names),
    kinds=(flat_json.STRING, flat_json.DIGITS, flat_json.STRING, flat_json.TIMESTAMP, flat_json.COUNT,
           flat_json.COUNT, flat_json.STRING, flat_json.STRING, flat_json.STRING, flat_json.STRING),
    required=_NETWORK.required,
)


def _parse(lines: Sequence[bytes], contract: _Contract, checks: Callable[[pa.Table], list],
           keep_lines: bool = False, layout: flat_json.Layout | None = None,
           plain_checks: Callable[[pa.Table], list] | None = None) -> ParsedBatch:
    """Lines of the plain shape are read by `rating.flat_json` (when the contract has a
    `layout`); the general reader gets the rest and decides what each is."""
    if isinstance(lines, TextLines):  # a file's text: already joined, its newlines found
        text = lines.text if layout is None else None  # the joined text: the general reader's only
        every_line = lines.array() if keep_lines or layout is not None else None
    else:
        if set(map(type, lines)) - {bytes}:
            lines = [ln if isinstance(ln, bytes) else bytes(ln) for ln in lines]
        text = joined_lines(lines)
        every_line = lines_array(lines, text) if keep_lines or layout is not None else None
    if layout is None:
        table, rejects = _parsed_generally(lines, contract, checks, text)
        return ParsedBatch(table, rejects, every_line)
    table, general = _read_plainly(every_line, contract, layout, plain_checks or checks)
    if general.size:
        rest, rejects = _parsed_generally([lines[i] for i in general], contract, checks)
        rejects = [(int(general[pos]), reason, raw) for pos, reason, raw in rejects]
        position = pa.array(general[rest["position"].to_numpy()], pa.int64())
        rest = rest.set_column(rest.schema.get_field_index("position"), "position", position)
        table = pa.concat_tables([table, rest])
        table = table.take(pa.array(np.argsort(table["position"].to_numpy(), kind="stable")))
    else:
        rejects = []
    return ParsedBatch(table, rejects, every_line if keep_lines else None)


def _read_plainly(every_line: pa.Array, contract: _Contract, layout: flat_json.Layout,
                  checks: Callable[[pa.Table], list]) -> tuple[pa.Table, np.ndarray]:
    """(the accepted rows of the lines `flat_json` reads and the contract's checks pass, with
    their `position`; the positions of every other line, for the general reader).

    `every_line` is `lines_array`: each line with its newline, over one text buffer."""
    data, offsets = bytes_and_offsets(every_line)
    read = flat_json.read_lines(data, offsets[:-1], offsets[1:] - 1, layout)  # each line without its newline
    fast = np.flatnonzero(read.fast)
    every = len(fast) == len(every_line)

    def of_fast(rows: np.ndarray) -> np.ndarray:
        return rows if every else rows[fast]

    strings = [f for f, kind in enumerate(layout.kinds) if kind not in (flat_json.COUNT, flat_json.TIMESTAMP)]
    string_starts, string_ends = read.starts[strings], read.ends[strings]
    text_columns = dict(zip(strings, flat_json.string_columns(
        data, string_starts if every else string_starts[:, fast], string_ends if every else string_ends[:, fast],
        [contract.schema[f].name not in contract.defaults for f in strings])))
    columns = []
    for f, field in enumerate(contract.schema):
        kind = layout.kinds[f]
        if kind in (flat_json.COUNT, flat_json.TIMESTAMP):
            values = of_fast(read.values[f])
            present = of_fast(read.starts[f]) != flat_json.ABSENT
            if field.name not in contract.defaults and not present.all():
                mask = pa.py_buffer(np.packbits(present, bitorder="little"))
                columns.append(pa.Array.from_buffers(field.type, len(fast), [mask, pa.py_buffer(values)]))
            else:
                columns.append(pa.Array.from_buffers(field.type, len(fast), [None, pa.py_buffer(values)]))
        else:
            column = text_columns[f]
            columns.append(column.cast(field.type) if column.type != field.type else column)
    columns.append(pa.array(fast, pa.int64()))
    table = pa.table(columns, schema=contract.schema.append(pa.field("position", pa.int64())))
    failed = np.zeros(len(fast), dtype=bool)
    for mask, _ in checks(table):
        failed |= mask
    if failed.any():  # the general reader gives the reason
        table = table.filter(pa.array(~failed))
        read.fast[fast[failed]] = False
    return table, np.flatnonzero(~read.fast)


def _parsed_generally(lines: list[bytes], contract: _Contract, checks: Callable[[pa.Table], list],
                      text: bytes | None = None) -> tuple[pa.Table, list[tuple[int, str, bytes]]]:
    """Arrow's JSON reader over all `lines` (halving around the lines it refuses, which are
    then read one by one in Python), then the vectorised checks."""
    tables: list[pa.Table] = []
    rejects: list[tuple[int, str, bytes]] = []
    rows: list[dict] = []  # lines the columnar reader refused but that are valid after all
    row_pos: list[int] = []
    _columnar(lines, 0, contract, tables, rejects, rows, row_pos, text)
    exact: dict[int, Decimal] = {}
    if rows:
        extra = pa.Table.from_pylist(rows, schema=contract.json_schema)
        tables.append(extra.append_column("position", pa.array(row_pos, pa.int64())))
        exact = {pos: value for pos, row in zip(row_pos, rows)
                 for key, value in row.items() if key.startswith(_EXACT)}
    schema = contract.json_schema.append(pa.field("position", pa.int64()))
    raw = pa.concat_tables(tables) if tables else schema.empty_table()
    if rows:  # the columnar pieces come in position order; rows read one by one do not
        raw = raw.take(pc.sort_indices(raw["position"]))
    table, late = _typed(raw, contract, checks, exact)
    for pos, reason in late:
        rejects.append((pos, reason, lines[pos]))
    rejects.sort()
    return table, rejects


def joined_lines(lines: list[bytes]) -> bytes:
    """The lines as NDJSON text: each followed by a newline."""
    return b"\n".join([*lines, b""])


def lines_array(lines: list[bytes], text: bytes) -> pa.Array:
    """Each line with its newline, as one binary array over `text` (`joined_lines(lines)`):
    no Python object or copy per value, a fraction of `pa.array(lines)`'s cost."""
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1, out=offsets[1:])
    return binary_over(text, offsets)


def _columnar(lines, offset, contract, tables, rejects, rows, row_pos, joined: bytes | None = None) -> None:
    """Read ``lines`` in one Arrow call; on failure halve until the bad lines are isolated.

    ``joined`` is ``joined_lines(lines)`` when the caller already has it.
    """
    if not lines:
        return
    n = len(lines)
    if n > 16:
        joined = joined_lines(lines) if joined is None else joined
        if joined.count(b"\n") == n:  # else a line holds a newline of its own
            try:
                t = pj.read_json(
                    io.BytesIO(joined),
                    # Blocks of 512 KiB let pyarrow parse on every core (2x on 2 cores,
                    # measured); a longer line fails the call and the halving below isolates it.
                    read_options=pj.ReadOptions(block_size=1 << 19),
                    parse_options=pj.ParseOptions(
                        explicit_schema=contract.json_schema, unexpected_field_behavior="ignore"
                    ),
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                t = None
            if t is not None and t.num_rows == n:
                t = t.select(contract.json_schema.names)
                tables.append(t.append_column("position", pa.array(np.arange(offset, offset + n, dtype=np.int64))))
                return
        half = n // 2
        _columnar(lines[:half], offset, contract, tables, rejects, rows, row_pos)
        _columnar(lines[half:], offset + half, contract, tables, rejects, rows, row_pos)
        return
    for i, line in enumerate(lines):
        reason, row = _line(line, contract)
        if reason is None:
            rows.append(row)
            row_pos.append(offset + i)
        else:
            rejects.append((offset + i, reason, line))


def _line(line: bytes, contract: _Contract) -> tuple[str | None, dict | None]:
    """One line checked in Python: JSON shape, required fields present, JSON types."""
    try:
        obj = json.loads(line, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return "bad_json", None
    if not isinstance(obj, dict):
        return "bad_json", None
    for name in contract.required:
        if obj.get(name) is None or obj.get(name) == "":
            return f"missing_field:{name}", None
    row = {}
    for f in contract.json_schema:
        v = obj.get(f.name)
        if v is None:
            row[f.name] = None
        elif pa.types.is_string(f.type):
            if not isinstance(v, str):
                return f"bad_type:{f.name}", None
            row[f.name] = v
        elif pa.types.is_integer(f.type) or f.type == _WHOLE_NUMBER:
            whole = _whole_number(v)
            if whole is None:
                return f"bad_type:{f.name}", None
            row[f.name] = whole if pa.types.is_integer(f.type) else Decimal(whole)
        elif f.type == _WIDE_MONEY:
            exact = exact_decimal(v)
            if exact is None:
                return f"bad_type:{f.name}", None
            if abs(exact) >= _CHARGE_LIMIT:
                return f"bad_value:{f.name}", None
            # The exact value rides beside the reader's column (`charge_columns` takes it from
            # there); the column only says the field is present.
            row[f.name] = Decimal(0)
            row[_EXACT + f.name] = exact
        elif pa.types.is_decimal(f.type):
            if isinstance(v, bool) or not isinstance(v, (int, Decimal, str)):
                return f"bad_type:{f.name}", None
            try:
                micro = micro_from_text(v)
            except ValueError:
                return f"bad_type:{f.name}", None
            if not -(10**18) < micro < 10**18:
                return f"bad_type:{f.name}", None
            row[f.name] = Decimal(micro).scaleb(-6)
    return None, row


_EXACT = "exact:"  # key of a row's exact decimal beside the reader's column
# A decimal as JSON text can write it (Python's Decimal would also take "1_000" and "NaN").
_DECIMAL_TEXT = re.compile(r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$")


def exact_decimal(value: object) -> Decimal | None:
    """A JSON number (read with ``parse_float=Decimal``) or a numeric string as an exact
    decimal; None for anything else (booleans, floats, words, infinities)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _DECIMAL_TEXT.match(value):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _whole_number(value: object) -> int | None:
    """A quantity written as 12, 12.0, 1.2e1 or "12": the int64 it is; None when not whole."""
    exact = exact_decimal(value)
    if exact is None or exact != exact.to_integral_value():
        return None
    whole = int(exact)
    return whole if _INT64_MIN <= whole <= _INT64_MAX else None


def plain_decimal_text(value: Decimal) -> str:
    """Exact decimal text without exponent or trailing zeros of the fraction (``"0.1200004"``,
    ``"0.001"`` for ``1e-3``, ``"0"`` for ``-0``); beyond 60 places, scientific notation."""
    if value == 0:
        return "0"
    if value.as_tuple().exponent < -60:
        return str(value.normalize())
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def charge_columns(wide: pa.Array, positions: np.ndarray, exact: dict[int, Decimal]) -> tuple[dict[str, pa.Array], np.ndarray]:
    """(``charge``, ``charge_exact``, ``charge_beyond_micro`` columns; rows too large for the
    store) from the reader's charge column; rows read line by line take their exact value
    from `exact` (by position)."""
    if isinstance(wide, pa.ChunkedArray):
        wide = wide.combine_chunks() if wide.num_chunks != 1 else wide.chunk(0)
    # The reader declared precision 20 only as its guard: the values are any decimal(38, 18).
    full = pa.decimal128(38, 18)
    x = pc.fill_null(pa.Array.from_buffers(full, len(wide), wide.buffers(), wide.null_count, wide.offset),
                     pa.scalar(Decimal(0), full))
    rounded = pc.round(x, ndigits=6, round_mode="half_towards_infinity")
    too_large = _np_bool(pc.greater_equal(pc.abs(rounded), pa.scalar(_CHARGE_LIMIT, full)))
    if too_large.any():
        x = pc.if_else(pa.array(too_large), pa.scalar(Decimal(0), full), x)
        rounded = pc.if_else(pa.array(too_large), pa.scalar(Decimal(0), full), rounded)
    beyond = (_np_bool(pc.greater(x, rounded)).astype(np.int8) - _np_bool(pc.less(x, rounded)).astype(np.int8))
    text = pc.cast(x, pa.string())
    text = pc.replace_substring_regex(pc.replace_substring_regex(text, r"(\.[0-9]*?)0+$", r"\1"), r"\.$", "")
    micro, _ = micro_from_money_array(pc.cast(rounded, MONEY_TYPE))
    scientific = np.flatnonzero(_np_bool(pc.match_substring(text, "E")))  # Arrow's text for |x| < 1e-6
    rows = {int(i): Decimal(text[int(i)].as_py()) for i in scientific}
    if exact:
        where = {int(p): i for i, p in enumerate(positions)}
        rows.update({where[p]: d for p, d in exact.items() if p in where})
    if rows:
        text_list = text.to_pylist()
        for i, d in rows.items():
            cents = d.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
            micro[i] = int(cents.scaleb(6))
            beyond[i] = (d > cents) - (d < cents)
            text_list[i] = plain_decimal_text(d)
        text = pa.array(text_list, pa.string())
    columns = {"charge": money_array(micro), "charge_exact": text, "charge_beyond_micro": pa.array(beyond, pa.int8())}
    return columns, too_large


def _typed(raw: pa.Table, contract: _Contract, checks,
           exact: dict[int, Decimal] | None = None) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Required fields, timestamps and value checks, vectorised; returns accepted + rejects.

    `exact`: exact charges of rows read line by line, by position (see `charge_columns`)."""
    n = raw.num_rows
    # Index into `reasons` of each row's first failed check (0: none yet); comparing small
    # integers instead of an object array of strings.
    reason = np.zeros(n, dtype=np.int16)
    reasons: list[str | None] = [None]
    positions = raw["position"].to_numpy()

    def mark(mask: np.ndarray, why: str) -> None:
        reasons.append(why)
        reason[mask & (reason == 0)] = len(reasons) - 1

    raw = _normalised(raw, contract)
    for name in contract.required:
        col = raw[name]
        missing = col.is_null()
        if pa.types.is_string(col.type):
            missing = pc.or_kleene(missing, pc.equal(col, ""))
        mark(_np_bool(missing), f"missing_field:{name}")
    columns = {}
    for name in contract.timestamps:
        ts, bad = _timestamps(raw[name])
        mark(bad, f"bad_timestamp:{name}")
        columns[name] = ts
    for mask, why in checks(raw):
        mark(mask, why)
    for name, kind in contract.read_as.items():
        if kind == _WHOLE_NUMBER:
            whole = pc.fill_null(raw[name], pa.scalar(Decimal(0), kind))
            too_large = _np_bool(pc.greater(pc.abs(whole), pa.scalar(Decimal(_INT64_MAX), kind)))
            mark(too_large, f"bad_type:{name}")
            if too_large.any():
                whole = pc.if_else(pa.array(too_large), pa.scalar(Decimal(0), kind), whole)
            columns[name] = pc.if_else(raw[name].is_null(), pa.scalar(None, pa.int64()), pc.cast(whole, pa.int64()))
        elif kind == _WIDE_MONEY:
            money, too_large = charge_columns(raw[name], positions, exact or {})
            mark(too_large, f"bad_value:{name}")
            columns.update(money)
    keep = reason == 0
    out = []
    for f in contract.schema:
        col = columns.get(f.name, raw[f.name] if f.name in raw.column_names else None)
        if f.name in contract.defaults:
            col = pc.fill_null(col, pa.scalar(contract.defaults[f.name], f.type))
        out.append(col)
    out.append(raw["position"])
    table = pa.table(out, schema=contract.schema.append(pa.field("position", pa.int64())))
    if not keep.all():
        table = table.filter(pa.array(keep))
    late = [(int(positions[i]), reasons[reason[i]]) for i in np.flatnonzero(~keep)]
    return table, late


def _normalised(raw: pa.Table, contract: _Contract) -> pa.Table:
    """Forms that name the same value made one: identifiers trimmed, services in lower case."""
    for name in contract.trimmed:
        at = raw.schema.get_field_index(name)
        raw = raw.set_column(at, name, pc.utf8_trim_whitespace(raw[name]))
    if "service" in raw.column_names and "service" in contract.required:
        at = raw.schema.get_field_index("service")
        raw = raw.set_column(at, "service", pc.utf8_lower(raw["service"]))
    return raw


def _timestamps(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """(UTC timestamps with bad ones null, bad mask); halving isolates unparsable values."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(arr)
    bad = np.zeros(n, dtype=bool)
    pieces = []

    def parse(lo: int, hi: int) -> None:
        part = arr.slice(lo, hi - lo)
        try:
            pieces.append(part.cast(TIMESTAMP))
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        if hi - lo == 1:
            bad[lo] = True
            pieces.append(pa.nulls(1, TIMESTAMP))
            return
        mid = (lo + hi) // 2
        parse(lo, mid)
        parse(mid, hi)

    if n:
        parse(0, n)
    out = pa.concat_arrays(pieces) if pieces else pa.array([], TIMESTAMP)
    return out, bad


def _network_plain_checks(raw: pa.Table) -> list[tuple[np.ndarray, str]]:
    """The checks a line read by `flat_json` can still fail: its reading already holds
    counts to non-negative integers and the msisdn to 1-18 digits."""
    # A record_id written with surrounding spaces is trimmed by the general reader, so that
    # it meets its bill (trimmed the same way) and its own re-deliveries.
    record_id = raw["record_id"]
    padded = pc.or_(pc.starts_with(record_id, " "), pc.ends_with(record_id, " "))
    return [(~_np_bool(pc.is_in(raw["service"], value_set=pa.array(SERVICES))), "bad_service"),
            (_np_bool(padded), "padded:record_id")]


def _network_checks(raw: pa.Table) -> list[tuple[np.ndarray, str]]:
    return [
        (_np_bool(pc.less(raw["duration_s"], 0)), "negative:duration_s"),
        (_np_bool(pc.less(raw["volume_bytes"], 0)), "negative:volume_bytes"),
        (~_np_bool(pc.is_in(raw["service"], value_set=pa.array(SERVICES))), "bad_service"),
        (~_np_bool(pc.match_substring_regex(raw["msisdn"], r"^[0-9]{1,18}$")), "bad_value:msisdn"),
    ]


def _adjustment_checks(raw: pa.Table) -> list[tuple[np.ndarray, str]]:
    return [
        (~_np_bool(pc.is_in(raw["kind"], value_set=pa.array(ADJUSTMENT_KINDS))), "bad_kind"),
        (~_np_bool(pc.match_substring_regex(raw["msisdn"], r"^[0-9]{1,18}$")), "bad_value:msisdn"),
    ]


def _np_bool(arr) -> np.ndarray:
    """Arrow booleans as numpy, null counted as False."""
    arr = pc.fill_null(arr, False)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr.to_numpy(zero_copy_only=False).astype(bool, copy=False)


# --- reference data (SPEC 1.4) -------------------------------------------------------------

SUBSCRIBER_STATUSES = ("active", "suspended", "terminated")
# SPEC 1.4 as tables: money exact, ``activated_at``/``provisioned_at`` kept as given.
SUBSCRIBER_SCHEMA = pa.schema(
    [
        ("msisdn", pa.string()),
        ("account_id", pa.string()),
        ("plan_id", pa.string()),
        ("payment", pa.string()),
        ("status", pa.string()),
        ("activated_at", pa.string()),
        ("cycle_day", pa.int8()),
        ("balance", MONEY_TYPE),
        ("credit_limit", MONEY_TYPE),
        ("segment", pa.string()),
    ]
)
PROVISIONING_SCHEMA = pa.schema(
    [("msisdn", pa.string()), ("imsi", pa.string()), ("status", pa.string()), ("provisioned_at", pa.string())]
)
_MSISDN = re.compile(r"^[0-9]{1,18}$")


class ReferenceDataError(ValueError):
    """Reference data cannot be used; the message names the line and the field."""


@dataclass(frozen=True)
class Subscriber:
    msisdn: str
    account_id: str
    plan_id: str
    payment: str
    status: str
    cycle_day: int
    balance: int  # micro-units, tax inclusive (prepaid opening balance)
    credit_limit: int | None  # micro-units (postpaid); None when empty
    segment: str


class Subscribers:
    """The billing system's subscribers, held column-wise (a million rows stay compact).

    Columns: ``msisdn, account_id, plan_id, payment, status, cycle_day, balance,
    credit_limit, segment`` (and optionally ``activated_at``) as numpy arrays; money in
    micro-units, ``credit_limit`` -1 when empty. ``index`` looks msisdns up vectorised.
    """

    def __init__(self, columns: dict[str, np.ndarray]):
        import pandas as pd

        self.columns = columns
        self.index = pd.Index(columns["msisdn"])
        if not self.index.is_unique:
            dup = self.index[self.index.duplicated()][0]
            raise ReferenceDataError(f"subscribers: msisdn {dup} listed more than once")

    def __len__(self) -> int:
        return len(self.index)

    def __getstate__(self) -> dict:
        return {"columns": self.columns}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["columns"])

    def to_table(self) -> pa.Table:
        """The subscribers as an Arrow table in ``SUBSCRIBER_SCHEMA`` (money exact)."""
        c = self.columns
        n = len(self)
        limit = c["credit_limit"]
        activated = c.get("activated_at")
        return pa.table(
            {
                "msisdn": pa.array(c["msisdn"], pa.string()),
                "account_id": pa.array(c["account_id"], pa.string()),
                "plan_id": pa.array(c["plan_id"], pa.string()),
                "payment": pa.array(c["payment"], pa.string()),
                "status": pa.array(c["status"], pa.string()),
                "activated_at": pa.nulls(n, pa.string()) if activated is None else pa.array(activated, pa.string()),
                "cycle_day": pa.array(c["cycle_day"], pa.int8()),
                "balance": money_array(c["balance"]),
                "credit_limit": money_array(np.maximum(limit, 0), limit >= 0),
                "segment": pa.array(c["segment"], pa.string()),
            },
            schema=SUBSCRIBER_SCHEMA,
        )

    def positions(self, msisdns: np.ndarray) -> np.ndarray:
        """Row of each msisdn, -1 when unknown."""
        return self.index.get_indexer(msisdns)

    def get(self, msisdn: str) -> Subscriber | None:
        i = self.index.get_indexer([msisdn])[0]
        if i < 0:
            return None
        c = self.columns
        limit = int(c["credit_limit"][i])
        return Subscriber(
            msisdn=str(c["msisdn"][i]),
            account_id=str(c["account_id"][i]),
            plan_id=str(c["plan_id"][i]),
            payment=str(c["payment"][i]),
            status=str(c["status"][i]),
            cycle_day=int(c["cycle_day"][i]),
            balance=int(c["balance"][i]),
            credit_limit=None if limit < 0 else limit,
            segment=str(c["segment"][i]),
        )


def load_subscribers(source: str | Path) -> Subscribers:
    """``subscribers.csv`` (path, or CSV text when the string holds a line break).

    Required columns: ``msisdn, plan_id, payment, cycle_day``. Defaults: ``status`` active,
    ``balance`` 0, ``credit_limit`` none, ``account_id``/``segment`` empty.
    """
    if isinstance(source, Path) or "\n" not in source:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ReferenceDataError(f"subscribers: cannot read {source}: {exc.strerror}") from None
    else:
        data = source.encode("utf-8")
    try:
        header = pcsv.read_csv(io.BytesIO(data.split(b"\n", 1)[0] + b"\n")).schema.names
        table = pcsv.read_csv(
            io.BytesIO(data),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ReferenceDataError(f"subscribers: not a CSV with a header row: {str(exc).splitlines()[0]}") from None
    for col in ("msisdn", "plan_id", "payment", "cycle_day"):
        if col not in table.schema.names:
            raise ReferenceDataError(f"subscribers: missing column {col}")
    columns = _subscriber_columns(table)
    if columns is None:  # something is wrong: find and name the first bad line
        columns = _subscriber_columns_line_by_line(table)
    return Subscribers(columns)


_DIGITS_1_18 = r"^[0-9]{1,18}$"
_MONEY_TEXT = r"^[+-]?([0-9]{1,12}(\.[0-9]{0,6})?|\.[0-9]{1,6})$"


def _text_column(table: pa.Table, name: str, default: str = "") -> pa.Array:
    if name not in table.schema.names:
        return pa.array(np.full(table.num_rows, default, dtype=object), pa.string())
    return pc.utf8_trim_whitespace(table[name].combine_chunks())


def _subscriber_columns(table: pa.Table) -> dict[str, np.ndarray] | None:
    """Columns checked and converted with Arrow compute; None if any value is invalid."""
    msisdn = _text_column(table, "msisdn")
    payment = _text_column(table, "payment")
    status = _text_column(table, "status", "active")
    status = pc.if_else(pc.equal(status, ""), "active", status)
    day_text = _text_column(table, "cycle_day")
    ok = _np_bool(pc.match_substring_regex(msisdn, _DIGITS_1_18))
    ok &= _np_bool(pc.is_in(payment, value_set=pa.array(["prepaid", "postpaid"])))
    ok &= _np_bool(pc.is_in(status, value_set=pa.array(SUBSCRIBER_STATUSES)))
    day_ok = _np_bool(pc.match_substring_regex(day_text, r"^[0-9]{1,2}$"))
    day = pc.cast(pc.if_else(pa.array(day_ok), day_text, "0"), pa.int64()).to_numpy(zero_copy_only=False)
    ok &= day_ok & (day >= 1) & (day <= 28)
    money = {}
    for name, empty_value in (("balance", 0), ("credit_limit", -1)):
        text = _text_column(table, name)
        empty = _np_bool(pc.equal(text, ""))
        good = _np_bool(pc.match_substring_regex(text, _MONEY_TEXT))
        ok &= empty | good
        micro, _ = micro_from_money_array(pc.cast(pc.if_else(pa.array(good), text, "0"), MONEY_TYPE))
        money[name] = np.where(empty, empty_value, micro)
    ok &= (money["credit_limit"] >= 0) | (money["credit_limit"] == -1)
    if not ok.all():
        return None

    def obj(arr: pa.Array) -> np.ndarray:
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)

    return {
        "msisdn": obj(msisdn),
        "account_id": obj(_text_column(table, "account_id")),
        "plan_id": obj(_text_column(table, "plan_id")),
        "payment": obj(payment),
        "status": obj(status),
        "activated_at": obj(_text_column(table, "activated_at")),
        "cycle_day": day.astype(np.int8),
        "balance": money["balance"].astype(np.int64),
        "credit_limit": money["credit_limit"].astype(np.int64),
        "segment": obj(_text_column(table, "segment")),
    }


def _subscriber_columns_line_by_line(table: pa.Table) -> dict[str, np.ndarray]:
    """The same conversion one line at a time, raising on the first bad line (error path)."""
    n = table.num_rows

    def text(name: str, default: str = "") -> np.ndarray:
        return np.asarray(_text_column(table, name, default).to_pylist(), dtype=object)

    msisdn = text("msisdn")
    payment = text("payment")
    status = text("status", "active")
    status[status == ""] = "active"
    cycle_raw = text("cycle_day")
    balance_raw = text("balance")
    limit_raw = text("credit_limit")
    cycle_day = np.zeros(n, dtype=np.int8)
    balance = np.zeros(n, dtype=np.int64)
    limit = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        line = i + 2
        if not _MSISDN.match(msisdn[i]):
            raise ReferenceDataError(f"subscribers line {line}: msisdn: expected 1-18 digits, got {msisdn[i]!r}")
        if payment[i] not in ("prepaid", "postpaid"):
            raise ReferenceDataError(f"subscribers line {line}: payment: expected prepaid or postpaid, got {payment[i]!r}")
        if status[i] not in SUBSCRIBER_STATUSES:
            raise ReferenceDataError(f"subscribers line {line}: status: unknown status {status[i]!r}")
        try:
            day = int(cycle_raw[i])
        except ValueError:
            day = 0
        if not 1 <= day <= 28:
            raise ReferenceDataError(f"subscribers line {line}: cycle_day: expected 1-28, got {cycle_raw[i]!r}")
        cycle_day[i] = day
        for raw_value, out, name in ((balance_raw[i], balance, "balance"), (limit_raw[i], limit, "credit_limit")):
            if raw_value == "":
                continue
            try:
                value = micro_from_text(raw_value)
            except ValueError as exc:
                raise ReferenceDataError(f"subscribers line {line}: {name}: {exc}") from None
            if not -(10**18) < value < 10**18:
                raise ReferenceDataError(f"subscribers line {line}: {name}: too large")
            out[i] = value
            if name == "credit_limit" and value < 0:
                raise ReferenceDataError(f"subscribers line {line}: credit_limit: may not be negative")
    return {
        "msisdn": msisdn,
        "account_id": text("account_id"),
        "plan_id": text("plan_id"),
        "payment": payment,
        "status": status,
        "activated_at": text("activated_at"),
        "cycle_day": cycle_day,
        "balance": balance,
        "credit_limit": limit,
        "segment": text("segment"),
    }

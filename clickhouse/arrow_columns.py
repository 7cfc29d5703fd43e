"""Arrow columns shaped for ClickHouse columns: the type each column type takes, exact
conversion of incoming columns to it, and money from integer micro-units.

Money columns are Decimal(18, 6); their Arrow form is decimal128(18, 6), whose stored
integer is the amount in micro-units. Binary floats are refused for them: a float has
already lost the exact amount.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

_WRAPPER = re.compile(r"^(Nullable|LowCardinality)\((.*)\)$")
_DECIMAL = re.compile(r"^Decimal(?:\d+)?\((\d+),\s*(\d+)\)$")
_DATETIME64 = re.compile(r"^DateTime64\((\d)(?:,\s*'([^']+)')?\)$")
_DATETIME = re.compile(r"^DateTime(?:\('([^']+)'\))?$")
_TIME_UNITS = {0: "s", 3: "ms", 6: "us", 9: "ns"}
_PLAIN = {
    "String": pa.string(),
    "Bool": pa.bool_(),
    "UInt8": pa.uint8(),
    "UInt16": pa.uint16(),
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "Int8": pa.int8(),
    "Int16": pa.int16(),
    "Int32": pa.int32(),
    "Int64": pa.int64(),
    "Float32": pa.float32(),
    "Float64": pa.float64(),
    "Date": pa.date32(),
}


def arrow_field(name: str, clickhouse_type: str) -> pa.Field:
    """The Arrow field a ClickHouse column of this type is written from."""
    nullable = False
    inner = clickhouse_type.strip()
    while (match := _WRAPPER.match(inner)) is not None:
        nullable = nullable or match.group(1) == "Nullable"
        inner = match.group(2).strip()
    return pa.field(name, _arrow_type(inner, clickhouse_type), nullable=nullable)


def _arrow_type(inner: str, whole: str) -> pa.DataType:
    if inner in _PLAIN:
        return _PLAIN[inner]
    if (match := _DECIMAL.match(inner)) is not None:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    if (match := _DATETIME64.match(inner)) is not None:
        precision = int(match.group(1))
        if precision not in _TIME_UNITS:
            raise TypeError(f"DateTime64 precision {precision} has no Arrow unit: {whole}")
        return pa.timestamp(_TIME_UNITS[precision], tz=match.group(2) or "UTC")
    if (match := _DATETIME.match(inner)) is not None:
        return pa.timestamp("s", tz=match.group(1) or "UTC")
    raise TypeError(f"no Arrow form for ClickHouse type {whole}")


def arrow_schema(columns: Sequence[str], clickhouse_types: Sequence[str]) -> pa.Schema:
    return pa.schema([arrow_field(name, type_name) for name, type_name in zip(columns, clickhouse_types, strict=True)])


def conformed_column(values, field: pa.Field) -> pa.Array | pa.ChunkedArray:
    """`values` (Arrow array, numpy array or Python sequence) as `field.type`, exactly:
    floats are refused for decimals, lossy decimal rescaling and overflow raise, and
    nulls are refused for a column that is not Nullable (ClickHouse would store a default)."""
    target = field.type
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_decimal(target) and pa.types.is_floating(values.type):
            raise TypeError(f"column {field.name} is money (Decimal): got binary floats ({values.type}), which are not exact")
        column = values if values.type == target else values.cast(target, safe=True)
    else:
        if pa.types.is_decimal(target) and isinstance(values, np.ndarray) and values.dtype.kind == "f":
            raise TypeError(f"column {field.name} is money (Decimal): got binary floats ({values.dtype}), which are not exact")
        try:
            column = pa.array(values, type=target)
        except (pa.ArrowTypeError, pa.ArrowInvalid) as error:
            raise TypeError(f"column {field.name} cannot be written as {target}: {error}") from error
    if not field.nullable and column.null_count:
        raise ValueError(f"column {field.name} is not Nullable but has {column.null_count} null value(s)")
    return column


MONEY = pa.decimal128(18, 6)


def decimal_from_micros(micros) -> pa.Array:
    """Integer micro-units (int64, e.g. 1_500_000 for 1.5) as decimal128(18, 6), exactly: the
    decimal's stored integer is the micro-unit count, so no arithmetic is involved."""
    values = np.asarray(micros)
    if values.dtype.kind not in "iu":
        raise TypeError(f"micro-units must be integers, got {values.dtype}")
    values = values.astype(np.int64, copy=False)
    limit = 10**MONEY.precision
    if values.size and (values.max() >= limit or values.min() <= -limit):
        raise ValueError(f"a micro-unit amount does not fit {MONEY}")
    words = np.empty((values.size, 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63  # sign extension to 128 bits
    return pa.Array.from_buffers(MONEY, values.size, [None, pa.py_buffer(words.tobytes())])

"""Exact money: decimal text <-> int64 micro-units, half-up scaling, Arrow decimal columns.

Money is an integer count of micro-units (10^-6 of the catalog currency). A product such as
``price x units x factor / divisor`` is rounded once, half up, to a whole micro-unit: the
integer arithmetic below is exact (quotient/remainder split so int64 never overflows; when
an operand is too large for that, the same formula runs on Python integers).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np
import pyarrow as pa

MICRO = 1_000_000
MONEY_TYPE = pa.decimal128(18, 6)
_INT64_SAFE = 2**62


def micro_from_text(value: object) -> int:
    """Micro-units of a decimal given as text, int or Decimal; ValueError when not exact.

    Binary floats are refused: ``0.1`` as a float is not one tenth.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"not an exact decimal: {value!r}")
    try:
        d = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a decimal number: {value!r}")
    scaled = d * MICRO
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than 6 decimal places: {value!r}")
    return int(scaled)


def fraction_from_text(value: object) -> Fraction:
    """An exact rational from decimal text (factors, percentages, tax rates)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"not an exact decimal: {value!r}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a decimal number: {value!r}")
    return Fraction(d)


def decimal_from_micro(micro: int) -> Decimal:
    return Decimal(micro).scaleb(-6)


def half_up_scaled(
    base: np.ndarray, units: np.ndarray, numer: np.ndarray, denom: np.ndarray
) -> np.ndarray:
    """round_half_up(base x units x numer / denom) for non-negative integer arrays, exact.

    Splitting ``base x units = q x denom + r`` keeps every intermediate below 2^63:
    the result is ``q x numer + round_half_up(r x numer / denom)``.
    """
    base = np.asarray(base, dtype=np.int64)
    units = np.asarray(units, dtype=np.int64)
    numer = np.broadcast_to(np.asarray(numer, dtype=np.int64), base.shape)
    denom = np.broadcast_to(np.asarray(denom, dtype=np.int64), base.shape)
    if base.size == 0:
        return np.zeros(0, dtype=np.int64)
    bmax = int(base.max())
    umax = int(units.max())
    nmax = int(numer.max())
    dmax = int(denom.max())
    if bmax * umax < _INT64_SAFE and 2 * dmax * max(nmax, 1) < _INT64_SAFE:
        n = base * units
        q, r = np.divmod(n, denom)
        result = q * numer + (2 * r * numer + denom) // (2 * denom)
        if q.size and int(q.max()) * nmax < _INT64_SAFE:
            return result
    # Rare: operands beyond int64 headroom; Python integers are exact at any size.
    out = [
        (int(b) * int(u) * int(m) * 2 + int(d)) // (2 * int(d))
        for b, u, m, d in zip(base.tolist(), units.tolist(), numer.tolist(), denom.tolist())
    ]
    return np.asarray(out, dtype=np.int64)


def money_array(micro: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A decimal128(18, 6) Arrow array holding exactly the given micro-unit integers."""
    micro = np.ascontiguousarray(micro, dtype=np.int64)
    n = micro.shape[0]
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = micro
    words[:, 1] = micro >> 63  # two's-complement sign extension to 128 bits
    validity = None
    null_count = 0
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        null_count = int(n - valid.sum())
        if null_count:
            validity = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.Array.from_buffers(
        MONEY_TYPE, n, [validity, pa.py_buffer(words)], null_count=null_count
    )


def micro_from_money_array(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(micro int64, valid bool) from a decimal column with scale <= 6, exactly."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    arr = arr.cast(MONEY_TYPE)
    n = len(arr)
    buf = arr.buffers()[1]
    words = np.frombuffer(buf, dtype=np.int64, count=2 * (arr.offset + n))[2 * arr.offset :]
    micro = words[0::2].copy()
    valid = ~np.asarray(arr.is_null(), dtype=bool) if arr.null_count else np.ones(n, dtype=bool)
    micro[~valid] = 0
    return micro, valid

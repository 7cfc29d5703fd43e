"""NDJSON lines written by compiled loops (numba), from columns already turned into numbers.

Arrow's kernels encode one column at a time: a rated line took about twenty calls, each a
pass over the batch and a new array, ~3 µs a row in all, the largest cost of `revguard rate`
and of the Kafka output. Here every line is written in one pass over the rows: integers and
decimals are formatted from int64 values, everything else (codes, flags, times, free text)
is a JSON text prepared per distinct value by `flows.rated_ndjson` and copied by number.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from rating.kernels import POWERS_OF_TEN

# How a column's int64 values are written.
TEXT = 0  # an index into the table of texts, copied as it is (JSON prepared by the caller)
QUOTED = 1  # an index into the table of texts, written between quotes (needs no escaping), or null
INTEGER = 2  # the number itself, or null
DECIMAL = 3  # unscaled decimal (micro-units at scale 6) as a quoted decimal string, or null
BOOLEAN = 4  # 0 or 1 as false or true, or null


@intrinsic
def _copy(typingctx, out, at, source, start, count):
    """`out[at:at + count] = source[start:start + count]` as one memcpy.

    Numba writes a short variable-length copy as a byte loop (~2.7 ns a byte here); lines are
    hundreds of bytes, so a row is mostly copying and memcpy is 6× faster.
    """
    signature = types.void(out, types.intp, source, types.intp, types.intp)

    def codegen(context, builder, sig, args):
        out_array = context.make_array(sig.args[0])(context, builder, args[0])
        source_array = context.make_array(sig.args[2])(context, builder, args[2])
        cgutils.raw_memcpy(builder, builder.gep(out_array.data, [args[1]]),
                           builder.gep(source_array.data, [args[3]]), args[4], 1)
        return context.get_dummy_value()

    return signature, codegen


@numba.njit(cache=True, nogil=True)
def interleaved(datas, offsets, piece_of, row_of, out_offsets, out) -> None:
    """Writes into `out` the strings of several arrays in a given order: string `i` of the
    result is row `row_of[i]` of array `piece_of[i]` (its bytes `datas[p]`, offsets
    `offsets[p]`), starting at `out_offsets[i]`. One memcpy a string."""
    for i in range(piece_of.shape[0]):
        data, starts = datas[piece_of[i]], offsets[piece_of[i]]
        row = row_of[i]
        _copy(out, out_offsets[i], data, starts[row], starts[row + 1] - starts[row])


@numba.njit(cache=True, nogil=True)
def written_lines(rows: int, raw: np.ndarray, raw_offsets: np.ndarray, prefix_data: np.ndarray,
                  prefix_offsets: np.ndarray, kinds: np.ndarray, scales: np.ndarray, values: np.ndarray,
                  valid: np.ndarray, text_data: np.ndarray, text_offsets: np.ndarray,
                  newline: bool) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, offsets) of one line per row: the row's `raw` object text without its closing
    brace (or `{` when `raw_offsets` is empty), then per column its prefix (`,"name":`) and
    value (`values[row, column]`), then `}` and a newline if asked.

    One pass into a buffer sized for the longest values (every number fits in 24 bytes), in
    one function: a Numba call that takes arrays counts references, which cost more than the
    formatting itself.
    """
    columns = kinds.shape[0]
    has_raw = raw_offsets.shape[0] > 0
    longest_text = 0
    for t in range(text_offsets.shape[0] - 1):
        longest_text = max(longest_text, text_offsets[t + 1] - text_offsets[t])
    widest = 2 + (prefix_offsets[columns] - prefix_offsets[0])
    for c in range(columns):
        # A text (quoted or not) or "null"; any number, sign, point and quotes in 24 bytes.
        widest += max(longest_text + 2, 4) if kinds[c] == TEXT or kinds[c] == QUOTED else 24
    out = np.empty(((raw_offsets[rows] - raw_offsets[0]) if has_raw else rows) + rows * widest, dtype=np.uint8)
    offsets = np.empty(rows + 1, dtype=np.int64)
    at = 0
    for i in range(rows):
        offsets[i] = at
        if has_raw:
            # The object's text as it came, up to its closing brace (and any blank after it).
            start, end = raw_offsets[i], raw_offsets[i + 1]
            k = end - 1
            while k >= start and (raw[k] == 32 or raw[k] == 9 or raw[k] == 10 or raw[k] == 13):
                k -= 1
            if k >= start and raw[k] == 125:  # "}"
                end = k
            _copy(out, at, raw, start, end - start)
            at += end - start
        else:
            out[at] = 123  # "{"
            at += 1
        for c in range(columns):
            count = prefix_offsets[c + 1] - prefix_offsets[c]
            _copy(out, at, prefix_data, prefix_offsets[c], count)
            at += count
            kind, value = kinds[c], values[i, c]
            if kind == TEXT:
                count = text_offsets[value + 1] - text_offsets[value]
                _copy(out, at, text_data, text_offsets[value], count)
                at += count
                continue
            if not valid[i, c]:
                out[at], out[at + 1], out[at + 2], out[at + 3] = 110, 117, 108, 108  # "null"
                at += 4
                continue
            if kind == QUOTED:
                count = text_offsets[value + 1] - text_offsets[value]
                out[at] = 34
                _copy(out, at + 1, text_data, text_offsets[value], count)
                out[at + 1 + count] = 34
                at += count + 2
                continue
            if kind == BOOLEAN:
                if value:
                    out[at], out[at + 1], out[at + 2], out[at + 3] = 116, 114, 117, 101  # "true"
                    at += 4
                else:
                    out[at], out[at + 1], out[at + 2], out[at + 3], out[at + 4] = 102, 97, 108, 115, 101
                    at += 5
                continue
            if kind == DECIMAL:
                out[at] = 34  # '"'
                at += 1
            magnitude = value
            if value < 0:
                out[at] = 45  # "-"
                at += 1
                magnitude = -value
            scale = scales[c] if kind == DECIMAL else 0
            whole = magnitude // POWERS_OF_TEN[scale]
            fraction = magnitude - whole * POWERS_OF_TEN[scale]
            width = 1
            while width < 19 and whole >= POWERS_OF_TEN[width]:
                width += 1
            for k in range(at + width - 1, at - 1, -1):
                out[k] = 48 + whole % 10
                whole //= 10
            at += width
            if scale > 0:
                out[at] = 46  # "."
                for k in range(at + scale, at, -1):
                    out[k] = 48 + fraction % 10
                    fraction //= 10
                at += scale + 1
            if kind == DECIMAL:
                out[at] = 34
                at += 1
        out[at] = 125  # "}"
        at += 1
        if newline:
            out[at] = 10
            at += 1
    offsets[rows] = at
    return out[:at], offsets

"""A compiled reader for the usual shape of a record line: one flat JSON object, plain values.

Arrow's JSON reader is general: with the checks after it, ~3 µs a network line, the largest
stage of rating a file. Network records nearly always look the same: a flat object whose values
are plain ASCII strings, small integers and RFC 3339 times. `read_lines` reads exactly that
shape in one pass over the text and answers, per line, whether the line was *certainly*
valid and of that shape. Every other line (escapes, non-ASCII text, fractions, nesting,
duplicate keys, a missing or empty required field, anything unusual) is left to the general
reader, which decides what it is and why. So the fast path never changes an answer: it only
skips the general reader for the lines whose answer is known.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from rating.kernels import read_only

# How a field's value is read. Anything else in its place sends the line to the general reader.
STRING = 0  # a JSON string without escapes, of ASCII characters (or null)
DIGITS = 1  # a string of 1-18 ASCII digits (or null)
COUNT = 2  # a non-negative JSON integer below 10**18 (or null)
TIMESTAMP = 3  # a string "YYYY-MM-DD(T| )HH:MM:SS[.f{1,6}](Z|±HH:MM)" naming a real instant (or null)

ABSENT = -1  # `starts` of a field that was absent or null
_MAX_DIGITS = 18
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


@dataclass(frozen=True)
class Layout:
    """The fields of a record and how each is read; `required` fields must be present and,
    for strings, non-empty."""

    names: tuple[str, ...]
    kinds: tuple[int, ...]
    required: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.kinds) or len(self.names) > 63:  # a bit per field in an int64
            raise ValueError("a layout names at most 63 fields, one kind each")

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(name bytes, name offsets, kinds, required flags): the layout as the kernel takes it."""
        encoded = [name.encode() for name in self.names]
        name_bytes = read_only(np.frombuffer(b"".join(encoded) or b"\0", dtype=np.uint8))
        name_offsets = np.cumsum([0] + [len(e) for e in encoded]).astype(np.int64)
        required = np.array([name in self.required for name in self.names], dtype=np.bool_)
        return name_bytes, name_offsets, np.array(self.kinds, dtype=np.int8), required


@dataclass(frozen=True)
class ReadLines:
    """Per line: `fast` (read here, valid); per field and line (`[f, i]`): where a string's
    characters start and end in the text (`starts` ABSENT when absent or null), and the value
    of a COUNT or TIMESTAMP (UTC microseconds)."""

    fast: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    values: np.ndarray


def read_lines(text: np.ndarray, line_starts: np.ndarray, line_ends: np.ndarray, layout: Layout) -> ReadLines:
    """Reads each line `text[line_starts[i]:line_ends[i]]` (without its newline) as `layout`."""
    name_bytes, name_offsets, kinds, required = layout.arrays()
    n, fields = len(line_starts), len(layout.names)
    fast = np.empty(n, dtype=np.bool_)
    # A row per field: each column is then contiguous for the arrays built from it.
    starts = np.full((fields, n), ABSENT, dtype=np.int64)
    ends = np.full((fields, n), ABSENT, dtype=np.int64)
    values = np.zeros((fields, n), dtype=np.int64)
    _read(read_only(text), line_starts, line_ends, name_bytes, name_offsets, kinds, required,
          fast, starts, ends, values)
    return ReadLines(fast, starts, ends, values)


def string_columns(text: np.ndarray, starts: np.ndarray, ends: np.ndarray, nullable: list[bool]) -> list[pa.Array]:
    """Per row `f` of `starts`/`ends`, the strings `text[starts[f, i]:ends[f, i]]` as an Arrow
    string array; an ABSENT start is null where `nullable[f]`, else the empty string.

    All fields in one pass over the rows: a pass per field read each line's text again
    from memory once per field (the batch's text is larger than the cache).
    """
    fields, rows = starts.shape
    present = starts != ABSENT
    offsets = np.zeros((fields, rows + 1), dtype=np.int64)
    np.cumsum(np.where(present, ends - starts, 0), axis=1, out=offsets[:, 1:])
    sizes = offsets[:, rows]
    bases = np.concatenate([[0], np.cumsum(sizes)])
    data = np.empty(int(bases[-1]), dtype=np.uint8)
    _gathered(read_only(text), starts, ends, offsets, bases, data)
    columns = []
    for f in range(fields):
        validity = None
        if nullable[f] and not present[f].all():
            validity = pa.py_buffer(np.packbits(present[f], bitorder="little"))
        kind = pa.string() if sizes[f] < 2**31 else pa.large_string()
        field_offsets = offsets[f].astype(np.int32) if kind == pa.string() else offsets[f]
        columns.append(pa.Array.from_buffers(kind, rows, [validity, pa.py_buffer(field_offsets),
                                                          pa.py_buffer(data[bases[f]:bases[f + 1]])]))
    return columns


@numba.njit(cache=True, nogil=True)
def _gathered(text, starts, ends, offsets, bases, data):
    for i in range(starts.shape[1]):
        for f in range(starts.shape[0]):
            start = starts[f, i]
            if start == ABSENT:
                continue
            at = bases[f] + offsets[f, i]
            for j in range(ends[f, i] - start):
                data[at + j] = text[start + j]


@numba.njit(cache=True, nogil=True)
def _skip_blanks(text, pos, end):
    while pos < end and (text[pos] == 0x20 or text[pos] == 0x09):
        pos += 1
    return pos


@numba.njit(cache=True, nogil=True)
def _string_end(text, pos, end):
    """The position of the closing quote of a plain string opened at `pos - 1`; -1 if the
    string has an escape, a control or non-ASCII character, or does not close."""
    while pos < end:
        c = text[pos]
        if c == 0x22:
            return pos
        if c == 0x5C or c < 0x20 or c >= 0x80:
            return -1
        pos += 1
    return -1


@numba.njit(cache=True, nogil=True)
def _days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - 1 if m <= 2 else y
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@numba.njit(cache=True, nogil=True)
def _number(text, pos, width):
    """The value of `width` ASCII digits at `pos`, or -1."""
    value = 0
    for j in range(pos, pos + width):
        c = text[j]
        if c < 0x30 or c > 0x39:
            return -1
        value = value * 10 + (c - 0x30)
    return value


@numba.njit(cache=True, nogil=True)
def _timestamp_micros(text, pos, end):
    """UTC microseconds of "YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)" in text[pos:end] (a space
    for the T too, as RFC 3339 allows); the second value is False for any other text or a date
    or time that does not exist."""
    if end - pos < 20 or text[pos + 4] != 0x2D or text[pos + 7] != 0x2D \
            or (text[pos + 10] != 0x54 and text[pos + 10] != 0x20) or text[pos + 13] != 0x3A or text[pos + 16] != 0x3A:
        return 0, False
    year, month, day = _number(text, pos, 4), _number(text, pos + 5, 2), _number(text, pos + 8, 2)
    hour, minute, second = _number(text, pos + 11, 2), _number(text, pos + 14, 2), _number(text, pos + 17, 2)
    if year < 1 or month < 1 or month > 12 or day < 1 or hour < 0 or hour > 23 or minute < 0 \
            or minute > 59 or second < 0 or second > 59:
        return 0, False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = 29 if month == 2 and leap else _MONTH_DAYS[month]
    if day > month_days:
        return 0, False
    p = pos + 19
    fraction = 0
    if text[p] == 0x2E:
        digits = 0
        p += 1
        while p < end and 0x30 <= text[p] <= 0x39:
            if digits == 6:
                return 0, False
            fraction = fraction * 10 + (text[p] - 0x30)
            digits += 1
            p += 1
        if digits == 0:
            return 0, False
        for _ in range(6 - digits):
            fraction *= 10
    offset_s = 0
    if p == end - 1 and text[p] == 0x5A:
        pass
    elif p == end - 6 and (text[p] == 0x2B or text[p] == 0x2D) and text[p + 3] == 0x3A:
        oh, om = _number(text, p + 1, 2), _number(text, p + 4, 2)
        if oh < 0 or oh > 23 or om < 0 or om > 59:
            return 0, False
        offset_s = (oh * 3600 + om * 60) * (1 if text[p] == 0x2B else -1)
    else:
        return 0, False
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s
    return seconds * 1_000_000 + fraction, True


@numba.njit(cache=True, nogil=True)
def _field(text, key_start, key_end, name_bytes, name_offsets, guess):
    """Which field the key text[key_start:key_end] names, or -1. Fields are tried from
    `guess` on: writers keep one key order, so the guess (the field after the last) is
    nearly always right at once."""
    length = key_end - key_start
    fields = name_offsets.shape[0] - 1
    for k in range(fields):
        f = (guess + k) % fields
        lo = name_offsets[f]
        if name_offsets[f + 1] - lo != length:
            continue
        same = True
        for j in range(length):
            if text[key_start + j] != name_bytes[lo + j]:
                same = False
                break
        if same:
            return f
    return -1


@numba.njit(cache=True, nogil=True)
def _named_key_end(text, pos, end, name_bytes, name_offsets, f):
    """The position of the quote closing a key at `pos` that is field `f`'s name, else -1:
    the names are plain text, so the key needs no scan for escapes (keys are half a line)."""
    lo, hi = name_offsets[f], name_offsets[f + 1]
    close = pos + hi - lo
    if close >= end or text[close] != 0x22:
        return -1
    for j in range(hi - lo):
        if text[pos + j] != name_bytes[lo + j]:
            return -1
    return close


@numba.njit(cache=True, nogil=True)
def _read_line(text, pos, end, name_bytes, name_offsets, kinds, starts, ends, values, i):
    """Reads line `i` into column `i` of `starts/ends/values` (filled with ABSENT and 0 before);
    False unless it has the plain shape."""
    seen = 0  # a bit per field (at most 63)
    f = -1
    pos = _skip_blanks(text, pos, end)
    if pos >= end or text[pos] != 0x7B:
        return False
    pos = _skip_blanks(text, pos + 1, end)
    if pos < end and text[pos] == 0x7D:
        return _skip_blanks(text, pos + 1, end) == end
    while True:
        if pos >= end or text[pos] != 0x22:
            return False
        guess = f + 1 if f + 2 < name_offsets.shape[0] else 0  # the field after the last
        key_end = _named_key_end(text, pos + 1, end, name_bytes, name_offsets, guess)
        if key_end >= 0:
            f = guess
        else:
            key_end = _string_end(text, pos + 1, end)
            if key_end < 0:
                return False
            f = _field(text, pos + 1, key_end, name_bytes, name_offsets, guess)
        if f >= 0:
            if seen & (1 << f):
                return False  # a repeated key: which one counts is the general reader's call
            seen |= 1 << f
        pos = _skip_blanks(text, key_end + 1, end)
        if pos >= end or text[pos] != 0x3A:
            return False
        pos = _skip_blanks(text, pos + 1, end)
        if pos >= end:
            return False
        c = text[pos]
        if c == 0x22:
            value_end = _string_end(text, pos + 1, end)
            if value_end < 0:
                return False
            if f >= 0:
                kind = kinds[f]
                if kind == COUNT:
                    return False
                starts[f, i], ends[f, i] = pos + 1, value_end
                if kind == DIGITS:
                    width = value_end - pos - 1
                    if width < 1 or width > _MAX_DIGITS or _number(text, pos + 1, width) < 0:
                        return False
                elif kind == TIMESTAMP:
                    micros, ok = _timestamp_micros(text, pos + 1, value_end)
                    if not ok:
                        return False
                    values[f, i] = micros
            pos = value_end + 1
        elif c == 0x6E:  # null
            if end - pos < 4 or text[pos + 1] != 0x75 or text[pos + 2] != 0x6C or text[pos + 3] != 0x6C:
                return False
            pos += 4
        elif 0x30 <= c <= 0x39:
            if f < 0 or kinds[f] != COUNT:
                return False
            q = pos
            value = 0
            while q < end and 0x30 <= text[q] <= 0x39:
                value = value * 10 + (text[q] - 0x30)
                q += 1
            if (c == 0x30 and q - pos > 1) or q - pos > _MAX_DIGITS:
                return False
            if q < end and (text[q] == 0x2E or text[q] == 0x65 or text[q] == 0x45):
                return False  # a fraction or an exponent
            starts[f, i], ends[f, i], values[f, i] = pos, q, value
            pos = q
        else:
            return False  # negative numbers, true/false, objects, arrays: the general reader's
        pos = _skip_blanks(text, pos, end)
        if pos >= end:
            return False
        if text[pos] == 0x2C:
            pos = _skip_blanks(text, pos + 1, end)
            continue
        if text[pos] != 0x7D:
            return False
        return _skip_blanks(text, pos + 1, end) == end


@numba.njit(cache=True, nogil=True)
def _read(text, line_starts, line_ends, name_bytes, name_offsets, kinds, required, fast, starts, ends, values):
    for i in range(line_starts.shape[0]):
        ok = _read_line(text, line_starts[i], line_ends[i], name_bytes, name_offsets, kinds,
                        starts, ends, values, i)
        if ok:
            for f in range(kinds.shape[0]):
                if required[f] and (starts[f, i] == ABSENT or ends[f, i] == starts[f, i]):
                    ok = False  # missing or empty: the general reader names the reason
                    break
        fast[i] = ok

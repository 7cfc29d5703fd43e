"""Compiled loops (numba) over Arrow string buffers, for the per-row work numpy does badly.

Reading msisdns as numbers and hashing record ids took Arrow's regex, join and cast kernels
or numpy passes per 8 bytes: about 0.5 µs a record between them, a sixth of rating. Each loop
here reads the string's bytes once. `bytes_and_offsets` hands them over without a copy.
"""
from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa

_NO_BYTES = np.zeros(0, dtype=np.uint8)
_NO_BYTES.flags.writeable = False
MAX_CODE_DIGITS = 18  # "1" + 18 digits still fits in an int64
POWERS_OF_TEN = np.array([10**k for k in range(19)], dtype=np.int64)  # every one an int64 holds


def bytes_and_offsets(strings: pa.Array, widen: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A string or binary array's character buffer and its offsets, without copying the text.

    The offsets come as int64 (a copy), or with `widen=False` as the array's own 32- or 64-bit
    offsets, read-only and not copied: for a kernel that reads a few strings of a large array.
    """
    wide = pa.types.is_large_string(strings.type) or pa.types.is_large_binary(strings.type)
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64 if wide else np.int32,
                            count=len(strings) + 1, offset=strings.offset * (8 if wide else 4))
    data = strings.buffers()[2]
    return ((read_only(np.frombuffer(data, dtype=np.uint8)) if data is not None else _NO_BYTES),
            offsets.astype(np.int64) if widen else offsets)


def read_only(data: np.ndarray) -> np.ndarray:
    """A read-only view: Numba compiles once per argument type, and whether a buffer is
    writable depends on who allocated it (Arrow or Python)."""
    view = data.view()
    view.flags.writeable = False
    return view


def single_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values as one array (a single chunk as it is, without a copy)."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def valid_mask(values: pa.Array) -> np.ndarray:
    """True for each non-null value."""
    if values.null_count == 0:
        return np.ones(len(values), dtype=np.bool_)
    return values.is_valid().to_numpy(zero_copy_only=False)


@numba.njit(cache=True, nogil=True, inline="always")
def _digits_after(lead: np.int64, data: np.ndarray, start: int, end: int) -> np.int64:
    """`lead` followed by the ASCII digits data[start:end], as a number; -1 at a non-digit."""
    value = lead
    for j in range(start, end):
        digit = np.int64(data[j]) - 48
        if digit < 0 or digit > 9:
            return np.int64(-1)
        value = value * 10 + digit
    return value


@numba.njit(cache=True, nogil=True)
def digit_codes(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """int64 of "1" followed by each string's digits; -1 unless 1-18 ASCII digits and valid."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        valid_size = valid[i] and 1 <= end - start <= MAX_CODE_DIGITS
        out[i] = _digits_after(np.int64(1), data, start, end) if valid_size else -1
    return out


@numba.njit(cache=True, nogil=True)
def tail_moduli(data: np.ndarray, offsets: np.ndarray, digits: int, modulus: int) -> np.ndarray:
    """Per string, the number its last `digits` characters (all of a shorter one) write, modulo
    `modulus`; -1 where those characters are not all ASCII digits or the string is empty."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        start, end = max(offsets[i], offsets[i + 1] - digits), offsets[i + 1]
        value = _digits_after(np.int64(0), data, start, end) if end > start else -1
        out[i] = value % modulus if value >= 0 else -1
    return out


@numba.njit(cache=True, nogil=True)
def add_at(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """`target[index[i]] += values[i]` for every i, repeats adding up (numpy's `add.at`,
    which is an order of magnitude slower)."""
    for i in range(index.shape[0]):
        target[index[i]] += values[i]


@numba.njit(cache=True, nogil=True, inline="always")
def _mix(h: np.uint64) -> np.uint64:
    """splitmix64's finaliser after adding the golden ratio, as `rating.hashing` defines it."""
    h = h + np.uint64(0x9E3779B97F4A7C15)
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def seeded_hashes(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray, seeds: np.ndarray,
                  seeded: bool) -> np.ndarray:
    """The `rating.hashing` hash of each string (a null as empty): length, then the seed when
    `seeded`, then the bytes eight at a time as little-endian words, zero-padded."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        start = offsets[i]
        length = offsets[i + 1] - start if valid[i] else 0
        h = _mix(np.uint64(length))
        if seeded:
            h = _mix(h ^ np.uint64(seeds[i]))
        for j in range(0, length, 8):
            word = np.uint64(0)
            for b in range(min(8, length - j)):
                word |= np.uint64(data[start + j + b]) << np.uint64(8 * b)
            h = _mix(h ^ word)
        out[i] = h
    return out


@numba.njit(cache=True, nogil=True)
def trie_matches(data: np.ndarray, offsets: np.ndarray, valid: np.ndarray, children: np.ndarray,
                 labels: np.ndarray) -> np.ndarray:
    """Label of the deepest labelled trie node on each string's path (a null as empty); -1 if none."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.int32)
    for i in range(n):
        best = labels[0]
        node = 0
        if valid[i]:
            for j in range(offsets[i], offsets[i + 1]):
                node = children[node, data[j]]
                if node < 0:
                    break
                if labels[node] >= 0:
                    best = labels[node]
        out[i] = best
    return out


@numba.njit(cache=True, nogil=True)
def picked_strings(data: np.ndarray, offsets: np.ndarray, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, int64 offsets) of the strings `picks` names (an index into `offsets`, 32- or
    64-bit; -1 gives an empty slot, for a null)."""
    n = picks.shape[0]
    out_offsets = np.empty(n + 1, dtype=np.int64)
    total = 0
    for i in range(n):
        out_offsets[i] = total
        if picks[i] >= 0:
            total += offsets[picks[i] + 1] - offsets[picks[i]]
    out_offsets[n] = total
    out = np.empty(total, dtype=np.uint8)
    for i in range(n):
        k = picks[i]
        if k >= 0:
            at = out_offsets[i]
            for j in range(offsets[k], offsets[k + 1]):
                out[at] = data[j]
                at += 1
    return out, out_offsets


def picked(strings: pa.Array, picks: np.ndarray) -> pa.Array:
    """`strings.take(picks)` with null where a pick is negative (or picks a null), by one
    compiled pass.

    Arrow's take costs ~60 µs even for a few thousand short strings (measured), and a rating
    call makes eight of them for plan ids, payments, classes, zones, statuses and reasons.
    """
    picks = np.ascontiguousarray(picks, dtype=np.int64)
    # The array's own offsets: widening a million subscribers' offsets cost ~0.9 ms a call.
    data, offsets = bytes_and_offsets(strings, widen=False)
    out, out_offsets = picked_strings(data, offsets, picks)
    valid = picks >= 0
    if out_offsets[-1] >= 2**31:  # past what a string array's 32-bit offsets reach
        return strings.take(pa.array(np.where(valid, picks, 0), mask=~valid)).cast(pa.string())
    if strings.null_count:
        valid &= valid_mask(strings)[np.maximum(picks, 0)]
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.string(), picks.shape[0],
                                 [bitmap, pa.py_buffer(out_offsets.astype(np.int32)), pa.py_buffer(out)])


def newline_positions(text: bytes) -> np.ndarray:
    """Where each newline (0x0A) of `text` is, ascending.

    Eight bytes at a time: a word is looked into only when it holds a newline, which in
    NDJSON is one word in thirty. A quarter of the time of numpy's `flatnonzero(a == 10)`.
    """
    data = np.frombuffer(text, dtype=np.uint8)
    words = np.frombuffer(text, dtype=np.uint64, count=len(text) // 8)
    found = np.empty(len(text) // 64 + 64, dtype=np.int64)  # room for lines of 64 bytes and more
    count = _newlines(data, words, found)
    if count > found.shape[0]:  # shorter lines: count known, fill again
        found = np.empty(count, dtype=np.int64)
        _newlines(data, words, found)
    return found[:count]


@numba.njit(cache=True, nogil=True)
def _newlines(data, words, found):
    """Writes newline positions into `found` while it has room; returns how many there are."""
    ones = np.uint64(0x0101010101010101)
    highs = np.uint64(0x8080808080808080)
    newlines = np.uint64(0x0A0A0A0A0A0A0A0A)
    count = 0
    for w in range(words.shape[0]):
        v = words[w] ^ newlines  # a newline byte becomes a zero byte
        if (v - ones) & ~v & highs:  # the word has a zero byte (exact: no false alarm)
            for j in range(w * 8, w * 8 + 8):
                if data[j] == 0x0A:
                    if count < found.shape[0]:
                        found[count] = j
                    count += 1
    for j in range(words.shape[0] * 8, data.shape[0]):
        if data[j] == 0x0A:
            if count < found.shape[0]:
                found[count] = j
            count += 1
    return count


def warm_up() -> None:
    """Loads (or on a first run compiles) the kernels before the first batch needs them."""
    from rating import balances, calendar, code_index, grouped, seen_ids  # modules of their own; loaded with the others

    code_index.warm_up()
    balances.warm_up()
    calendar.local_times(np.zeros(1, dtype=np.int64), "UTC")
    calendar.civil_dates(np.zeros(1, dtype=np.int64))
    one, zero = np.ones(1, dtype=np.bool_), np.zeros(1, dtype=np.int64)
    grouped.stable_order(zero, 1)
    grouped.latest_by_key(zero, zero, 1)
    grouped.running_max(zero, one, zero)
    grouped.cumsum_before(zero, one)
    newline_positions(b"{}\n" * 9)
    picked(pa.array(["a"]), np.array([0, -1], dtype=np.int64))
    seen_ids.warm_up()
    data, offsets = bytes_and_offsets(pa.array(["1"]))
    digit_codes(data, offsets, np.ones(1, dtype=np.bool_))
    tail_moduli(data, offsets, 6, 2)
    add_at(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64))
    seeded_hashes(data, offsets, np.ones(1, dtype=np.bool_), np.zeros(1, dtype=np.int64), True)
    trie_matches(data, offsets, np.ones(1, dtype=np.bool_), read_only(np.full((1, 256), -1, dtype=np.int32)),
                 read_only(np.full(1, -1, dtype=np.int32)))

"""Position of each msisdn code in a list of codes: an open-addressing hash table (numba).

The engine looks codes up several times a call (subscribers in the reference, slots in the
state, balances at the end). pandas' `Index.get_indexer` wraps every input in a new Index
first: about 0.2 ms a lookup whatever its size, 2 ms of the ~14 ms a 2,000-row call cost
(measured). Here a lookup is one compiled loop, and codes are added without rebuilding.
"""
from __future__ import annotations

import numba
import numpy as np

_EMPTY = -1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@numba.njit(cache=True, nogil=True, inline="always")
def _home(code: np.int64, shift: np.uint64) -> np.int64:
    """Fibonacci hashing: the top bits of code × 2^64/φ."""
    return np.int64((np.uint64(code) * _GOLDEN) >> shift)


@numba.njit(cache=True, nogil=True)
def _inserted(keys: np.ndarray, values: np.ndarray, shift: np.uint64, codes: np.ndarray,
              positions: np.ndarray) -> np.int64:
    """Puts codes[i] -> positions[i] where the code is not there yet (a repeat keeps its first
    position; negative codes, the invalid ones, are left out); returns how many went in."""
    mask = keys.shape[0] - 1
    added = 0
    for i in range(codes.shape[0]):
        code = codes[i]
        if code < 0:
            continue
        at = _home(code, shift)
        while values[at] != _EMPTY and keys[at] != code:
            at = (at + 1) & mask
        if values[at] == _EMPTY:
            keys[at] = code
            values[at] = positions[i]
            added += 1
    return added


@numba.njit(cache=True, nogil=True)
def _looked_up(keys: np.ndarray, values: np.ndarray, shift: np.uint64, codes: np.ndarray) -> np.ndarray:
    mask = keys.shape[0] - 1
    out = np.empty(codes.shape[0], dtype=np.int64)
    for i in range(codes.shape[0]):
        code = codes[i]
        found = _EMPTY
        if code >= 0:
            at = _home(code, shift)
            while values[at] != _EMPTY:
                if keys[at] == code:
                    found = values[at]
                    break
                at = (at + 1) & mask
        out[i] = found
    return out


class CodeIndex:
    """Positions of non-negative int64 codes; `positions` answers -1 for a code not added.

    Codes are numbered in the order they are added (`extend`), so an index over a column
    gives row numbers. At most half the table is used, so probes stay short.
    """

    def __init__(self, codes: np.ndarray | None = None) -> None:
        self._keys = np.zeros(16, dtype=np.int64)
        self._values = np.full(16, _EMPTY, dtype=np.int64)
        self._shift = np.uint64(64 - 4)
        self._used = 0
        self.size = 0  # positions handed out, repeats and invalid codes included
        if codes is not None:
            self.extend(codes)

    def extend(self, codes: np.ndarray) -> None:
        """Numbers `codes` from `size` on (a code already present keeps its position)."""
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        need = 2 * (self._used + codes.shape[0])
        if need > self._keys.shape[0]:
            self._grow(need)
        positions = np.arange(self.size, self.size + codes.shape[0], dtype=np.int64)
        self._used += int(_inserted(self._keys, self._values, self._shift, codes, positions))
        self.size += codes.shape[0]

    def positions(self, codes: np.ndarray) -> np.ndarray:
        """Position of each code; -1 where absent."""
        return _looked_up(self._keys, self._values, self._shift, np.ascontiguousarray(codes, dtype=np.int64))

    def _grow(self, capacity: int) -> None:
        bits = max(4, int(capacity - 1).bit_length())
        keys, values = self._keys, self._values
        self._keys = np.zeros(1 << bits, dtype=np.int64)
        self._values = np.full(1 << bits, _EMPTY, dtype=np.int64)
        self._shift = np.uint64(64 - bits)
        held = values != _EMPTY
        _inserted(self._keys, self._values, self._shift, keys[held], values[held])


def warm_up() -> None:
    """Loads (or on a first run compiles) the table's loops before the first batch needs them."""
    CodeIndex(np.array([1, 2], dtype=np.int64)).positions(np.array([2, 3], dtype=np.int64))

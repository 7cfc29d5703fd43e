"""Stable 64-bit hashes of string columns, computed on the Arrow buffers with numpy.

Used to remember rated record ids compactly (8 bytes each). The hash mixes the string's
length and its bytes, eight at a time, through the splitmix64 finaliser; it is the same in
every process and version of this module (state snapshots depend on that).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(h: np.ndarray) -> np.ndarray:
    h = h + _GOLDEN
    h = (h ^ (h >> np.uint64(30))) * _M1
    h = (h ^ (h >> np.uint64(27))) * _M2
    return h ^ (h >> np.uint64(31))


def string_hashes(values: pa.Array | pa.ChunkedArray, seed: np.ndarray | None = None) -> np.ndarray:
    """uint64 hash of each string (null hashes as empty), optionally mixed with ``seed``."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    values = pc.fill_null(values, "").cast(pa.large_string())
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64, count=values.offset + n + 1)[values.offset :]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    with np.errstate(over="ignore"):
        h = _mix(lengths.astype(np.uint64))
        if seed is not None:
            h = _mix(h ^ np.asarray(seed).astype(np.uint64))
        lane = np.arange(8, dtype=np.int64)
        longest = int(lengths.max())
        for j in range(0, longest, 8):
            rows = np.flatnonzero(lengths > j)
            idx = starts[rows, None] + j + lane
            chunk = padded[np.minimum(idx, padded.shape[0] - 1)]
            chunk[(j + lane)[None, :] >= lengths[rows, None]] = 0
            word = np.ascontiguousarray(chunk).view("<u8")[:, 0]
            h[rows] = _mix(h[rows] ^ word)
    return h

"""Stable 64-bit hashes of string columns.

Used to remember rated record ids compactly (8 bytes each). The hash mixes the string's
length, an optional seed, and its bytes eight at a time (little-endian, zero-padded), each
through the splitmix64 finaliser; it is the same in every process and version of this
module (state snapshots depend on that). The loop is compiled (`rating.kernels`).
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from rating.kernels import bytes_and_offsets, seeded_hashes, single_chunk, valid_mask


def string_hashes(values: pa.Array | pa.ChunkedArray, seed: np.ndarray | None = None) -> np.ndarray:
    """uint64 hash of each string (null hashes as empty), optionally mixed with ``seed``."""
    values = single_chunk(values)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    data, offsets = bytes_and_offsets(values)
    seeds = np.zeros(n, dtype=np.int64) if seed is None else np.asarray(seed).astype(np.uint64).view(np.int64)
    return seeded_hashes(data, offsets, valid_mask(values), seeds, seed is not None)

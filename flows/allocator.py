"""How a file command asks glibc for memory: large arrays from the heap, kept for reuse.

By default glibc serves an allocation above its mmap threshold (128 KiB, rising to at
most 32 MiB) with fresh pages and gives them back when it is freed. Each batch of
`revguard rate` allocates arrays of tens of megabytes, so every batch touched new pages,
each touch a page fault: ~115,000 faults and ~0.4 s of kernel time per million records,
a sixth of the run. Raising the mmap and trim thresholds keeps freed arrays in the heap
for the next batch. The process keeps its high-water mark until it ends, which suits a
command that rates a file and exits; the long-running stream keeps glibc's defaults.
"""
from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def reuse_large_allocations(limit: int = 1 << 30) -> bool:
    """Allocations up to `limit` bytes come from the heap and freed memory stays there;
    False where the C library is not glibc (nothing is changed then)."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, limit)) and bool(mallopt(_M_TRIM_THRESHOLD, 2 * limit - 1))

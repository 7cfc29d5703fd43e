"""After `reuse_large_allocations`, arrays freed by worker threads are reused by the next
ones: batches of arrays of megabytes, allocated, touched and freed by two threads as the
flow's workers do, fault a fraction of the pages they fault under glibc's defaults."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import resource, sys, threading
import numpy as np
from flows.allocator import reuse_large_allocations
if sys.argv[1] == "reuse":
    assert reuse_large_allocations()
def batches(count):
    for k in range(count):
        arrays = [np.empty((size + k % 3) << 20, dtype=np.uint8) for size in (3, 9, 17)]
        for array in arrays:
            array[::4096] = 1  # a byte a page
        del arrays
def faults(count):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    workers = [threading.Thread(target=batches, args=(count,)) for _ in range(2)]
    [w.start() for w in workers]
    [w.join() for w in workers]
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults(2)
print(faults(20))
"""


def page_faults(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(result.stdout)


def test_worker_threads_reuse_freed_arrays_instead_of_faulting_new_pages() -> None:
    default, reused = page_faults("default"), page_faults("reuse")
    assert reused * 3 < default, (reused, default)

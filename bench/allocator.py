"""Page faults of worker threads allocating batch-sized arrays, with and without
`flows.allocator.reuse_large_allocations`, each side a fresh process, alternating.

    .venv/bin/python -m bench.allocator [--runs N] [--batches B]

Two threads allocate, touch (a byte a page) and free arrays of 3, 9 and 17 MB per batch,
as the file flow's workers do. Under glibc's defaults each batch gets fresh pages, so every
touch faults; with the thresholds raised the freed arrays are reused. The baseline is the
defaults, measured in the same run: the figure is the ratio of the medians. A count of page
faults depends on the machine and its load, which is why it is measured here and not
asserted by a test.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

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
print(faults(int(sys.argv[2])))
"""


def page_faults(mode: str, batches: int) -> int:
    """Minor page faults of `batches` batches per thread in a fresh process (after a warm-up)."""
    result = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(batches)], cwd=REPO,
                            capture_output=True, text=True, check=True)
    return int(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    default, reused = [], []
    for _ in range(args.runs):
        default.append(page_faults("default", args.batches))
        reused.append(page_faults("reuse", args.batches))
    d, r = statistics.median(default), statistics.median(reused)
    print(f"glibc defaults (baseline) : {d:>10,.0f} page faults  (median of {args.runs}: {default})")
    print(f"reuse_large_allocations   : {r:>10,.0f} page faults  (median of {args.runs}: {reused})")
    print(f"ratio reuse / defaults    : {r / d:>10.3f}")


if __name__ == "__main__":
    main()

"""Simulator throughput beside a raw line-writing baseline on the same disk.

    .venv/bin/python bench/simulate.py [--subscribers N] [--days D] [--dir DIR]

The baseline writes as many lines, of the same average length, as the simulation wrote to
its NDJSON files, with a plain Python loop over one pre-encoded line: the floor any
line-at-a-time generator pays for output alone. The ratio says how much the simulation
(traffic generation, Decimal reference rating, faults, formatting) costs on top of it.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.simulator import simulate  # noqa: E402

NDJSON = ("network.ndjson", "billed.ndjson", "adjustments.ndjson", "truth.ndjson")


def baseline_seconds(path: Path, lines: int, line_length: int) -> float:
    """Seconds to write `lines` pre-encoded lines of `line_length` bytes one by one."""
    line = (b"x" * (line_length - 1)) + b"\n"
    began = time.perf_counter()
    with open(path, "wb", buffering=1 << 20) as handle:
        for _ in range(lines):
            handle.write(line)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="revguard-bench-", dir=args.dir))
    try:
        load = os.getloadavg()[0]
        began = time.perf_counter()
        summary = simulate(work / "sim", subscribers=args.subscribers, days=args.days,
                           progress=False, workers=args.workers)
        simulated = time.perf_counter() - began

        lines = sum(summary.files[name] for name in NDJSON)
        size = sum((work / "sim" / name).stat().st_size for name in NDJSON)
        raw = baseline_seconds(work / "baseline.ndjson", lines, max(2, round(size / lines)))

        network = summary.files["network.ndjson"]
        workers = args.workers or os.cpu_count()
        print(f"simulate {args.subscribers:,} subscribers x {args.days} days, {workers} worker(s): "
              f"{simulated:.1f} s (load average before: {load:.1f})")
        print(f"  network records      {network:>12,}  {network / simulated:>12,.0f} records/s")
        print(f"  NDJSON lines written {lines:>12,}  {lines / simulated:>12,.0f} lines/s"
              f"  ({size / lines:.0f} B/line, {size / 1e6:.0f} MB)")
        print(f"raw write baseline, same lines and bytes: {raw:.2f} s  {lines / raw:,.0f} lines/s")
        print(f"ratio simulator / baseline: {simulated / raw:.1f}x slower")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""`revguard rate` throughput beside pyarrow's NDJSON parse of the same file, in the same run.

    .venv/bin/python -m bench.rate_file [--records N] [--repeat R (5)] [--dir DIR]

The data is a simulated operator (`flows.simulator`, every plan, faults included) sized to
about N network records, cached under bench/out/. The baseline is `pyarrow.json.read_json`
of the same network.ndjson with an explicit schema: the fastest way to merely parse it.
`revguard rate` parses, validates, places adjustments, rates every record through the
Bytewax dataflow and writes one NDJSON line per input line. Medians of R runs; the ratio
(rate / parse) is what to compare across machines.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pyarrow.json as pj

from flows.rate_file import rate_file
from flows.simulator import simulate
from rating.records import NETWORK_SCHEMA

OUT = Path(__file__).resolve().parent / "out"
RECORDS_PER_SUBSCRIBER_DAY = 20  # what the simulator produces on average
NETWORK_JSON = NETWORK_SCHEMA  # the record contract: timestamps parsed, as the flow must


def simulated(records: int, directory: Path | None) -> Path:
    days = 7
    directory = directory or OUT / f"rate-{records}"
    if not (directory / "network.ndjson").exists():
        subscribers = max(100, records // (RECORDS_PER_SUBSCRIBER_DAY * days))
        simulate(directory, subscribers=subscribers, days=days, seed=11, fault_rate=0.01, progress=True)
    return directory


def parse_seconds(path: Path) -> float:
    began = time.perf_counter()
    table = pj.read_json(path, parse_options=pj.ParseOptions(explicit_schema=NETWORK_JSON,
                                                             unexpected_field_behavior="ignore"))
    assert table.num_rows > 0
    return time.perf_counter() - began


def rate_seconds(directory: Path, output: Path, workers: int) -> tuple[float, dict[str, int]]:
    # The last run's output is deleted first, outside the timing: overwriting a file of
    # half a gigabyte first frees its blocks, which costs ext4 with `discard` up to a second
    # of kernel time. That is the previous run's bill, not this run's rating.
    output.unlink(missing_ok=True)
    os.sync()
    began = time.perf_counter()
    counts = rate_file(directory / "catalog.yaml", directory / "subscribers.csv", directory / "network.ndjson",
                       output, directory / "adjustments.ndjson", workers=workers)
    return time.perf_counter() - began, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="a simulated directory to use instead")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="as `revguard rate --workers`")
    args = parser.parse_args()
    directory = simulated(args.records, args.dir)
    network = directory / "network.ndjson"
    lines = sum(1 for _ in network.open("rb"))
    size_mb = network.stat().st_size / 1e6
    parse, rate, counts = [], [], {}
    for _ in range(args.repeat):
        parse.append(parse_seconds(network))
        seconds, counts = rate_seconds(directory, OUT / "rated.ndjson", args.workers)
        rate.append(seconds)
    p, r = statistics.median(parse), statistics.median(rate)
    print(f"input: {lines:,} network records, {size_mb:,.0f} MB ({directory})")
    print(f"counts: {counts}")
    print(f"pyarrow NDJSON parse : {lines / p:>12,.0f} records/s  (median of {args.repeat}: {p:.2f} s)")
    print(f"revguard rate        : {lines / r:>12,.0f} records/s  (median of {args.repeat}: {r:.2f} s, "
          f"{args.workers} worker(s))")
    print(f"runs (s)             : parse {' '.join(f'{x:.2f}' for x in parse)}; rate {' '.join(f'{x:.2f}' for x in rate)}")
    print(f"ratio rate/parse     : {p / r:.3f}   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()

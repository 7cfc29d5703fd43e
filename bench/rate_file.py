"""`revguard rate` throughput beside pyarrow's NDJSON parse of the same file, in the same run.

    .venv/bin/python -m bench.rate_file [--records N] [--repeat R (5)] [--dir DIR] [--whole-process]

The data is a simulated operator (`flows.simulator`, every plan, faults included) sized to
about N network records, cached under bench/out/. The baseline is `pyarrow.json.read_json`
of the same network.ndjson with an explicit schema: the fastest way to merely parse it.
`revguard rate` parses, validates, places adjustments, rates every record through the
Bytewax dataflow and writes one NDJSON line per input line. Medians of R runs; the ratio
(rate / parse) is what to compare across machines.

`--whole-process` measures what a user pays: each side is a fresh process, started in turn
(`revguard rate ...` against `python -c 'import pyarrow.json as j; j.read_json(F)'`), with
wall time, CPU time in user and kernel mode and page faults of each child. The first
`revguard rate` of the invocation is reported apart (right after `make install` it is the
first run after install) and the medians are of the R runs after it.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ProcessRun:
    """One child process: wall seconds, CPU seconds in user and kernel mode, page faults."""

    wall: float
    user: float
    system: float
    minor_faults: int
    major_faults: int


def process_run(command: list[str]) -> ProcessRun:
    """Runs `command` to its end (its output discarded) and measures it from outside."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ProcessRun(wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime,
                      after.ru_minflt - before.ru_minflt, after.ru_majflt - before.ru_majflt)


def rate_command(directory: Path, output: Path, workers: int) -> list[str]:
    return [str(Path(sys.executable).with_name("revguard")), "rate", "--catalog", str(directory / "catalog.yaml"),
            "--subscribers", str(directory / "subscribers.csv"), "--input", str(directory / "network.ndjson"),
            "--adjustments", str(directory / "adjustments.ndjson"), "--output", str(output), "--workers", str(workers)]


def parse_command(network: Path) -> list[str]:
    return [sys.executable, "-c", f"import pyarrow.json as j; j.read_json({str(network)!r})"]


def whole_process(directory: Path, repeat: int, workers: int, lines: int) -> None:
    """Each side a fresh process, in turn; the first rate run apart."""
    network, output = directory / "network.ndjson", OUT / "rated.ndjson"

    def rated() -> ProcessRun:
        output.unlink(missing_ok=True)  # outside the timing, as in-process (see `rate_seconds`)
        os.sync()
        return process_run(rate_command(directory, output, workers))

    first = rated()
    parse, rate = [], []
    for _ in range(repeat):
        parse.append(process_run(parse_command(network)))
        rate.append(rated())

    def median(runs: list[ProcessRun], name: str) -> float:
        return statistics.median(getattr(r, name) for r in runs)

    p, r = median(parse, "wall"), median(rate, "wall")
    print(f"input: {lines:,} network records ({directory}), whole processes, {workers} worker(s)")
    for label, runs in (("pyarrow read_json", parse), ("revguard rate", rate)):
        print(f"{label:<18}: wall {median(runs, 'wall'):.2f} s, user {median(runs, 'user'):.2f} s, "
              f"kernel {median(runs, 'system'):.2f} s, minor faults {median(runs, 'minor_faults'):,.0f} "
              f"(median of {repeat}; walls {' '.join(f'{x.wall:.2f}' for x in runs)})")
    print(f"first rate run     : wall {first.wall:.2f} s, user {first.user:.2f} s, kernel {first.system:.2f} s, "
          f"minor faults {first.minor_faults:,} ({first.wall / r:.2f} x the median of the later ones)")
    print(f"ratio parse/rate   : {p / r:.3f} whole process; first run {p / first.wall:.3f} "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="a simulated directory to use instead")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="as `revguard rate --workers`")
    parser.add_argument("--whole-process", action="store_true",
                        help="each side a fresh process, as a user runs it (the first rate run reported apart)")
    args = parser.parse_args()
    directory = simulated(args.records, args.dir)
    network = directory / "network.ndjson"
    lines = sum(1 for _ in network.open("rb"))
    size_mb = network.stat().st_size / 1e6
    if args.whole_process:
        OUT.mkdir(parents=True, exist_ok=True)
        whole_process(directory, args.repeat, args.workers, lines)
        return
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

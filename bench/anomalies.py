"""What `revguard score` costs for the anomaly models: time, peak memory, ClickHouse against Python.

    .venv/bin/python -m bench.anomalies [--subscribers 100000] [--days 7] [--seed 61] [--runs 3]

Simulates and loads once (not timed), then scores the whole range `--runs` times, each in a
fresh process on the same embedded store (so its peak RSS is scoring's own, chDB included):
medians of wall time, of the seconds inside ClickHouse queries (feature queries, the range,
the catalog, the DELETE and INSERT of the results) and of the rest (pandas, scikit-learn
fits and scores, event building). Baseline in the same run: one GROUP BY msisdn, hour scan
of `rated_usage` (reading the data once in ClickHouse, the floor of any feature query).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

SCAN = ("SELECT msisdn, toStartOfHour(start_time) AS h, count(), sum(charge) FROM revguard.rated_usage FINAL "
        "WHERE status = 'rated' GROUP BY msisdn, h FORMAT Null")


def prepare(root: Path, subscribers: int, days: int, seed: int) -> int:
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate
    from flows.load import load_directory
    from flows.simulator import simulate

    simulate(root / "sim", subscribers=subscribers, days=days, seed=seed, start=date(2026, 11, 1),
             fault_rate=0.01, progress=False)
    client = store_client(f"chdb://{root}/chdb")
    migrate(client)
    load_directory(client, root / "sim", progress=False)
    shutil.rmtree(root / "sim")
    return int(client.query("SELECT count() FROM revguard.rated_usage").result_rows[0][0])


def score_once(root: Path) -> dict:
    """One scoring run in this process; prints its figures as one JSON line."""
    import resource

    from clickhouse.client import store_client

    client = store_client(f"chdb://{root}/chdb")
    inside = [0.0]
    for name in ("query", "command", "insert"):
        original = getattr(client, name)

        def timed(*args, _original=original, **kwargs):
            t = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                inside[0] += time.perf_counter() - t
        setattr(client, name, timed)
    from assurance.models.detection import score_anomalies

    scan = time.perf_counter()
    client.command(SCAN)
    scan = time.perf_counter() - scan
    inside[0] = 0.0
    t = time.perf_counter()
    run = score_anomalies(client, root / "home", retrain=True)
    wall = time.perf_counter() - t
    return {"wall": wall, "clickhouse": inside[0], "scan": scan,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "events": {k.kind: len(k.events) for k in run.kinds}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=61)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--score-once", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score_once:
        print(json.dumps(score_once(args.score_once)))
        return
    if args.prepare:
        print(prepare(args.prepare, args.subscribers, args.days, args.seed))
        return
    root = Path(tempfile.mkdtemp(prefix="revguard-bench-anomalies-"))
    try:
        # chDB opens a store in one process at a time: preparing and each scoring run get their own
        out = subprocess.run([sys.executable, "-m", "bench.anomalies", "--prepare", str(root),
                              "--subscribers", str(args.subscribers), "--days", str(args.days),
                              "--seed", str(args.seed)], stdout=subprocess.PIPE, text=True, check=True)
        records = int(out.stdout.strip().splitlines()[-1])
        results = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, "-m", "bench.anomalies", "--score-once", str(root)],
                                 capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        wall = statistics.median(r["wall"] for r in results)
        inside = statistics.median(r["clickhouse"] for r in results)
        scan = statistics.median(r["scan"] for r in results)
        peak = statistics.median(r["peak_rss_mb"] for r in results)
        print(f"{args.subscribers:,} subscribers x {args.days} days: {records:,} rated records, "
              f"median of {args.runs} scoring runs (fit and score, all three kinds)")
        print(f"  scoring wall time        {wall:8.1f} s")
        print(f"  inside ClickHouse        {inside:8.1f} s ({100 * inside / wall:.0f} %)")
        print(f"  in Python                {wall - inside:8.1f} s ({100 * (wall - inside) / wall:.0f} %)")
        print(f"  peak RSS of the process  {peak:8.0f} MB (chDB included)")
        print(f"  baseline: one GROUP BY msisdn, hour scan of rated_usage {scan:.1f} s; "
              f"scoring = {wall / scan:.1f}x that scan")
        print(f"  events found: {results[0]['events']}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""How well `revguard score` finds the simulator's anomalies, on seeds and sizes no test uses.

    .venv/bin/python -m bench.anomaly_quality [--runs SUBSCRIBERSxDAYSxSEEDxRATE ...]

Each run simulates, loads into a fresh embedded store, fits every anomaly model on the run
(`--retrain`: thresholds from that run's data, never from truth.ndjson) and scores the events
against the truth (`assurance.models.measure`: keys agree and windows overlap). Printed per
run and pooled, model beside its simple baseline rule measured in the same run: precision,
recall, money estimated against injected, false sim_box per 10,000 normal subscribers, and
the volume_truncation delays (found start minus true start).
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from assurance.models.anomalies import KINDS
from assurance.models.detection import score_anomalies
from assurance.models.measure import score_events
from clickhouse.client import store_client
from clickhouse.migrations import migrate
from flows.load import load_directory
from flows.simulator import simulate

# Seeds and sizes the tests do not use (the tests use hand-made stores and tiny simulations
# with seeds 5 and 7); 0.01 is the default fault rate, 0.0033 the 3x lower one. At 0.0033 a
# gateway is cut with probability 0.165, so seeds 47, 48, 50 and 54 are added because their
# draw holds a truncation (`anomalies.truncations`, known before any detection runs).
DEFAULT_RUNS = ("3000x7x41x0.01", "5000x5x42x0.01", "2000x10x43x0.01",
                "3000x7x44x0.0033", "4000x5x45x0.0033", "4000x7x46x0.0033",
                "2000x4x47x0.0033", "2000x4x48x0.0033", "2000x4x50x0.0033", "2000x4x54x0.0033")
TABLES = ("SELECT name FROM system.tables WHERE database = 'revguard' AND name != 'schema_migrations' "
          "AND engine NOT LIKE '%View%'")


def scored_run(client, subscribers: int, days: int, seed: int, rate: float, root: Path) -> dict:
    out = root / f"sim-{subscribers}-{days}-{seed}"
    simulate(out, subscribers=subscribers, days=days, seed=seed, start=date(2026, 11, 1), fault_rate=rate,
             progress=False)
    for (name,) in client.query(TABLES).result_rows:  # one store per process (chDB): emptied per run
        client.command(f"TRUNCATE TABLE revguard.`{name}`")
    load_directory(client, out)
    shutil.rmtree(root / "home", ignore_errors=True)
    run = score_anomalies(client, root / "home", retrain=True)
    truth = [json.loads(line) for line in (out / "truth.ndjson").read_text().splitlines() if line]
    with (out / "subscribers.csv").open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    boxes = {t["msisdn"] for t in truth if t["kind"] == "sim_box"}
    business = {r["msisdn"] for r in lines if r.get("segment") == "business"}
    found_boxes = run.kind("sim_box").events
    false_boxes = [a for a in found_boxes if a.msisdn not in boxes]
    result = {"normal_subscribers": len(lines) - len(boxes), "false_sim_box": len(false_boxes),
              "false_sim_box_business": sum(a.msisdn in business for a in false_boxes)}
    for k in run.kinds:
        result[k.kind] = {"model": score_events(k.events, truth)[k.kind],
                          "baseline": score_events(k.baseline, truth)[k.kind]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=list(DEFAULT_RUNS))
    args = parser.parse_args()
    pooled: dict[tuple[str, str, str], list] = {}
    delays: dict[str, list[float]] = {}
    false_boxes: dict[str, list[int]] = {}
    root = Path(tempfile.mkdtemp(prefix="revguard-bench-anomalies-"))
    try:
        client = store_client(f"chdb://{root}/chdb")
        migrate(client)
        print(f"{'run':<18} {'kind':<18} {'method':<8} {'found':>6} {'injected':>8} {'precision':>9} {'recall':>7}"
              f" {'estimated':>12} {'injected':>12}", flush=True)
        for spec in args.runs:
            subscribers, days, seed, rate = spec.split("x")
            result = scored_run(client, int(subscribers), int(days), int(seed), float(rate), root)
            for kind in KINDS:
                for method in ("model", "baseline"):
                    s = result[kind][method]
                    print(f"{spec:<18} {kind:<18} {method:<8} {s.found:>6} {s.injected:>8} {_ratio(s.precision):>9}"
                          f" {_ratio(s.recall):>7} {s.money_estimated:>12.2f} {s.money_injected:>12.2f}", flush=True)
                    totals = pooled.setdefault((rate, kind, method), [0, 0, 0, 0, Decimal(0), Decimal(0)])
                    for i, v in enumerate((s.found, s.found_matched, s.injected, s.injected_matched,
                                           s.money_estimated, s.money_injected)):
                        totals[i] += v
                    if method == "model" and s.delays_s:
                        delays.setdefault(rate, []).extend(s.delays_s)
            counts = false_boxes.setdefault(rate, [0, 0, 0])
            counts[0] += result["false_sim_box"]
            counts[1] += result["false_sim_box_business"]
            counts[2] += result["normal_subscribers"]
            print(f"{spec:<18} false sim_box {result['false_sim_box']} (business lines "
                  f"{result['false_sim_box_business']}) of {result['normal_subscribers']:,} normal subscribers",
                  flush=True)
        print("\npooled by fault rate")
        for (rate, kind, method), (found, matched, injected, hit, estimated, lost) in sorted(pooled.items()):
            print(f"rate {rate:<13} {kind:<18} {method:<8} {found:>6} {injected:>8}"
                  f" {_ratio(matched / found if found else None):>9} {_ratio(hit / injected if injected else None):>7}"
                  f" {estimated:>12.2f} {lost:>12.2f}")
        for rate, (false, business, normal) in sorted(false_boxes.items()):
            print(f"rate {rate}: false sim_box {false} (business {business}) of {normal:,} normal subscribers "
                  f"= {10_000 * false / normal:.2f} per 10,000")
        for rate, values in sorted(delays.items()):
            hours = sorted(v / 3600 for v in values)
            print(f"rate {rate}: volume_truncation delay from true start, hours: {', '.join(f'{h:+.1f}' for h in hours)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()

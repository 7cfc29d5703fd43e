"""How well `element_gap` finds the simulator's outages, on seeds and sizes no test uses.

    .venv/bin/python -m bench.element_gap_detection [--runs SUBSCRIBERSxDAYSxSEEDxRATE ...]

Each run simulates, loads into a fresh embedded store, reconciles and scores element_gap
findings against truth.ndjson, apart for silences and partial drops (`assurance.scoring`:
a finding and a truth match when they concern the same element and their intervals
overlap). Quality, not speed: the baseline is the ground truth. Printed per run and pooled:
precision, recall, and the revenue the findings estimate beside the revenue the outages lost.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from datetime import date
from pathlib import Path

from assurance.export import export_discrepancies
from assurance.reconcile import reconcile
from assurance.scoring import element_gap_scores
from clickhouse.client import store_client
from clickhouse.migrations import migrate
from flows.load import load_directory
from flows.simulator import simulate

# Seeds and sizes the tests do not use (tests: 300 x 4 days seed 7, 1,200 x 3 seed 5, ...).
DEFAULT_RUNS = ("1500x2x21x0.03", "3000x3x22x0.015", "2000x14x31x0.1", "4000x7x32x0.15", "1000x10x33x0.2",
                "3000x3x34x0.2", "6000x5x35x0.1")


TABLES = "SELECT name FROM system.tables WHERE database = 'revguard' AND name != 'schema_migrations' AND engine NOT LIKE '%View%'"


def scored_run(client, subscribers: int, days: int, seed: int, rate: float, root: Path) -> dict:
    out = root / f"sim-{subscribers}-{days}-{seed}"
    simulate(out, subscribers=subscribers, days=days, seed=seed, start=date(2026, 11, 1), fault_rate=rate,
             progress=False)
    for (name,) in client.query(TABLES).result_rows:  # one store per process (chDB): emptied per run
        client.command(f"TRUNCATE TABLE revguard.`{name}`")
    load_directory(client, out)
    reconcile(client)
    export_discrepancies(client, root / "findings.ndjson")
    findings = [json.loads(line) for line in (root / "findings.ndjson").read_text().splitlines()]
    truth = [json.loads(line) for line in (out / "truth.ndjson").read_text().splitlines()]
    return element_gap_scores(findings, truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=list(DEFAULT_RUNS))
    args = parser.parse_args()
    pooled: dict[str, list[int]] = {}
    root = Path(tempfile.mkdtemp(prefix="revguard-bench-gaps-"))
    try:
        client = store_client(f"chdb://{root}/chdb")
        migrate(client)
        print(f"{'run':<18} {'outage':<13} {'findings':>8} {'injected':>8} {'precision':>9} {'recall':>7}"
              f" {'estimated':>12} {'lost':>12}")
        for spec in args.runs:
            subscribers, days, seed, rate = spec.split("x")
            scores = scored_run(client, int(subscribers), int(days), int(seed), float(rate), root)
            for outage, s in scores.items():
                print(f"{spec:<18} {outage:<13} {s.findings:>8} {s.truths:>8} {_ratio(s.precision):>9}"
                      f" {_ratio(s.recall):>7} {s.money_estimated:>12.2f} {s.money_found:>12.2f}")
                totals = pooled.setdefault(outage, [0, 0, 0, 0])
                for i, v in enumerate((s.findings, s.findings_matched, s.truths, s.truths_matched)):
                    totals[i] += v
        for outage, (findings, matched, truths, found) in pooled.items():
            print(f"{'pooled':<18} {outage:<13} {findings:>8} {truths:>8} {_ratio(matched / findings if findings else None):>9}"
                  f" {_ratio(found / truths if truths else None):>7}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()

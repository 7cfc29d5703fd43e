"""`revguard demo`: from nothing to findings on embedded defaults, in one command.

Simulate a network and a billing system with labelled faults, load and rate them into
the embedded store, reconcile, export the findings, score them against the simulator's
ground truth, and say where everything is. The demo owns its own home,
`REVGUARD_HOME/demo` (simulated files in `sim/`, the embedded store in `chdb/`), and starts
it empty every run, so its figures are those of this run only; pointing `REVGUARD_HOME`
at it afterwards lets every other command use the demo's store.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path
from time import perf_counter

from rich.table import Table

from flows.report import counts_table, stdout
from flows.errors import InputError

DEMO_START = dt.date(2026, 11, 1)


def run_demo(clickhouse_url: str | None, subscribers: int, days: int, seed: int, out_dir: Path | None) -> None:
    from assurance.export import export_discrepancies
    from assurance.reconcile import reconcile
    from assurance.scoring import score_against_truth
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate
    from flows.demo_leakage import print_leakage_risk
    from flows.load import load_directory
    from flows.simulator import simulate
    from flows.demo_churn import print_churn
    from forecasting.month_close import print_month_end

    if clickhouse_url:
        raise InputError("the demo runs on its own embedded store; unset REVGUARD_CLICKHOUSE_URL or use "
                         "`revguard load` and `revguard reconcile` against a server")
    home = Path(os.environ.get("REVGUARD_HOME", ".revguard")).resolve() / "demo"
    out_dir = (out_dir or home / "sim").resolve()
    store = home / "chdb"
    shutil.rmtree(store, ignore_errors=True)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    started = perf_counter()
    timings: list[tuple[str, str]] = []

    stdout.rule("1. simulate a network and a billing system with labelled faults")
    t = perf_counter()
    summary = simulate(out_dir, subscribers=subscribers, days=days, seed=seed, start=DEMO_START,
                       fault_rate=0.01, progress=True)
    stdout.print(counts_table(f"files in {out_dir}", summary.as_rows()))
    timings.append(("simulate", f"{perf_counter() - t:.1f} s"))

    stdout.rule("2. load into ClickHouse, rating network records on the way in")
    t = perf_counter()
    client = store_client(f"chdb://{store}")
    migrate(client)
    loaded = load_directory(client, out_dir, progress=True)
    stdout.print(counts_table("rows written to the embedded store", loaded.items()))
    timings.append(("load and rate", f"{perf_counter() - t:.1f} s"))

    stdout.rule("3. reconcile: every assurance control, in ClickHouse")
    t = perf_counter()
    result = reconcile(client, progress=True)
    stdout.print(result)
    findings_path = out_dir / "discrepancies.ndjson"
    export_discrepancies(client, findings_path)
    timings.append(("reconcile and export", f"{perf_counter() - t:.1f} s"))

    stdout.rule("4. detection measured against the simulator's ground truth")
    findings = [json.loads(line) for line in findings_path.read_text(encoding="utf-8").splitlines() if line]
    truth = [json.loads(line) for line in (out_dir / "truth.ndjson").read_text(encoding="utf-8").splitlines() if line]
    stdout.print(detection_table(score_against_truth(findings, truth)))
    print_anomaly_detection(client, home, truth)

    stdout.rule("5. for finance: where this month's usage revenue closes")
    print_month_end(client, home / "finance-sim", seed)
    stdout.rule("leakage risk: money at risk before billing closes")
    print_leakage_risk(client, home)  # issue 23

    stdout.rule("6. churn: who will leave in the next 30 days, and why (issue 23)")
    print_churn(home, seed)

    timings.append(("total", f"{perf_counter() - started:.1f} s"))
    stdout.print(counts_table("time taken", timings))
    stdout.rule("where to look next")
    # Printed without rich's wrapping: a command cut in two by the terminal width no longer
    # pastes as one, so long commands are split with shell line continuations instead.
    stdout.print(where_to_look(out_dir, findings_path, home), soft_wrap=True, markup=False, highlight=False)
    print_analysts_app(client, out_dir, home)


def print_anomaly_detection(client, home: Path, truth: list[dict]) -> None:
    """Issue 22: `revguard score`'s anomaly models fitted on this run, and their event-level
    precision, recall and money against the truth, each beside its simple baseline rule."""
    from assurance.models.detection import score_anomalies
    from assurance.models.tables import anomaly_quality_table

    run = score_anomalies(client, home, retrain=True, progress=True)
    stdout.print(anomaly_quality_table(run, truth))


def where_to_look(out_dir: Path, findings_path: Path, home: Path, on_path: bool | None = None) -> str:
    """The demo's closing block: where its files are, and commands that paste as typed."""
    if on_path is None:
        on_path = revguard_on_path()
    lines = [
        f"simulated files and ground truth: {out_dir}",
        f"findings (NDJSON, one per line):  {findings_path}",
        f"the store (embedded chDB):        {home / 'chdb'}",
        "",
    ]
    if not on_path:
        lines += [
            "revguard is not on your PATH yet; in this shell, first:",
            f"  . {Path(sys.executable).parent / 'activate'}",
            f"(or type {Path(sys.executable).parent / 'revguard'} wherever the commands below say revguard)",
            "",
        ]
    lines += [
        "use the demo's store from other commands:",
        f"  export REVGUARD_HOME={home}",
        "  revguard reconcile --from 2026-11-03 --to 2026-11-05",
        "share it with other processes (they then connect over HTTP):",
        "  revguard clickhouse serve",
        "rate a file yourself:",
        f"  revguard rate --catalog {out_dir}/catalog.yaml \\",
        f"    --subscribers {out_dir}/subscribers.csv \\",
        f"    --input {out_dir}/network.ndjson \\",
        f"    --adjustments {out_dir}/adjustments.ndjson --output rated.ndjson",
        "the stream on Kafka, step by step: README.md, \"Try the stream\"",
    ]
    return "\n".join(lines)


def print_analysts_app(client, out_dir: Path, home: Path, on_path: bool | None = None) -> None:
    """The demo's last lines (issue #21): how well the alarms rank the leakage, then the exact
    command that opens the analysts' app on the demo's store, and its address."""
    from assurance.alarms import leakage_in_top_alarms
    from dashboards.launch import DEFAULT_HOST, DEFAULT_PORT, app_url

    stdout.rule("the analysts' app")
    share = leakage_in_top_alarms(client, out_dir / "truth.ndjson", top=50)
    stdout.print(f"alarms to triage: the {min(share.top, share.alarms)} largest of {share.alarms} leakage alarms hold "
                 f"{share.captured:,.2f} of the {share.injected:,.2f} leakage money injected ({share.share:.1%})",
                 soft_wrap=True, markup=False, highlight=False)
    if on_path is None:
        on_path = revguard_on_path()
    command = "revguard" if on_path else str(Path(sys.executable).parent / "revguard")
    stdout.print(analysts_app_lines(home, command, app_url(DEFAULT_HOST, DEFAULT_PORT)), soft_wrap=True, markup=False,
                 highlight=False)


def analysts_app_lines(home: Path, command: str, url: str) -> str:
    return "\n".join([
        "open the analysts' app on the demo's store (Ctrl-C stops it):",
        f"  REVGUARD_HOME={home} {command} dashboard",
        f"then browse to {url}",
    ])


def revguard_on_path() -> bool:
    """True when typing `revguard` runs this installation's command."""
    found = shutil.which("revguard")
    return found is not None and Path(found).resolve() == (Path(sys.executable).parent / "revguard").resolve()


def detection_table(scores: dict) -> Table:
    """Precision, recall and money per finding kind, against the injected faults."""
    table = Table(title="detection against truth.ndjson", title_justify="left")
    for column in ("kind", "findings", "injected", "precision", "recall", "money reported", "money injected"):
        table.add_column(column, justify="left" if column == "kind" else "right", no_wrap=True)
    for kind, s in scores.items():
        table.add_row(
            kind, f"{s.findings:,}", f"{s.truths:,}",
            "-" if s.precision is None else f"{s.precision:.3f}",
            "-" if s.recall is None else f"{s.recall:.3f}",
            f"{s.money_reported:,.2f}", f"{s.money_injected:,.2f}",
        )
    return table

"""How good the leakage-risk model is, measured as an operator would see it: for each of the
last few days of a store, a model fitted only on the days before it scores that day's records
while they are still inside the SLA, and is then held against what the controls found.

`python -m assurance.models.leakage_measure --seed S` simulates a run of its own (on a seed
the tests do not use), loads, reconciles and prints, per scored day and pooled: ROC AUC of
the model and of the baseline "element's historical fault rate" (same run, same records),
money at risk against the money the controls found, and expected against found faults.
"""
from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.metrics import roc_auc_score

from assurance.models import leakage_features as F
from assurance.models.leakage_scoring import DEFAULT_SLA, LeakageQuality, leakage_quality, score_leakage


@dataclass(frozen=True)
class DayQuality:
    as_of: datetime
    quality: LeakageQuality


def measure_days(client: Any, home: Path, days: int, end: datetime, sla: timedelta = DEFAULT_SLA
                 ) -> tuple[list[DayQuality], LeakageQuality]:
    """Score the `days` windows ending at `end` one at a time (each by a model fitted on what
    preceded it, never saved) and hold each against the findings; also all of them pooled."""
    per_day, pooled = [], []
    for k in range(days, 0, -1):
        as_of = end - (k - 1) * F.WINDOW
        run = score_leakage(client, home, as_of=as_of, sla=sla, save=False)
        per_day.append(DayQuality(as_of, leakage_quality(client, run)))
        found = F.findings_frame(client, run.scored_from, run.scored_to)
        joined = run.scores.merge(found, on="record_id", how="left")
        pooled.append(joined)
    both = pd.concat(pooled, ignore_index=True)
    label = both["fault_kind"].notna().astype(int).to_numpy()
    amounts = [Decimal(v) for v in both["leaked"].dropna()]
    total = LeakageQuality(
        records=len(both), faults=int(label.sum()),
        auc_model=float(roc_auc_score(label, both["probability"])),
        auc_baseline=float(roc_auc_score(label, both["baseline"])),
        money_at_risk=sum(both["expected_loss"], Decimal(0)),
        money_found=sum(amounts, Decimal(0)), expected_faults=float(both["probability"].sum()),
        largest_leak=max(amounts, default=Decimal(0)))
    return per_day, total


def quality_table(per_day: list[DayQuality], pooled: LeakageQuality, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("day scored (as of)", "records", "faults", "expected", "AUC", "AUC baseline",
                   "at risk", "found", "error", "largest leak"):
        table.add_column(column, justify="left" if column.startswith("day") else "right", no_wrap=True)

    def row(name: str, q: LeakageQuality, **style) -> None:
        error = q.money_error
        table.add_row(name, f"{q.records:,}", f"{q.faults:,}", f"{q.expected_faults:,.0f}",
                      "-" if q.auc_model is None else f"{q.auc_model:.3f}",
                      "-" if q.auc_baseline is None else f"{q.auc_baseline:.3f}",
                      f"{q.money_at_risk:,.2f}", f"{q.money_found:,.2f}",
                      "-" if error is None else f"{error:+.1%}", f"{q.largest_leak:,.2f}", **style)

    for d in per_day:
        row(f"{d.as_of:%Y-%m-%dT%H:%MZ}", d.quality)
    row("pooled", pooled, style="bold")
    table.caption = ("faults: found by the controls once the SLA closed, expected: sum of probabilities; "
                     "AUC baseline: the element's historical fault rate; at risk / found: money ex tax, "
                     "under-billing only (unbilled, misrated, usage_mismatch); largest leak: the one record "
                     "that leaked most")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--scored-days", type=int, default=5)
    parser.add_argument("--fault-rate", type=float, default=0.01)
    parser.add_argument("--work", type=Path, default=None, help="directory to keep (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="reconcile and measure the store already loaded in --work")
    args = parser.parse_args()
    from assurance.reconcile import reconcile
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate
    from flows.load import load_directory
    from flows.simulator.simulation import simulate

    console = Console(width=150)
    work = args.work or Path(tempfile.mkdtemp(prefix="leakage-measure-"))
    client = store_client(home=work / "home")
    if not (args.reuse and args.work):
        simulate(work / "sim", subscribers=args.subscribers, days=args.days, seed=args.seed,
                 start=date(2026, 10, 1), fault_rate=args.fault_rate, progress=True)
        migrate(client)
        load_directory(client, work / "sim", progress=True)
    reconcile(client, progress=True)
    # the last full day whose SLA has closed in the store: the billing of the period's end
    end = client.query("SELECT max(start_time) FROM revguard.rated_usage").result_rows[0][0]
    end = end.replace(tzinfo=None, minute=0, second=0, microsecond=0) - DEFAULT_SLA
    per_day, pooled = measure_days(client, work / "home", args.scored_days, end)
    console.print(quality_table(per_day, pooled, f"leakage risk, seed {args.seed}, {args.subscribers:,} "
                                f"subscribers, {args.days} days, fault rate {args.fault_rate}"))


if __name__ == "__main__":
    main()

"""Churn model quality on a simulator holdout by time, beside a logistic baseline, same run.

    python -m bench.churn_quality --subscribers 4000 --days 180 --seed 31

Simulates churn mode (a seed the tests do not use), loads it into a fresh chDB store, trains
on as-of dates whose label window closed before the test date, and scores the test date
(the last one with 30 days after it). The label measured against is the truth file's
`churned_at` in (T, T+30 d]; the label the model trained on is the store's (terminated,
last activity in the window). Baseline: a logistic regression on usage trend, tenure and
top-up recency. Prints ROC AUC, PR AUC, top-decile lift, Brier, reliability by decile.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assurance.models.churn import fit_churn, quality, reliability, time_split
from assurance.models.churn_features import HORIZON_DAYS, as_of_dates, features_as_of
from assurance.models.churn_history import load_history

BASELINE_FEATURES = ["events_change", "tenure_days", "days_since_topup"]


def truth_labels(churn_file: Path, msisdns: pd.Index, as_of: datetime) -> np.ndarray:
    churned = {}
    for line in churn_file.read_text().splitlines():
        row = json.loads(line)
        if row["churned_at"]:
            churned[row["msisdn"]] = datetime.fromisoformat(row["churned_at"].replace("Z", "+00:00"))
    end = as_of + timedelta(days=HORIZON_DAYS)
    return np.array([1 if m in churned and as_of < churned[m] <= end else 0 for m in msisdns])


def baseline(train_X: pd.DataFrame, train_y: pd.Series):
    model = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler(),
                          LogisticRegression(max_iter=1000))
    return model.fit(train_X[BASELINE_FEATURES], train_y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=4000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--step", type=int, default=7, help="days between training as-of dates")
    args = parser.parse_args()
    console = Console()
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate
    from flows.simulator.simulation import simulate

    with tempfile.TemporaryDirectory(prefix="churn-quality-") as work:
        work = Path(work)
        began = time.perf_counter()
        simulate(work / "sim", subscribers=args.subscribers, days=args.days, seed=args.seed,
                 start=date(2026, 11, 1), progress=True, churn_mode=True)
        client = store_client(f"chdb://{work / 'chdb'}")
        migrate(client)
        load_history(client, work / "sim")
        console.print(f"simulated and loaded in {time.perf_counter() - began:.0f} s")
        dates = as_of_dates(client, step_days=args.step)
        end = dates[-1]
        test_as_of = max(d for d in dates if d + timedelta(days=HORIZON_DAYS) <= end)
        train_dates = time_split(dates, test_as_of)
        frames = {d: features_as_of(client, d) for d in train_dates}
        test_X, store_y = features_as_of(client, test_as_of)
        model = fit_churn(frames)
        train_X = pd.concat([frames[d][0] for d in train_dates])
        train_y = pd.concat([frames[d][1] for d in train_dates])
        base = baseline(train_X, train_y)
        truth_y = truth_labels(work / "sim" / "churn.ndjson", test_X.index, test_as_of)
        p_model = model.probability(test_X)
        p_base = base.predict_proba(test_X[BASELINE_FEATURES])[:, 1]

    console.print(f"seed {args.seed}, {args.subscribers:,} subscribers, {args.days} days; trained on "
                  f"{len(train_dates)} as-of dates {train_dates[0]:%Y-%m-%d}..{train_dates[-1]:%Y-%m-%d} "
                  f"({model.rows:,} rows, {model.leavers:,} leavers), tested at {test_as_of:%Y-%m-%d}")
    table = Table(title="churn in (T, T+30 d] on the holdout date", title_justify="left")
    for column in ("method", "label", "rows", "leavers", "ROC AUC", "PR AUC", "top-decile lift", "Brier"):
        table.add_column(column, justify="left" if column in ("method", "label") else "right")
    for method, p in (("HistGradientBoosting, calibrated", p_model), ("logistic, 3 features", p_base)):
        for label_name, y in (("truth churned_at", truth_y), ("store label", store_y.to_numpy())):
            q = quality(y, p)
            table.add_row(method, label_name, f"{q['rows']:,}", f"{q['leavers']:,}", f"{q['roc_auc']:.3f}",
                          f"{q['pr_auc']:.3f}", f"{q['top_decile_lift']:.2f}", f"{q['brier']:.4f}")
    console.print(table)
    rel = Table(title="reliability by decile of predicted probability (model, truth label)", title_justify="left")
    for column in ("decile", "mean predicted", "observed", "rows"):
        rel.add_column(column, justify="right")
    for number, predicted, observed, rows in reliability(truth_y, p_model):
        rel.add_row(str(number), f"{predicted:.4f}", f"{observed:.4f}", f"{rows:,}")
    console.print(rel)
    console.print(f"finished {datetime.now(timezone.utc):%H:%M:%SZ}")


if __name__ == "__main__":
    main()

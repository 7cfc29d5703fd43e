"""`revguard score` for churn: fit or load the model, score the latest as-of date, write
`churn_scores` and a `model_runs` row.

The as-of date scored is the last UTC midnight of the data (or of `--to`). The model is
fitted on the as-of dates whose 30-day label window has closed by then (`time_split`), every
7 days back to the first with 56 days of history; a store with too short a history gets one
line saying so instead of scores (the other models still run).
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from dashboards.masking import masked  # the app's masking, so the demo hides the same digits

from assurance.models import registry
from assurance.models.churn import MODEL_NAME, ChurnModel, TooFewLabels, fit_churn, quality, time_split
from assurance.models.churn_features import HISTORY_DAYS, HORIZON_DAYS, as_of_dates, features_as_of
from assurance.models.churn_reasons import contributions, reasons, typical_values

TRAIN_STEP_DAYS = 7
SCORE_COLUMNS = ["msisdn", "as_of", "probability", "rank", "reasons", "model_version"]


@dataclass
class ChurnRun:
    """What one churn scoring run did."""

    as_of: datetime | None
    model_version: str = ""
    trained: bool = False
    rows: int = 0
    skipped: str = ""
    top: list[tuple[str, float, list[str]]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


def score_churn(client: Any, home: Path, since: datetime | None = None, until: datetime | None = None,
                retrain: bool = False) -> ChurnRun:
    started = datetime.now(timezone.utc)
    dates = as_of_dates(client, TRAIN_STEP_DAYS, until)
    if not dates:
        return ChurnRun(None, skipped=f"churn: the store needs {HISTORY_DAYS} days of usage before a date to score it")
    as_of = dates[-1]
    model, metadata, trained = None, {}, False
    if not retrain:
        try:
            model, metadata = registry.load_model(home, MODEL_NAME)
        except registry.ModelMissing:
            model = None
    if model is None:
        train_dates = time_split(dates, as_of)
        try:
            model = fit_churn({d: features_as_of(client, d) for d in train_dates})
        except TooFewLabels as exc:
            return ChurnRun(as_of, skipped=f"churn: {exc}")
        metadata = {"model_version": _version(model), "trained_from": model.trained_from,
                    "trained_to": model.trained_to, "rows": model.rows, "leavers": model.leavers,
                    "features": model.features, "attribution": "one-feature substitution by the base's typical value"}
        registry.save_model(home, MODEL_NAME, model, metadata)
        trained = True
    X, _ = features_as_of(client, as_of)
    run = write_scores(client, model, X, as_of, str(metadata["model_version"]))
    run.trained = trained
    registry.record_run(client, registry.ModelRun(
        run_id=str(uuid.uuid4()), model=MODEL_NAME, model_version=run.model_version,
        trained_from=model.trained_from, trained_to=model.trained_to, scored_from=as_of, scored_to=as_of,
        rows_scored=run.rows, metrics=run.metrics, library_versions=registry.library_versions(),
        started_at=started, finished_at=datetime.now(timezone.utc)))
    return run


def write_scores(client: Any, model: ChurnModel, X: pd.DataFrame, as_of: datetime, version: str,
                 currency: str = "EUR") -> ChurnRun:
    """Probabilities, ranks and reasons of the subscribers in `X` into `churn_scores`."""
    if not len(X):
        return ChurnRun(as_of, model_version=version, skipped="churn: nobody to score")
    p = model.probability(X)
    words = reasons(X, contributions(model.probability, X, typical_values(X)), currency)
    order = np.argsort(-p, kind="stable")
    rank = np.empty(len(p), dtype=np.int64)
    rank[order] = np.arange(1, len(p) + 1)
    naive = as_of.astimezone(timezone.utc).replace(tzinfo=None)
    rows = [[m, naive, float(p[i]), int(rank[i]), words[i], version] for i, m in enumerate(X.index)]
    client.insert("revguard.churn_scores", rows, column_names=SCORE_COLUMNS)
    top = [(str(X.index[i]), float(p[i]), words[i]) for i in order[:5]]
    return ChurnRun(as_of, model_version=version, rows=len(rows), top=top,
                    metrics={"mean_probability": float(p.mean()), "expected_leavers_30d": float(p.sum())})


def holdout_quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return quality(y, p)


def _version(model: ChurnModel) -> str:
    digest = hashlib.sha256(f"{model.trained_from}{model.trained_to}{model.rows}{model.leavers}".encode()).hexdigest()
    return f"churn-hgb-{model.trained_to:%Y%m%d}-{digest[:8]}"


def churn_table(run: ChurnRun) -> Table:
    """What `revguard score` prints about churn."""
    if run.skipped:
        table = Table(title="Churn", title_justify="left")
        table.add_column("status")
        table.add_row(run.skipped)
        return table
    table = Table(title=f"Churn in the 30 days after {run.as_of:%Y-%m-%d}: {run.rows:,} subscribers scored, "
                        f"model {run.model_version} ({'fitted now' if run.trained else 'loaded'}), "
                        f"expected leavers {run.metrics.get('expected_leavers_30d', 0):,.1f}",
                  title_justify="left")
    for column in ("msisdn", "probability", "reasons"):
        table.add_column(column, justify="right" if column == "probability" else "left")
    for msisdn, p, words in run.top:
        table.add_row(masked(msisdn), f"{p:.3f}", "; ".join(words))
    table.caption = f"top five by probability; label horizon {HORIZON_DAYS} days; msisdn masked"
    return table

"""`revguard churn evaluate`: the churn pipeline on any labelled table, in stratified K-fold.

Operators bring their own churn history from CRM. Every column but the label and the id is
a feature: numeric columns as they are (missing values handled by the trees natively), the
others as categories. In each fold the same classifier as the simulator's model is fitted
and calibrated (sigmoid, on an inner 3-fold split of the training part), then measured on
the held-out part: ROC AUC, PR AUC, lift in the top decile and Brier score.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from assurance.models.churn import THREADS, check_leaks, new_classifier, quality

METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "brier")


class TableProblem(ValueError):
    """The table cannot be evaluated as it is; the message is one line."""


@dataclass(frozen=True)
class Evaluation:
    rows: int
    leavers: int
    folds: int
    features: list[str]
    per_fold: list[dict[str, float]]

    def mean(self, metric: str) -> float:
        return float(np.mean([f[metric] for f in self.per_fold]))

    def spread(self, metric: str) -> float:
        return float(np.std([f[metric] for f in self.per_fold], ddof=1)) if len(self.per_fold) > 1 else 0.0


def read_table(path: Path, label: str, id_column: str | None) -> tuple[pd.DataFrame, np.ndarray]:
    """(features, 0/1 labels) of a CSV. Raises TableProblem."""
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TableProblem(f"{path}: not a readable CSV table ({' '.join(str(exc).split())})") from None
    if label not in table.columns:
        raise TableProblem(f"{path}: no label column {label!r} (columns: {', '.join(map(str, table.columns[:12]))})")
    if id_column is not None and id_column not in table.columns:
        raise TableProblem(f"{path}: no id column {id_column!r}")
    raw = table[label]
    if raw.isna().any():
        raise TableProblem(f"{path}: label column {label!r} has {int(raw.isna().sum())} empty values")
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(int)
    if not pd.api.types.is_numeric_dtype(raw):
        raise TableProblem(f"{path}: label column {label!r} is not numeric (1 = left, 0 = stayed), "
                           f"it holds values like {str(raw.iloc[0])!r}")
    classes = sorted(pd.unique(raw))
    if len(classes) < 2:
        raise TableProblem(f"{path}: label column {label!r} holds one class only ({classes[0]}): nothing to learn")
    if set(classes) - {0, 1}:
        raise TableProblem(f"{path}: label column {label!r} must be 0 or 1, it also holds {sorted(set(classes) - {0, 1})[0]}")
    features = table.drop(columns=[c for c in (label, id_column) if c is not None])
    if features.shape[1] == 0:
        raise TableProblem(f"{path}: no feature columns besides the label")
    for name in features.columns:
        if not pd.api.types.is_numeric_dtype(features[name]):
            features[name] = features[name].astype(str).where(features[name].notna()).astype("category")
    return features, raw.to_numpy().astype(int)


def evaluate(X: pd.DataFrame, y: np.ndarray, folds: int = 5, seed: int = 0) -> Evaluation:
    """Stratified K-fold quality of the calibrated churn classifier. Raises TableProblem."""
    smallest = int(min(y.sum(), len(y) - y.sum()))
    if folds < 2:
        raise TableProblem(f"--folds must be at least 2, not {folds}")
    if smallest < folds:
        raise TableProblem(f"the smaller class has {smallest} rows, fewer than the {folds} folds")
    try:
        check_leaks(X, y)
    except ValueError as exc:
        raise TableProblem(str(exc)) from None
    per_fold = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(X, y):
        inner = min(3, int(min(y[train].sum(), len(train) - y[train].sum())))
        if inner < 2:
            raise TableProblem("too few rows of the smaller class to calibrate inside a fold")
        model = CalibratedClassifierCV(new_classifier(seed), method="sigmoid", cv=inner)
        with threadpool_limits(THREADS):
            model.fit(X.iloc[train], y[train])
            p = model.predict_proba(X.iloc[test])[:, 1]
        per_fold.append(quality(y[test], p))
    return Evaluation(rows=len(y), leavers=int(y.sum()), folds=folds, features=list(X.columns), per_fold=per_fold)

"""The churn model: gradient-boosted trees with calibrated probabilities, validated by time.

Training rows are (subscriber, as-of date) pairs. `fit_churn` fits a
HistGradientBoostingClassifier on the training dates whose label window closed before the
latest one, and calibrates its probabilities (sigmoid, Platt) on the latest, so calibration
is learned on a later period than the trees, as scoring will be. `time_split` keeps only training dates whose label
window (T, T+30 d] has closed by the test date: no training row knows anything of the test
period. `check_leaks` refuses a feature that on its own almost separates the classes, the
usual sign of the label leaking into a feature.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from threadpoolctl import threadpool_limits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from assurance.models.churn_features import HORIZON_DAYS

LEAK_AUC = 0.98
MODEL_NAME = "churn"
# OpenMP threads spin while they wait: on a busy shared machine one thread is faster than many.
THREADS = 1


class LeakSuspected(ValueError):
    """A feature predicts the label almost perfectly on its own."""


class TooFewLabels(ValueError):
    """Not enough leavers (or stayers) to fit or measure."""


def time_split(dates: list[datetime], test_as_of: datetime) -> list[datetime]:
    """The as-of dates a model tested at `test_as_of` may train on: those whose label window
    has closed by then (T + 30 d <= test date)."""
    return [d for d in sorted(dates) if d + timedelta(days=HORIZON_DAYS) <= test_as_of]


def new_classifier(seed: int = 0) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=150, max_leaf_nodes=8, min_samples_leaf=100,
        l2_regularization=1.0, categorical_features="from_dtype", early_stopping=False,
        random_state=seed)


@dataclass
class ChurnModel:
    """A calibrated churn classifier and what it was trained on."""

    estimator: CalibratedClassifierCV
    features: list[str]
    trained_from: datetime | None
    trained_to: datetime | None
    rows: int
    leavers: int

    def probability(self, X: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(THREADS):
            return self.estimator.predict_proba(X[self.features])[:, 1]


def check_leaks(X: pd.DataFrame, y: pd.Series | np.ndarray, threshold: float = LEAK_AUC) -> None:
    """Raise LeakSuspected when one numeric feature alone ranks leavers above stayers with
    ROC AUC >= `threshold` (either direction): churn has no such single tell."""
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return
    for name in X.columns:
        column = X[name]
        if not pd.api.types.is_numeric_dtype(column):
            continue
        values = column.to_numpy(dtype=float)
        if np.all(np.isnan(values)):
            continue
        missing = np.isnan(values)
        candidates = [("its values", np.where(missing, np.nanmedian(values), values))]
        if missing.any():   # being filled in only for leavers (or stayers) gives a label away too
            candidates.append(("whether it is filled in", missing.astype(float)))
        for what, scores in candidates:
            auc = roc_auc_score(y, scores)
            if max(auc, 1 - auc) >= threshold:
                raise LeakSuspected(f"feature {name!r} alone separates leavers from stayers by {what} "
                                    f"(ROC AUC {max(auc, 1 - auc):.3f}): the label has leaked into it")


def fit_churn(frames: dict[datetime, tuple[pd.DataFrame, pd.Series]], seed: int = 0) -> ChurnModel:
    """Fit on the frames of several as-of dates: trees on the earlier ones, calibration on
    the latest. Raises TooFewLabels or LeakSuspected."""
    dates = sorted(frames)
    # The trees learn only from dates whose label window closed before the calibration date:
    # a leaver seen by the trees a week earlier, with nearly the same features, would make the
    # calibrator trust them too much.
    tree_dates = time_split(dates[:-1], dates[-1]) if dates else []
    if not tree_dates:
        raise TooFewLabels(f"churn needs as-of dates at least {HORIZON_DAYS} days apart to fit and calibrate, "
                           f"has {len(dates)} spanning {(dates[-1] - dates[0]).days if dates else 0} days")
    fit_X = pd.concat([frames[d][0] for d in tree_dates])
    fit_y = pd.concat([frames[d][1] for d in tree_dates])
    cal_X, cal_y = frames[dates[-1]]
    for name, labels in (("training", fit_y), ("calibration", cal_y)):
        if labels.sum() < 5 or (labels == 0).sum() < 5:
            raise TooFewLabels(f"churn {name} rows hold {int(labels.sum())} leavers of {len(labels)}: "
                               "too few to fit (a longer history or more subscribers)")
    check_leaks(pd.concat([fit_X, cal_X]), pd.concat([fit_y, cal_y]))
    with threadpool_limits(THREADS):
        trees = new_classifier(seed).fit(fit_X, fit_y)
        calibrated = CalibratedClassifierCV(FrozenEstimator(trees), method="sigmoid").fit(cal_X, cal_y)
    return ChurnModel(estimator=calibrated, features=list(fit_X.columns), trained_from=tree_dates[0],
                      trained_to=dates[-1], rows=len(fit_y) + len(cal_y), leavers=int(fit_y.sum() + cal_y.sum()))


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    """Leaver rate among the 10 % highest probabilities over the overall leaver rate."""
    y, p = np.asarray(y), np.asarray(p)
    k = max(1, int(np.ceil(len(y) * 0.1)))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC, top-decile lift and Brier score of probabilities `p`."""
    y, p = np.asarray(y), np.asarray(p)
    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
            "top_decile_lift": top_decile_lift(y, p), "brier": float(brier_score_loss(y, p)),
            "rows": int(len(y)), "leavers": int(y.sum())}


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple[int, float, float, int]]:
    """Per decile of predicted probability: (decile, mean predicted, observed rate, rows)."""
    y, p = np.asarray(y), np.asarray(p)
    order = np.argsort(p, kind="stable")
    rows = []
    for number, part in enumerate(np.array_split(order, bins), start=1):
        if len(part):
            rows.append((number, float(p[part].mean()), float(y[part].mean()), int(len(part))))
    return rows

"""The leakage-risk model: P(a rated record ends as unbilled, misrated or usage_mismatch) and
the money that puts at risk, learned from the findings of earlier windows.

Two scikit-learn pipelines on the same columns (leakage_features.model_frame): a gradient-
boosted classifier for the probability, and a gradient-boosted regressor, fitted on the
faulted records only and weighted by their charge, for the share of its charge a faulted
record leaks (an unbilled record leaks all of it, a record billed at half price half, an
over-billed one nothing). expected_loss = probability x charge x that share.

The model sees neither the element nor the visited network by name: it sees their fault
rates over the previous week and day. A model that learned "pgw-01 leaks" would be wrong
the day pgw-01 is mended and pgw-02's feed fails; rates of the last windows carry over.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from assurance.models.leakage_features import CATEGORICAL, NUMERIC

MICRO = Decimal("0.000001")
# A single column that ranks the training labels this well on its own is the label itself
# in disguise (a leak), not a cause: no honest feature of a record separates noise faults.
LEAK_AUC = 0.99
MIN_FAULTS = 20
# Boosting runs on one OpenMP thread: on a shared 2-core machine two spinning threads made a
# fit 18x slower (bench.leakage_risk: 90 s against 5 s for 20,000 records).
THREADS = 1


class LabelLeak(ValueError):
    """A feature predicts the training label (almost) perfectly on its own."""


class TooFewFindings(ValueError):
    """Not enough findings in the training windows to learn from."""


@dataclass
class LeakageModel:
    """The fitted pair and what the scoring run needs to know about its training."""

    classifier: Pipeline
    loss_share: Pipeline
    columns: tuple[str, ...]
    element_rates: dict[str, float]     # the baseline: each element's fault rate while training
    base_rate: float

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        with threadpool_limits(THREADS, user_api="openmp"):
            return self.classifier.predict_proba(frame[list(self.columns)])[:, 1]

    def expected_loss(self, frame: pd.DataFrame, charge: pd.Series, probability: np.ndarray) -> list[Decimal]:
        """probability x charge x predicted leaked share, per record, exact to the micro-unit."""
        with threadpool_limits(THREADS, user_api="openmp"):
            share = np.clip(self.loss_share.predict(frame[list(self.columns)]), 0.0, 1.0)
        return [
            (Decimal(str(c)) * Decimal(repr(float(p * s)))).quantize(MICRO, rounding=ROUND_HALF_UP)
            for c, p, s in zip(charge.tolist(), probability.tolist(), share.tolist())]

    def baseline(self, elements: pd.Series) -> np.ndarray:
        """The element's historical fault rate: what the model must beat."""
        return elements.astype(str).map(self.element_rates).fillna(self.base_rate).to_numpy(dtype=float)


def _encoder() -> ColumnTransformer:
    return ColumnTransformer(
        [("categories", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                       encoded_missing_value=-1), list(CATEGORICAL))],
        remainder="passthrough", verbose_feature_names_out=False)


def _classifier() -> Pipeline:
    categorical = list(range(len(CATEGORICAL)))
    return Pipeline([("encode", _encoder()),
                     ("boost", HistGradientBoostingClassifier(
                         max_iter=300, learning_rate=0.05, max_leaf_nodes=31, min_samples_leaf=100,
                         l2_regularization=1.0, categorical_features=categorical,
                         early_stopping=True, validation_fraction=0.15, n_iter_no_change=20,
                         random_state=0))])


def _regressor() -> Pipeline:
    categorical = list(range(len(CATEGORICAL)))
    return Pipeline([("encode", _encoder()),
                     ("boost", HistGradientBoostingRegressor(
                         max_iter=150, learning_rate=0.05, min_samples_leaf=20,
                         categorical_features=categorical, random_state=0))])


def check_no_label_leak(frame: pd.DataFrame, label: np.ndarray, columns: tuple[str, ...]) -> None:
    """Raise LabelLeak naming the first numeric column whose values alone rank `label` with
    a ROC AUC (either way round) of LEAK_AUC or more."""
    for column in columns:
        if column in CATEGORICAL:
            continue
        values = frame[column].to_numpy(dtype=float)
        if np.all(values == values[0]):
            continue
        auc = roc_auc_score(label, values)
        if max(auc, 1 - auc) >= LEAK_AUC:
            raise LabelLeak(f"feature {column!r} alone ranks the training labels with ROC AUC "
                            f"{max(auc, 1 - auc):.3f}: it leaks the label, refusing to train")


def fit_leakage_model(frame: pd.DataFrame, label: np.ndarray, charge: pd.Series, leaked: pd.Series,
                      elements: pd.Series, columns: tuple[str, ...] = tuple(CATEGORICAL) + tuple(NUMERIC)
                      ) -> tuple[LeakageModel, dict]:
    """Fit on training rows: `label` 1 where the controls found a target fault, `leaked` the
    money they found it leaked. Returns the model and its training metrics."""
    label = np.asarray(label, dtype=int)
    if int(label.sum()) < MIN_FAULTS or int(label.sum()) == len(label):
        raise TooFewFindings(
            f"the training windows hold {int(label.sum())} unbilled, misrated or usage_mismatch findings "
            f"among {len(label)} records (at least {MIN_FAULTS} and some clean records needed): "
            "run `revguard reconcile` over earlier days first")
    check_no_label_leak(frame, label, columns)
    with threadpool_limits(THREADS, user_api="openmp"):
        return _fit(frame, label, charge, leaked, elements, columns)


def _fit(frame: pd.DataFrame, label: np.ndarray, charge: pd.Series, leaked: pd.Series, elements: pd.Series,
         columns: tuple[str, ...]) -> tuple[LeakageModel, dict]:
    classifier = _classifier().fit(frame[list(columns)], label)
    faulted = label == 1
    charge_f = charge.astype(float).to_numpy()
    share = np.where(charge_f > 0, np.clip(leaked.astype(float).to_numpy() / np.where(charge_f > 0, charge_f, 1), 0, 1), 0.0)
    weight = np.maximum(charge_f[faulted], 1e-6)
    regressor = _regressor().fit(frame.loc[faulted, list(columns)], share[faulted], boost__sample_weight=weight)
    by_element = pd.DataFrame({"element": elements.astype(str).to_numpy(), "label": label})
    element_rates = by_element.groupby("element")["label"].mean().to_dict()
    model = LeakageModel(classifier, regressor, tuple(columns), {k: float(v) for k, v in element_rates.items()},
                         float(label.mean()))
    return model, {"training_records": int(len(label)), "training_faults": int(label.sum()),
                   "training_fault_rate": float(label.mean()),
                   "boosting_iterations": int(classifier.named_steps["boost"].n_iter_)}

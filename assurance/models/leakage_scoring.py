"""`revguard score` for leakage risk: fit or load the model, score every rated record still
inside the billing SLA, write `revguard.leakage_scores`, sum the money at risk per element,
service and day, and record the run in `model_runs`.

The clock is billing's own (the latest billed_at in the store, as for reconcile) unless a
range end is given. Records that started within the SLA before it are scored; everything
older has been judged by the controls and is what the model learns from: records of the
TRAINING_WINDOWS days before the cutoff, labelled by the findings on them.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import Progress
from sklearn.metrics import roc_auc_score

from assurance.models import leakage_features as F
from assurance.models.leakage_risk import LeakageModel, fit_leakage_model
from assurance.models.registry import ModelMissing, ModelRun, library_versions, load_model, record_run, save_model

MODEL_NAME = "leakage_risk"
DEFAULT_SLA = timedelta(hours=24)
TRAINING_WINDOWS = 21
_COLUMNS = ("record_id", "msisdn", "element_id", "service", "start_time", "probability", "expected_loss",
            "model_version", "as_of", "scored_at")
_BILLING_CLOCK = "SELECT max(billed_at) FROM revguard.billed_usage"
_USAGE_END = "SELECT max(start_time) FROM revguard.rated_usage WHERE status = 'rated'"
MONEY_AT_RISK = """
SELECT element_id, service, toDate(start_time) AS day, count() AS records, sum(probability) AS expected_faults,
       sum(expected_loss) AS money_at_risk
FROM revguard.leakage_scores FINAL
WHERE start_time >= {lo:DateTime64(3, 'UTC')} AND start_time < {hi:DateTime64(3, 'UTC')}
GROUP BY element_id, service, day
ORDER BY day, element_id, service
"""


@dataclass(frozen=True)
class RiskCell:
    """Money at risk of one element, service and day."""

    element_id: str
    service: str
    day: str
    records: int
    expected_faults: float
    money_at_risk: Decimal


@dataclass(frozen=True)
class LeakageRun:
    as_of: datetime
    scored_from: datetime
    scored_to: datetime
    model_version: str
    trained: bool
    records: int
    money_at_risk: Decimal
    cells: tuple[RiskCell, ...]
    scores: pd.DataFrame          # record_id, element_id, service, start_time, charge, probability, expected_loss, baseline


class NothingToScoreLeakage(ValueError):
    """No rated usage to score."""


def score_leakage(client: Any, home: Path, since: datetime | None = None, until: datetime | None = None,
                  retrain: bool = False, progress: bool = False, sla: timedelta = DEFAULT_SLA,
                  as_of: datetime | None = None, save: bool = True) -> LeakageRun:
    """Score the records inside the SLA at `as_of` (default: `until`, else the billing clock).

    `since` narrows the scored records further. With `save` False the model is fitted for
    this run only (never loaded or saved) and nothing is written: how it is measured."""
    clock = _naive(as_of) if as_of else (_naive(until) if until else _billing_clock(client))
    if clock is None:
        raise NothingToScoreLeakage("no rated usage in the store to score: run `revguard load` first")
    anchor = clock - sla
    lo = max(anchor, _naive(since)) if since else anchor
    started = datetime.now(timezone.utc)
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("leakage risk: features", total=3)
        history_lo = anchor - (TRAINING_WINDOWS + F.HISTORY_WINDOWS) * F.WINDOW
        rates = F.window_rates(client, anchor, history_lo, anchor)
        bar.advance(task)
        bar.update(task, description="leakage risk: model")
        model, meta, trained = _model(client, Path(home), anchor, rates, retrain or not save, save)
        bar.advance(task)
        bar.update(task, description="leakage risk: scoring")
        records = F.record_frame(client, anchor, lo, clock)
        scores = _scored(model, records, rates)
        bar.advance(task)
    detected = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    if save:
        if len(scores):
            rows = [[r.record_id, r.msisdn, r.element_id, r.service, r.start_time, float(r.probability),
                     r.expected_loss, meta["version"], clock, detected] for r in scores.itertuples(index=False)]
            client.insert("revguard.leakage_scores", rows, column_names=list(_COLUMNS))
        record_run(client, ModelRun(
            run_id=uuid.uuid4().hex, model=MODEL_NAME, model_version=meta["version"],
            trained_from=_parse(meta.get("trained_from")), trained_to=_parse(meta.get("trained_to")),
            scored_from=lo, scored_to=clock, rows_scored=len(scores),
            metrics={**meta.get("metrics", {}), "trained_now": trained,
                     "money_at_risk": str(sum(scores["expected_loss"], Decimal(0))) if len(scores) else "0"},
            library_versions=library_versions(), started_at=started, finished_at=datetime.now(timezone.utc)))
    cells = _cells(scores)
    total = sum((c.money_at_risk for c in cells), Decimal(0))
    return LeakageRun(clock, lo, clock, meta["version"], trained, len(scores), total, cells, scores)


def money_at_risk(client: Any, lo: datetime, hi: datetime) -> list[RiskCell]:
    """Stored money at risk per element, service and day for records that started in [lo, hi)."""
    result = client.query(MONEY_AT_RISK, parameters={"lo": _naive(lo), "hi": _naive(hi)})
    return [RiskCell(str(e), str(s), str(d), int(n), float(f), Decimal(m)) for e, s, d, n, f, m in result.result_rows]


def training_data(client: Any, anchor: datetime, rates: pd.DataFrame
                  ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, pd.Series]:
    """Records of the TRAINING_WINDOWS windows before `anchor`, their model columns, label
    and leaked money. Nothing at or after `anchor` is read: those records are still open."""
    lo = anchor - TRAINING_WINDOWS * F.WINDOW
    records = F.record_frame(client, anchor, lo, anchor)
    if records.empty:
        return records, records, np.zeros(0, int), pd.Series(dtype=object)
    found = F.findings_frame(client, lo, anchor)
    labelled = records[["record_id"]].merge(found, on="record_id", how="left")
    label = labelled["fault_kind"].notna().to_numpy().astype(int)
    leaked = labelled["leaked"].where(labelled["leaked"].notna(), Decimal(0))
    history = F.history_features(rates, sorted(set(records["window"].tolist())))
    return records, F.model_frame(records, history), label, leaked


def _model(client: Any, home: Path, anchor: datetime, rates: pd.DataFrame, fit_now: bool, save: bool
           ) -> tuple[LeakageModel, dict, bool]:
    if not fit_now:
        try:
            model, meta = load_model(home, MODEL_NAME)
            return model, meta, False
        except ModelMissing:
            pass
    records, frame, label, leaked = training_data(client, anchor, rates)
    model, metrics = fit_leakage_model(frame, label, records.get("charge", pd.Series(dtype=object)), leaked,
                                       records.get("element_id", pd.Series(dtype=object)))
    if len(records):
        metrics["trained_records_from"] = f"{pd.Timestamp(records['start_time'].min()):%Y-%m-%dT%H:%M:%SZ}"
        metrics["trained_records_to"] = f"{pd.Timestamp(records['start_time'].max()):%Y-%m-%dT%H:%M:%SZ}"
    lo = anchor - TRAINING_WINDOWS * F.WINDOW
    meta = {"version": f"{datetime.now(timezone.utc):%Y%m%d.%H%M%S}",
            "trained_from": lo.isoformat() + "Z", "trained_to": anchor.isoformat() + "Z", "metrics": metrics}
    if save:
        save_model(home, MODEL_NAME, model, meta)
    return model, meta, True


def _scored(model: LeakageModel, records: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    columns = ["record_id", "msisdn", "element_id", "service", "start_time", "charge", "probability",
               "expected_loss", "baseline"]
    if records.empty:
        return pd.DataFrame(columns=columns)
    frame = F.model_frame(records, F.history_features(rates, sorted(set(records["window"].tolist()))))
    probability = model.probability(frame)
    out = records[["record_id", "msisdn", "element_id", "service", "start_time", "charge"]].copy()
    out["probability"] = probability
    out["expected_loss"] = model.expected_loss(frame, records["charge"], probability)
    out["baseline"] = model.baseline(records["element_id"])
    return out[columns].reset_index(drop=True)


def _cells(scores: pd.DataFrame) -> tuple[RiskCell, ...]:
    if scores.empty:
        return ()
    day = pd.to_datetime(scores["start_time"]).dt.strftime("%Y-%m-%d")
    cells = []
    for (element, service, d), part in scores.groupby([scores["element_id"], scores["service"], day]):
        cells.append(RiskCell(str(element), str(service), str(d), len(part), float(part["probability"].sum()),
                              sum(part["expected_loss"], Decimal(0))))
    return tuple(cells)


@dataclass(frozen=True)
class LeakageQuality:
    """The scored window against what the controls found once its SLA closed."""

    records: int
    faults: int
    auc_model: float | None
    auc_baseline: float | None
    money_at_risk: Decimal
    money_found: Decimal
    expected_faults: float
    largest_leak: Decimal = Decimal(0)   # one record's share of money_found: how much of it is luck

    @property
    def money_error(self) -> float | None:
        if self.money_found == 0:
            return None
        return float((self.money_at_risk - self.money_found) / self.money_found)


def leakage_quality(client: Any, run: LeakageRun) -> LeakageQuality:
    """Hold the run's scores against the findings on its records (read now, once the controls
    have judged them: call this after the SLA has closed and `reconcile` has run)."""
    scores = run.scores
    found = F.findings_frame(client, run.scored_from, run.scored_to)
    joined = scores[["record_id"]].merge(found, on="record_id", how="left")
    label = joined["fault_kind"].notna().to_numpy().astype(int)
    amounts = [Decimal(v) for v in joined["leaked"].dropna()]
    leaked = sum(amounts, Decimal(0))
    two_classes = 0 < label.sum() < len(label)
    return LeakageQuality(
        records=len(scores), faults=int(label.sum()),
        auc_model=float(roc_auc_score(label, scores["probability"])) if two_classes else None,
        auc_baseline=float(roc_auc_score(label, scores["baseline"])) if two_classes else None,
        money_at_risk=sum(scores["expected_loss"], Decimal(0)), money_found=leaked,
        expected_faults=float(scores["probability"].sum()), largest_leak=max(amounts, default=Decimal(0)))


def _billing_clock(client: Any) -> datetime | None:
    for query in (_BILLING_CLOCK, _USAGE_END):
        value = client.query(query).result_rows[0][0]
        if value is not None and value.year > 1970:
            return _naive(value)
    return None


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return _naive(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _naive(moment: datetime) -> datetime:
    if isinstance(moment, pd.Timestamp):
        moment = moment.to_pydatetime()
    return moment if moment.tzinfo is None else moment.astimezone(timezone.utc).replace(tzinfo=None)

"""`revguard score` for anomalies: features in ClickHouse, fit or load each model, write
`revguard.anomalies` for the range, record the runs.

A run replaces its range: anomalies whose window_start lies in [since, until) are deleted,
then the run's events are inserted. Each kind's simple baseline is computed in the same run
on the same features (returned, never stored), so its quality can be set beside the model's.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import Progress

from assurance.models import anomalies as A
from assurance.models import features as F
from assurance.models.registry import ModelMissing, ModelRun, library_versions, load_model, record_run, save_model

_DELETE_RANGE = """
DELETE FROM revguard.anomalies
WHERE kind IN {kinds:Array(String)}
  AND window_start >= toDateTime64({since:String}, 3, 'UTC')
  AND window_start < toDateTime64({until:String}, 3, 'UTC')
"""
_COLUMNS = ("anomaly_id", "kind", "msisdn", "element_id", "window_start", "window_end", "score",
            "expected", "observed", "amount", "model_version", "detected_at", "evidence")
# Baseline rules (named in the README): what a model must beat in the same run.
SPIKE_RULE_CALLS = 3          # premium/international calls in one hour
SIM_BOX_RULE_CALLS = 100      # calls a day ...
SIM_BOX_RULE_CALLEES = 80     # ... to this many distinct numbers


@dataclass
class SpikeModel:
    forest: A.ForestModel
    share: float                # premium/international per on-net/national call, across the base
    charge_per_call: float      # median charge of a premium/international call


@dataclass
class SimBoxModel:
    forest: A.ForestModel
    normal_calls: float         # median calls a day of a calling line


@dataclass(frozen=True)
class KindResult:
    kind: str
    model_version: str
    trained: bool
    events: tuple[A.Anomaly, ...]
    baseline: tuple[A.Anomaly, ...]
    rows_scored: int


@dataclass(frozen=True)
class DetectionRun:
    since: datetime
    until: datetime
    kinds: tuple[KindResult, ...] = field(default_factory=tuple)

    def kind(self, name: str) -> KindResult:
        return next(k for k in self.kinds if k.kind == name)


def score_anomalies(client: Any, home: Path, since: datetime | None = None, until: datetime | None = None,
                    retrain: bool = False, progress: bool = False) -> DetectionRun:
    """Fit (when none is saved, or `retrain`) or load each anomaly model, score [since, until)
    and replace that range's anomalies. Open ends default to the usage in the store."""
    span = F.usage_range(client)
    lo = _naive(since) if since else (span[0].replace(minute=0, second=0, microsecond=0) if span else None)
    hi = _naive(until) if until else (span[1].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
                                      if span else None)
    if lo is None or hi is None:
        raise NothingToScore("no network usage in the store to score: run `revguard load` first")
    if lo >= hi:
        raise ValueError(f"empty range: {lo:%Y-%m-%dT%H:%M:%SZ} is not before {hi:%Y-%m-%dT%H:%M:%SZ}")
    if not retrain:
        # Refuse a stale model before any kind is scored or recorded: a refused run leaves no trace.
        for kind in A.KINDS:
            try:
                load_model(Path(home), kind)
            except ModelMissing:
                pass
    detected_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    results = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("scoring anomalies", total=len(A.KINDS))
        for kind, scorer in (("usage_spike", _spikes), ("sim_box", _sim_boxes),
                             ("volume_truncation", _truncations)):
            bar.update(task, description=f"scoring {kind}")
            started = datetime.now(timezone.utc)
            result, meta = scorer(client, Path(home), lo, hi, retrain)
            record_run(client, ModelRun(
                run_id=uuid.uuid4().hex, model=kind, model_version=result.model_version,
                trained_from=_parse(meta.get("trained_from")), trained_to=_parse(meta.get("trained_to")),
                scored_from=lo, scored_to=hi, rows_scored=result.rows_scored,
                metrics={**meta.get("metrics", {}), "events": len(result.events),
                         "baseline_events": len(result.baseline), "trained_now": result.trained},
                library_versions=library_versions(), started_at=started,
                finished_at=datetime.now(timezone.utc)))
            results.append(result)
            bar.advance(task)
    client.command(_DELETE_RANGE, parameters={"kinds": list(A.KINDS), "since": F._bound(lo), "until": F._bound(hi)})
    rows = [[a.anomaly_id, a.kind, a.msisdn, a.element_id, a.window_start, a.window_end, float(a.score),
             float(a.expected), float(a.observed), a.amount, r.model_version, detected_at, A.evidence_text(a)]
            for r in results for a in r.events]
    if rows:
        client.insert("revguard.anomalies", rows, column_names=list(_COLUMNS))
    return DetectionRun(lo, hi, tuple(results))


class NothingToScore(ValueError):
    """Nothing to score."""


def _model(home: Path, name: str, retrain: bool, fit, lo: datetime, hi: datetime):
    """The saved model, or a new one fitted on [lo, hi) and saved: (model, metadata, trained)."""
    if not retrain:
        try:
            model, meta = load_model(home, name)
            return model, meta, False
        except ModelMissing:
            pass
    model, metrics = fit()
    meta = {"version": f"{datetime.now(timezone.utc):%Y%m%d.%H%M%S}",
            "trained_from": lo.isoformat() + "Z", "trained_to": hi.isoformat() + "Z", "metrics": metrics}
    save_model(home, name, model, meta)
    return model, meta, True


def _spikes(client: Any, home: Path, lo: datetime, hi: datetime, retrain: bool):
    hours = F.frame(client, F.SPIKE_HOURS, lo, hi)
    activity = F.frame(client, F.SUBSCRIBER_ACTIVITY, lo, hi)
    span_hours = (hi - lo).total_seconds() / 3600

    def fit():
        share = A.costly_share(activity)
        rows = A.spike_frame(hours, activity, span_hours, share)
        forest = A.fit_forest(rows, A.SPIKE_COLUMNS, A.SPIKE_MADS)
        forest.threshold = A.spike_threshold(forest, rows, len(activity) * span_hours)
        per_call = float(np.median(rows["costly_charge"] / rows["costly"])) if len(rows) else 0.0
        return SpikeModel(forest, share, per_call), {
            "rows": len(rows), "threshold": forest.threshold, "score_median": forest.median,
            "score_mad": forest.mad, "costly_share": share}

    model, meta, trained = _model(home, "usage_spike", retrain, fit, lo, hi)
    rows = A.spike_frame(hours, activity, span_hours, model.share)
    scores = model.forest.anomaly_score(rows)
    events = A.spike_events(rows, scores > model.forest.threshold, scores, model.charge_per_call) if len(rows) else []
    rule = (rows["costly"].to_numpy() >= SPIKE_RULE_CALLS) if len(rows) else np.zeros(0, bool)
    baseline = A.spike_events(rows, rule, rule.astype(float), model.charge_per_call) if len(rows) else []
    return KindResult("usage_spike", meta["version"], trained, tuple(events), tuple(baseline), len(rows)), meta


def _sim_boxes(client: Any, home: Path, lo: datetime, hi: datetime, retrain: bool):
    rows = A.sim_box_frame(F.frame(client, F.CALLING_DAYS, lo, hi))

    def fit():
        forest = A.fit_forest(rows, A.SIM_BOX_COLUMNS, A.SIM_BOX_MADS)
        forest.threshold = A.sim_box_threshold(forest, rows)
        return SimBoxModel(forest, float(rows["calls"].median()) if len(rows) else 0.0), {
            "rows": len(rows), "threshold": forest.threshold, "score_median": forest.median,
            "score_mad": forest.mad}

    model, meta, trained = _model(home, "sim_box", retrain, fit, lo, hi)
    scores = model.forest.anomaly_score(rows)
    events = A.sim_box_events(rows, scores > model.forest.threshold, scores, model.normal_calls) if len(rows) else []
    rule = ((rows["calls"] > SIM_BOX_RULE_CALLS) & (rows["callees"] > SIM_BOX_RULE_CALLEES)).to_numpy() \
        if len(rows) else np.zeros(0, bool)
    baseline = A.sim_box_events(rows, rule, rule.astype(float), model.normal_calls) if len(rows) else []
    return KindResult("sim_box", meta["version"], trained, tuple(events), tuple(baseline), len(rows)), meta


def _truncations(client: Any, home: Path, lo: datetime, hi: datetime, retrain: bool):
    hours = F.frame(client, F.ELEMENT_HOURS, lo, hi)
    # only packet gateways carry data; an element with no data hour is not in the frame
    def fit():
        model = A.fit_truncation(hours)
        return model, {"element_hours": len(hours), "profile": list(model.profile)}

    model, meta, trained = _model(home, "volume_truncation", retrain, fit, lo, hi)
    catalog = client.query(F.LATEST_CATALOG).result_rows
    prices = A.data_prices(catalog[0][0] if catalog else None)

    def bytes_by_plan(element: str, start: datetime, end: datetime):
        return F.frame(client, F.ELEMENT_BYTES_BY_PLAN, start, end, element=element).itertuples(index=False)

    events = A.truncation_events(hours, model, prices, bytes_by_plan) if len(hours) else []
    baseline = A.baseline_truncation_events(hours) if len(hours) else []
    return KindResult("volume_truncation", meta["version"], trained, tuple(events), tuple(baseline), len(hours)), meta


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    return _naive(datetime.fromisoformat(value.replace("Z", "+00:00")))


def _naive(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(timezone.utc).replace(tzinfo=None)

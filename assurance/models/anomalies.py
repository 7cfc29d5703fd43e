"""Anomaly models (SPEC section 7): `usage_spike`, `sim_box`, `volume_truncation`.

- `usage_spike`: an IsolationForest over subscriber-hours with premium/international traffic.
  A line's normal rate comes from its on-net/national traffic (which a fraud spike leaves
  alone) times the base's premium share, so the baseline never includes the spike it judges.
  The threshold is the highest score of an hour the line's normal rate explains (Poisson).
  Simple baseline beside it: "3 or more premium/international calls in an hour".
- `sim_box`: an IsolationForest over subscriber-days (calls, share of distinct callees, cells,
  data sessions, messages); the threshold is the highest score of a day with data sessions
  (a box carries none). Baseline: "over 100 calls to over 80 distinct numbers in a day".
- `volume_truncation`: per packet gateway, the hourly median of log(1 + bytes) of its data
  records, less an hour-of-day profile taken across every element, weighted by the records
  in the hour; one step down is searched for (the cut lasts from a moment on) and kept when
  it beats the largest step found in shuffled copies of the same series. Baseline: "hourly
  bytes below half the element's median for that hour of day".

Thresholds come from the data: the forests' from the scores of rows that are normal by
construction (hours the line's Poisson normal explains, days with data), the truncation's
from the permutation null. The truth file is never read here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import IsolationForest

from assurance.models import features as F

KINDS = ("usage_spike", "sim_box", "volume_truncation")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# How far above the training scores' median a score must lie, in MADs, to be an anomaly.
SPIKE_MADS = 17.0   # only a fallback: see spike_threshold
# A subscriber-hour whose 3-hour premium count the line's own normal rate explains is normal
# by definition; the forest's threshold sits above them all. "Explains": its Poisson tail is
# not significant at this family-wise level once corrected for every line-hour in the range.
SPIKE_FAMILY_ALPHA = 0.01
SIM_BOX_MADS = 10.5   # only a fallback: see sim_box_threshold
# The permutation null: shuffled copies, and how far beyond their largest step a real one must go.
TRUNCATION_SHUFFLES = 200
TRUNCATION_MARGIN = 1.5
# A step smaller than this (in log bytes, ~10 %) is not worth an analyst's time.
TRUNCATION_MIN_DROP = 0.10
# Interconnect revenue a SIM box takes per minute it relays (ex tax): the operator's
# international termination rate, a setting of the operator's, not of the model.
TERMINATION_PER_MINUTE = Decimal("0.08")
BYTES_PER_MB = 1_048_576
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Anomaly:
    """One row of `revguard.anomalies`."""

    kind: str
    msisdn: str
    element_id: str
    window_start: datetime
    window_end: datetime
    score: float
    expected: float
    observed: float
    amount: Decimal
    evidence: dict

    @property
    def anomaly_id(self) -> str:
        key = f"{self.kind}|{self.msisdn}|{self.element_id}|{self.window_start:%Y-%m-%dT%H:%M:%S}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


# -- usage_spike ---------------------------------------------------------------------------

SPIKE_COLUMNS = ("log_calls", "log_calls_3h", "log_ratio_3h", "log_minutes")


def spike_frame(hours: pd.DataFrame, activity: pd.DataFrame, span_hours: float, share: float) -> pd.DataFrame:
    """Subscriber-hour features: the hour's premium/international count, the count over it and
    its neighbours, its ratio to the line's normal for three hours, and minutes."""
    if hours.empty:
        return hours.assign(**{c: [] for c in (*SPIKE_COLUMNS, "normal_3h", "costly_3h")})
    hours = hours.sort_values(["msisdn", "hour"]).reset_index(drop=True)
    if activity.empty:
        activity = pd.DataFrame({"msisdn": pd.Series(dtype=str), "local": pd.Series(dtype=float)})
    local = activity.set_index("msisdn")["local"].reindex(hours["msisdn"]).fillna(0).to_numpy(float)
    normal_per_hour = (local * share + 1.0) / max(span_hours, 1.0)
    epoch = epoch_seconds(hours["hour"])
    costly = hours["costly"].to_numpy(float)
    around = costly.copy()
    same = hours["msisdn"].to_numpy()
    for shift in (1, -1):
        neighbour = np.roll(np.arange(len(hours)), shift)
        close = (same[neighbour] == same) & (np.abs(epoch[neighbour] - epoch) == 3600)
        around += np.where(close, costly[neighbour], 0.0)
    out = hours.copy()
    out["costly_3h"] = around
    out["normal_3h"] = 3 * normal_per_hour
    out["log_calls"] = np.log1p(costly)
    out["log_calls_3h"] = np.log1p(around)
    out["log_ratio_3h"] = np.log((around + 0.5) / (3 * normal_per_hour + 0.5))
    out["log_minutes"] = np.log1p(hours["costly_seconds"].to_numpy(float) / 60)
    return out


def spike_threshold(model: "ForestModel", rows: pd.DataFrame, line_hours: float) -> float:
    """The forest's threshold for spikes: the highest score it gives any subscriber-hour that
    the line's normal rate explains (Poisson tail of its 3-hour count at least
    SPIKE_FAMILY_ALPHA / line_hours, Bonferroni over every line-hour of the range). A median +
    k MAD rule fails here because the forest's scores saturate near 0.85 for every strong
    spike, whatever the spread of the normal hours."""
    from scipy.stats import poisson

    if rows.empty:
        return float("inf")
    scores = model.anomaly_score(rows)
    tail = poisson.sf(rows["costly_3h"].to_numpy(float) - 1, rows["normal_3h"].to_numpy(float))
    explained = tail >= SPIKE_FAMILY_ALPHA / max(line_hours, 1.0)
    return float(scores[explained].max()) if explained.any() else model.threshold


def costly_share(activity: pd.DataFrame) -> float:
    """Premium/international calls per on-net/national call across the base (medians of
    lines would be 0: most lines make none)."""
    if activity.empty:
        return 0.0
    local = float(activity["local"].sum())
    return float(activity["costly"].sum()) / local if local else 0.0


# -- sim_box -------------------------------------------------------------------------------

SIM_BOX_COLUMNS = ("log_calls", "callee_share", "log_calls_per_session", "log_calls_per_message")


def sim_box_frame(days: pd.DataFrame) -> pd.DataFrame:
    if days.empty:  # an empty result may come without its columns
        days = pd.DataFrame(columns=["msisdn", "day", "calls", "callees", "cells", "messages", "sessions",
                                     "seconds", "roaming_calls"])
    out = days.copy()
    calls = days["calls"].to_numpy(float)
    out["log_calls"] = np.log1p(calls)
    out["callee_share"] = days["callees"].to_numpy(float) / np.maximum(calls, 1)
    out["cells"] = days["cells"].to_numpy(float)
    out["log_sessions"] = np.log1p(days["sessions"].to_numpy(float))
    out["log_messages"] = np.log1p(days["messages"].to_numpy(float))
    # a box relays calls and does little else: calls far outnumber sessions and messages
    out["log_calls_per_session"] = np.log((calls + 1) / (days["sessions"].to_numpy(float) + 1))
    out["log_calls_per_message"] = np.log((calls + 1) / (days["messages"].to_numpy(float) + 1))
    return out


def sim_box_threshold(model: "ForestModel", rows: pd.DataFrame) -> float:
    """The forest's threshold for SIM boxes: the highest score it gives any subscriber-day
    with data sessions. A box relays calls and carries no data, so those days are normal by
    definition, busy business days included; a median + k MAD rule failed on small stores,
    where the forest's scores saturate below it. A box that also opened data sessions would
    set the bar itself: that is the known blind spot."""
    if rows.empty:
        return float("inf")
    with_data = rows["sessions"].to_numpy(float) > 0
    if not with_data.any():
        return model.threshold
    return float(model.anomaly_score(rows)[with_data].max())


# -- forests -------------------------------------------------------------------------------

@dataclass
class ForestModel:
    """An IsolationForest, the columns it reads, and its threshold on `anomaly_score`."""

    forest: IsolationForest
    columns: tuple[str, ...]
    threshold: float
    median: float
    mad: float

    def anomaly_score(self, rows: pd.DataFrame) -> np.ndarray:
        """Higher is more anomalous (the forest's own score_samples, reversed)."""
        if rows.empty:
            return np.zeros(0)
        return -self.forest.score_samples(rows[list(self.columns)].to_numpy(float))


def fit_forest(rows: pd.DataFrame, columns: tuple[str, ...], mads: float, seed: int = 0) -> ForestModel:
    forest = IsolationForest(n_estimators=200, random_state=seed)
    if rows.empty:
        # nothing to learn from: a forest that flags nothing, so a store without calls scores
        forest.fit(np.zeros((1, len(columns))))
        return ForestModel(forest, columns, float("inf"), 0.0, 0.0)
    forest.fit(rows[list(columns)].to_numpy(float))
    model = ForestModel(forest, columns, 0.0, 0.0, 0.0)
    scores = model.anomaly_score(rows)
    median = float(np.median(scores))
    mad = float(np.median(np.abs(scores - median))) or 1e-9
    model.threshold, model.median, model.mad = median + mads * mad, median, mad
    return model


def runs(keys: np.ndarray, starts: np.ndarray, flagged: np.ndarray, step: int) -> list[tuple[int, int]]:
    """Index ranges [first, last] of flagged rows of one key whose starts are at most `step`
    seconds apart (one event each); rows must be sorted by key and start."""
    found: list[tuple[int, int]] = []
    current: list[int] | None = None
    for i in np.flatnonzero(flagged).tolist():
        if current is not None and keys[i] == keys[current[1]] and starts[i] - starts[current[1]] <= step:
            current[1] = i
        else:
            if current is not None:
                found.append((current[0], current[1]))
            current = [i, i]
    if current is not None:
        found.append((current[0], current[1]))
    return found


def spike_events(rows: pd.DataFrame, flagged: np.ndarray, scores: np.ndarray,
                 charge_per_call: float) -> list[Anomaly]:
    """Consecutive flagged hours of a line as one event; money is the window's premium and
    international charge less what the line's normal rate would have spent."""
    epoch = epoch_seconds(rows["hour"])
    events = []
    for first, last in runs(rows["msisdn"].to_numpy(), epoch, flagged, 3600):
        part = rows.iloc[first:last + 1]
        hours = (epoch[last] - epoch[first]) // 3600 + 1
        expected = float(part["normal_3h"].iloc[0]) / 3 * hours
        observed = float(part["costly"].sum())
        charge = float(part["costly_charge"].sum())
        amount = max(charge - expected * charge_per_call, 0.0)
        start = _naive(part["hour"].iloc[0])
        events.append(Anomaly(
            "usage_spike", str(part["msisdn"].iloc[0]), "", start, start + hours * HOUR,
            float(scores[first:last + 1].max()), expected, observed, _money(amount),
            {"calls": int(observed), "expected_calls": round(expected, 3), "minutes": round(
                float(part["costly_seconds"].sum()) / 60, 1), "charge": round(charge, 6),
             "hours": [h.strftime("%Y-%m-%dT%H:%MZ") for h in part["hour"]]}))
    return events


def sim_box_events(rows: pd.DataFrame, flagged: np.ndarray, scores: np.ndarray,
                   normal_calls: float) -> list[Anomaly]:
    """Consecutive flagged days of a line as one event; money is the minutes the box relayed
    at the termination rate."""
    epoch = epoch_seconds(rows["day"])
    events = []
    for first, last in runs(rows["msisdn"].to_numpy(), epoch, flagged, 86400):
        part = rows.iloc[first:last + 1]
        days = (epoch[last] - epoch[first]) // 86400 + 1
        minutes = Decimal(int(part["seconds"].sum())) / 60
        start = _naive(part["day"].iloc[0])
        events.append(Anomaly(
            "sim_box", str(part["msisdn"].iloc[0]), "", start, start + days * DAY,
            float(scores[first:last + 1].max()), normal_calls, float(part["calls"].mean()),
            (minutes * TERMINATION_PER_MINUTE).quantize(MICRO),
            {"calls_per_day": [int(c) for c in part["calls"]],
             "distinct_callees_per_day": [int(c) for c in part["callees"]],
             "cells": int(part["cells"].max()), "data_sessions": int(part["sessions"].sum()),
             "messages": int(part["messages"].sum()), "minutes": float(round(minutes, 1)),
             "termination_per_minute": str(TERMINATION_PER_MINUTE)}))
    return events


# -- volume_truncation ---------------------------------------------------------------------

@dataclass(frozen=True)
class TruncationModel:
    """The hour-of-day profile of median log bytes across elements, and the permutation
    settings; levels are each element's own, from the series being scored."""

    profile: tuple[float, ...]   # 24 values, offsets from the overall median
    shuffles: int = TRUNCATION_SHUFFLES
    margin: float = TRUNCATION_MARGIN
    min_drop: float = TRUNCATION_MIN_DROP


def fit_truncation(hours: pd.DataFrame) -> TruncationModel:
    """The hour-of-day profile: medians are robust to a minority of cut elements."""
    data = hours[hours["records"] > 0] if len(hours) else hours
    if data.empty:
        return TruncationModel(profile=(0.0,) * 24)
    level = data.groupby("element_id")["median_log_bytes"].transform("median")
    offset = (data["median_log_bytes"] - level).groupby(pd.to_datetime(data["hour"]).dt.hour).median()
    return TruncationModel(profile=tuple(float(offset.get(h, 0.0)) for h in range(24)))


def best_step(z: np.ndarray) -> tuple[int, float]:
    """The split (index of the first hour after it) with the largest standardised drop of
    the mean, and that drop's statistic (positive = a step down)."""
    n = len(z)
    if n < 4:
        return 0, 0.0
    total = z.sum()
    before = np.cumsum(z)[:-1]
    k = np.arange(1, n)
    drop = before / k - (total - before) / (n - k)
    stat = drop * np.sqrt(k * (n - k) / n)
    # at least two hours each side: one noisy hour is not a step
    stat[:1] = stat[-1:] = -np.inf
    best = int(np.argmax(stat))
    return best + 1, float(stat[best])


def truncation_events(hours: pd.DataFrame, model: TruncationModel, prices: dict[str, Decimal],
                      bytes_by_plan) -> list[Anomaly]:
    """At most one step down per element: the cut lasts from a moment on."""
    events = []
    rng = np.random.default_rng(0)
    for element, series in hours.groupby("element_id", sort=True):
        series = series.sort_values("hour")
        x = series["median_log_bytes"].to_numpy(float)
        n_records = series["records"].to_numpy(float)
        hod = pd.to_datetime(series["hour"]).dt.hour.to_numpy()
        r = x - np.array(model.profile)[hod]
        r = r - np.median(r)
        z = r * np.sqrt(n_records)
        scale = 1.4826 * np.median(np.abs(np.diff(z))) / np.sqrt(2) if len(z) > 2 else 0.0
        if not scale:
            continue
        z = z / scale
        split, stat = best_step(z)
        if split == 0:
            continue
        null = max(best_step(rng.permutation(z))[1] for _ in range(model.shuffles))
        drop = float(np.median(r[:split]) - np.median(r[split:]))
        if stat <= model.margin * null or drop < model.min_drop:
            continue
        keep = float(np.exp(-drop))
        start = _naive(series["hour"].iloc[split])
        end = _naive(series["hour"].iloc[-1]) + HOUR
        amount = Decimal(0)
        for plan, volume in bytes_by_plan(element, start, end):
            lost = Decimal(int(volume)) * (Decimal(1) / Decimal(str(keep)) - 1)
            amount += lost * prices.get(plan, Decimal(0)) / BYTES_PER_MB
        expected = float(np.exp(np.median(x[:split])))
        observed = float(np.exp(np.median(x[split:])))
        events.append(Anomaly(
            "volume_truncation", "", str(element), start, end, stat / null if null > 0 else stat,
            expected, observed, amount.quantize(MICRO),
            {"median_bytes_before": round(expected), "median_bytes_after": round(observed),
             "kept_share": round(keep, 3), "step_statistic": round(stat, 2),
             "largest_shuffled_step": round(null, 2), "hours_before": int(split),
             "hours_after": int(len(x) - split), "records_after": int(n_records[split:].sum())}))
    return events


def baseline_truncation_events(hours: pd.DataFrame) -> list[Anomaly]:
    """The simple rule: an element-hour whose bytes are below half its median for that hour
    of day; consecutive such hours are one event."""
    rows = hours.sort_values(["element_id", "hour"]).reset_index(drop=True)
    hod = pd.to_datetime(rows["hour"]).dt.hour
    typical = rows.groupby([rows["element_id"], hod])["bytes"].transform("median")
    flagged = (rows["bytes"] < 0.5 * typical).to_numpy()
    epoch = epoch_seconds(rows["hour"])
    out = []
    for first, last in runs(rows["element_id"].to_numpy(), epoch, flagged, 3600):
        start = _naive(rows["hour"].iloc[first])
        out.append(Anomaly("volume_truncation", "", str(rows["element_id"].iloc[first]), start,
                           _naive(rows["hour"].iloc[last]) + HOUR, 0.0, 0.0, 0.0, Decimal(0), {}))
    return out


def data_prices(catalog_yaml: str | None) -> dict[str, Decimal]:
    """Home per-MB price of every plan after its discount, from the loaded catalog."""
    if not catalog_yaml:
        return {}
    catalog = yaml.safe_load(catalog_yaml)
    prices = {}
    for plan in catalog.get("plans") or []:
        discount = Decimal(str(plan.get("overage_discount_percent", "0")))
        prices[str(plan["id"])] = Decimal(str(plan["data"]["per_mb"])) * (1 - discount / 100)
    return prices


def epoch_seconds(moments: pd.Series) -> np.ndarray:
    """Seconds since the epoch of naive-UTC or aware datetimes, whatever unit pandas keeps
    them in (pandas 3 keeps Python datetimes in microseconds, not nanoseconds)."""
    moments = pd.to_datetime(moments)
    if getattr(moments.dt, "tz", None) is not None:
        moments = moments.dt.tz_convert("UTC").dt.tz_localize(None)
    return moments.to_numpy().astype("datetime64[s]").astype(np.int64)


def _money(value: float) -> Decimal:
    return Decimal(f"{float(value):.6f}")


def _naive(moment: Any) -> datetime:
    moment = pd.Timestamp(moment)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return moment.to_pydatetime()


def evidence_text(anomaly: Anomaly) -> str:
    return json.dumps(anomaly.evidence, sort_keys=True, default=str)

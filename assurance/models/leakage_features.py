"""Features of the leakage-risk model, computed in ClickHouse: one row per rated record, and
the fault rates of earlier windows per element, tariff (plan and destination class) and
visited network, so that pandas only joins and rolls them.

Time is cut into 24-hour windows ending at the scoring cutoff `anchor` (the billing clock
minus the SLA): window 0 is [anchor, anchor + 24 h), the records still inside the SLA;
window -1 the day before, and so on. A record of window w is described by what the
controls had found on the records of windows w-7 .. w-1 only: exactly what was known when
w's records were still inside their SLA, so training rows and scored rows see the same kind
of history and no row ever sees its own window's findings.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

TARGET_KINDS = ("unbilled", "misrated", "usage_mismatch")
WINDOW = timedelta(hours=24)
HISTORY_WINDOWS = 7
# Pseudo-records at the overall rate that every history rate starts from: a key seen on a few
# records has its rate pulled toward the base, so one fault on two records is not a 50 % rate.
PRIOR_RECORDS = 50.0
KEYS = ("element", "tariff", "partner")
CATEGORICAL = ("service", "plan_id", "dest_class", "roaming_zone", "payment")
NUMERIC = ("log_charge", "log_quantity", "hour", "in_allowance", "offpeak",
           "element_unbilled", "element_mismatch", "element_misrated", "element_recent",
           "tariff_misrated", "tariff_recent", "partner_unbilled")

# Rated records of [lo, hi) with their window number relative to `anchor`.
RECORDS = """
SELECT record_id, msisdn, element_id, service, start_time,
       toInt64(floor((toUnixTimestamp64Milli(start_time) - {anchor_ms:Int64}) / {window_ms:Int64})) AS window,
       plan_id, payment, dest_class, roaming_zone, roaming_mccmnc,
       toUInt8(offpeak) AS offpeak, toUInt8(allowance_units > 0) AS in_allowance,
       duration_s, volume_bytes, charge
FROM revguard.rated_usage FINAL
WHERE status = 'rated'
  AND start_time >= {lo:DateTime64(3, 'UTC')} AND start_time < {hi:DateTime64(3, 'UTC')}
ORDER BY start_time, record_id
"""

# What the controls found on the rated records of [lo, hi): the label of a record and the
# money it leaked (under-billing only). Read for windows whose SLA has closed, never for the
# scored window.
FINDINGS = """
SELECT record_id, argMax(kind, amount) AS fault_kind, greatest(max(amount), toDecimal64(0, 6)) AS leaked
FROM revguard.discrepancies FINAL
WHERE kind IN {kinds:Array(String)}
  AND event_time >= {lo:DateTime64(3, 'UTC')} AND event_time < {hi:DateTime64(3, 'UTC')}
GROUP BY record_id
"""

# Per window and key: rated records and the faults the controls found on them.
WINDOW_RATES = """
WITH found AS (
    SELECT record_id, any(kind) AS fault_kind
    FROM revguard.discrepancies FINAL
    WHERE kind IN {kinds:Array(String)}
      AND event_time >= {lo:DateTime64(3, 'UTC')} AND event_time < {hi:DateTime64(3, 'UTC')}
    GROUP BY record_id
),
records AS (
    SELECT r.record_id AS record_id,
           toInt64(floor((toUnixTimestamp64Milli(r.start_time) - {anchor_ms:Int64}) / {window_ms:Int64})) AS window,
           [('element', r.element_id), ('tariff', concat(r.plan_id, '/', r.dest_class)),
            ('partner', r.roaming_mccmnc)] AS keys,
           f.fault_kind AS fault
    FROM revguard.rated_usage AS r FINAL
    LEFT JOIN found AS f ON f.record_id = r.record_id
    WHERE r.status = 'rated'
      AND r.start_time >= {lo:DateTime64(3, 'UTC')} AND r.start_time < {hi:DateTime64(3, 'UTC')}
)
SELECT window, entry.1 AS key_kind, entry.2 AS key, count() AS records,
       countIf(fault = 'unbilled') AS unbilled, countIf(fault = 'misrated') AS misrated,
       countIf(fault = 'usage_mismatch') AS usage_mismatch
FROM records
ARRAY JOIN keys AS entry
GROUP BY window, key_kind, key
SETTINGS join_use_nulls = 0
"""


def _bound(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo is not None else moment


def _parameters(anchor: datetime, lo: datetime, hi: datetime) -> dict[str, Any]:
    anchor_ms = int((_bound(anchor) - datetime(1970, 1, 1)).total_seconds() * 1000)
    return {"anchor_ms": anchor_ms, "window_ms": int(WINDOW.total_seconds() * 1000),
            "lo": _bound(lo), "hi": _bound(hi), "kinds": list(TARGET_KINDS)}


def record_frame(client: Any, anchor: datetime, lo: datetime, hi: datetime) -> pd.DataFrame:
    """The rated records of [lo, hi), one row each, with their window relative to `anchor`."""
    frame = client.query_df(RECORDS, parameters=_parameters(anchor, lo, hi))
    if frame.empty:
        return frame
    frame["window"] = frame["window"].astype(np.int64)
    return frame


def findings_frame(client: Any, lo: datetime, hi: datetime) -> pd.DataFrame:
    """record_id, kind and leaked money of the target findings on records of [lo, hi)."""
    found = client.query_df(FINDINGS, parameters=_parameters(lo, lo, hi))
    # an empty answer comes back without columns; the callers join on them
    return found if len(found.columns) else pd.DataFrame(columns=["record_id", "fault_kind", "leaked"])


def window_rates(client: Any, anchor: datetime, lo: datetime, hi: datetime) -> pd.DataFrame:
    """Records and target faults per (window, key_kind, key) over the records of [lo, hi)."""
    return client.query_df(WINDOW_RATES, parameters=_parameters(anchor, lo, hi))


def history_features(rates: pd.DataFrame, windows: list[int]) -> dict[str, pd.DataFrame]:
    """Per key kind, a frame of (window, key) -> smoothed fault rates of the HISTORY_WINDOWS
    windows before it (and of the one window before it: `recent`), for each window in
    `windows`. Only windows strictly before w feed w's row."""
    out: dict[str, pd.DataFrame] = {}
    counts = ("records", "unbilled", "misrated", "usage_mismatch")
    if rates.empty:
        base = {"unbilled": 0.0, "misrated": 0.0, "usage_mismatch": 0.0}
    else:
        element = rates[rates["key_kind"] == "element"]
        total = max(float(element["records"].sum()), 1.0)
        base = {c: float(element[c].sum()) / total for c in counts[1:]}
    for key_kind in KEYS:
        part = rates[rates["key_kind"] == key_kind] if not rates.empty else rates
        rows = []
        keys = sorted(set(part["key"])) if not part.empty else []
        for w in windows:
            past = part[(part["window"] < w) & (part["window"] >= w - HISTORY_WINDOWS)] if keys else part
            last = part[part["window"] == w - 1] if keys else part
            past_sum = past.groupby("key")[list(counts)].sum() if keys else None
            last_sum = last.groupby("key")[list(counts)].sum() if keys else None
            for key in keys:
                row = {"window": w, "key": key}
                for name, summed in (("", past_sum), ("recent_", last_sum)):
                    got = summed.loc[key] if summed is not None and key in summed.index else None
                    n = float(got["records"]) if got is not None else 0.0
                    for c in counts[1:]:
                        faults = float(got[c]) if got is not None else 0.0
                        row[name + c] = (faults + PRIOR_RECORDS * base[c]) / (n + PRIOR_RECORDS)
                rows.append(row)
        out[key_kind] = pd.DataFrame(rows, columns=["window", "key"] + [p + c for p in ("", "recent_")
                                                                      for c in counts[1:]])
    out["base"] = pd.DataFrame([base])
    return out


def model_frame(records: pd.DataFrame, history: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The model's columns (CATEGORICAL + NUMERIC) for each record, in the records' order."""
    base = history["base"].iloc[0]
    frame = pd.DataFrame(index=records.index)
    for column in CATEGORICAL:
        frame[column] = records[column].astype(str)
    charge = records["charge"].astype(float)
    quantity = np.where(records["service"] == "voice", records["duration_s"], records["volume_bytes"])
    frame["log_charge"] = np.log1p(charge.clip(lower=0) * 1000)
    frame["log_quantity"] = np.log1p(quantity.astype(float))
    frame["hour"] = pd.to_datetime(records["start_time"]).dt.hour.astype(float)
    frame["in_allowance"] = records["in_allowance"].astype(float)
    frame["offpeak"] = records["offpeak"].astype(float)
    keyed = {"element": records["element_id"].astype(str),
             "tariff": records["plan_id"].astype(str) + "/" + records["dest_class"].astype(str),
             "partner": records["roaming_mccmnc"].astype(str)}
    picks = {"element": {"element_unbilled": "unbilled", "element_mismatch": "usage_mismatch",
                         "element_misrated": "misrated", "element_recent": "recent_unbilled"},
             "tariff": {"tariff_misrated": "misrated", "tariff_recent": "recent_misrated"},
             "partner": {"partner_unbilled": "unbilled"}}
    for key_kind, columns in picks.items():
        table = history[key_kind]
        lookup = pd.DataFrame({"window": records["window"].to_numpy(), "key": keyed[key_kind].to_numpy()})
        joined = lookup.merge(table, on=["window", "key"], how="left")
        for column, source in columns.items():
            fallback = base[source.removeprefix("recent_")]
            frame[column] = joined[source].fillna(fallback).to_numpy()
    # a failing feed shows in both of its kinds: the recent signal is the element's
    # unbilled and mismatch rates of the last window together
    recent_mismatch = lookup_recent(records, history, keyed["element"])
    frame["element_recent"] = frame["element_recent"].to_numpy() + recent_mismatch
    return frame[list(CATEGORICAL) + list(NUMERIC)]


def lookup_recent(records: pd.DataFrame, history: dict[str, pd.DataFrame], element: pd.Series) -> np.ndarray:
    base = float(history["base"].iloc[0]["usage_mismatch"])
    lookup = pd.DataFrame({"window": records["window"].to_numpy(), "key": element.to_numpy()})
    joined = lookup.merge(history["element"], on=["window", "key"], how="left")
    return joined["recent_usage_mismatch"].fillna(base).to_numpy()

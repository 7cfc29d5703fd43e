"""Churn features of every subscriber as of a date T, computed in ClickHouse.

Two windows before T: the last 28 days [T-28d, T) and the 28 before them [T-56d, T-28d);
usage also over the last 14 days against the 14 before (a recent fall shows sooner).
Nothing at or after T enters a feature: usage by start time, bills by both start and
billing time, top-ups by their time, findings by usage time and only once the 24 h billing
SLA has closed (a finding can only exist once its SLA closed). The label and the population
(who was still a customer at T) do look past T, and are returned apart from the features.

Who had left before T: billing says `terminated` and nothing of theirs happened from T on.
The label "leaves in (T, T+30 d]": terminated, with the last activity in that interval.
The store keeps no leaving date, so the last activity stands for it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import yaml

WINDOW_DAYS = 28
HISTORY_DAYS = 2 * WINDOW_DAYS
HORIZON_DAYS = 30
SLA_HOURS = 24

CATEGORICAL = ("plan_id", "segment", "payment")
NUMERIC = (
    "voice_change", "sms_change", "data_change", "events_change", "events_14_change",
    "voice_min_28", "sms_28", "data_mb_28", "active_days_28", "active_days_change",
    "contacts_28", "contacts_change", "days_since_use",
    "days_since_topup", "topups_56", "topup_amount_56", "last_topup_amount", "balance",
    "charges_28", "charge_change", "charges_share_of_limit",
    "world_roaming_days_56", "world_charges_56", "tenure_days", "findings_56",
)
FEATURES = NUMERIC + CATEGORICAL

_QUERY = """
WITH toDateTime64('{t}', 3, 'UTC') AS t, t - INTERVAL 28 DAY AS w1, t - INTERVAL 56 DAY AS w0
SELECT
    s.msisdn AS msisdn, s.plan_id AS plan_id, s.segment AS segment, s.payment AS payment,
    if(u.voice_prev > 0, u.voice_28 / u.voice_prev - 1, NULL) AS voice_change,
    if(u.sms_prev > 0, u.sms_28 / u.sms_prev - 1, NULL) AS sms_change,
    if(u.data_prev > 0, u.data_28 / u.data_prev - 1, NULL) AS data_change,
    if(u.events_prev > 0, u.events_28 / u.events_prev - 1, NULL) AS events_change,
    if(u.events_14_prev > 0, u.events_14 / u.events_14_prev - 1, NULL) AS events_14_change,
    ifNull(u.voice_28, 0) / 60 AS voice_min_28, ifNull(u.sms_28, 0) AS sms_28,
    ifNull(u.data_28, 0) / 1e6 AS data_mb_28,
    ifNull(u.active_days_28, 0) AS active_days_28,
    ifNull(u.active_days_28, 0) - ifNull(u.active_days_prev, 0) AS active_days_change,
    ifNull(u.contacts_28, 0) AS contacts_28,
    if(u.contacts_prev > 0, u.contacts_28 / u.contacts_prev - 1, NULL) AS contacts_change,
    if(u.last_use IS NULL, NULL, dateDiff('second', u.last_use, t) / 86400) AS days_since_use,
    if(a.last_topup IS NULL, NULL, dateDiff('second', a.last_topup, t) / 86400) AS days_since_topup,
    ifNull(a.topups_56, 0) AS topups_56, toFloat64(ifNull(a.topup_amount_56, 0)) AS topup_amount_56,
    toFloat64(a.last_topup_amount) AS last_topup_amount,
    -- opening balance + adjustments - charges with tax; never below 0, as online charging keeps it
    if(s.payment = 'prepaid',
       greatest(toFloat64(ifNull(s.balance, 0)) + toFloat64(ifNull(a.adjusted, 0))
                - toFloat64(ifNull(c.charged_ever, 0)) * (1 + {tax}), 0), NULL) AS balance,
    toFloat64(ifNull(b.charges_28, 0)) AS charges_28,
    if(b.charges_prev > 0, toFloat64(b.charges_28) / toFloat64(b.charges_prev) - 1, NULL) AS charge_change,
    if(s.credit_limit > 0, toFloat64(ifNull(b.charges_28, 0)) / toFloat64(s.credit_limit), NULL)
        AS charges_share_of_limit,
    ifNull(u.world_days_56, 0) AS world_roaming_days_56,
    toFloat64(ifNull(b.world_charges_56, 0)) AS world_charges_56,
    dateDiff('second', s.activated_at, t) / 86400 AS tenure_days,
    ifNull(f.findings_56, 0) AS findings_56,
    toUInt8(s.status = 'terminated' AND l.last_activity > t
            AND l.last_activity <= t + INTERVAL {horizon} DAY) AS label
FROM (
    SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id, argMax(segment, loaded_at) AS segment,
           argMax(payment, loaded_at) AS payment, argMax(status, loaded_at) AS status,
           argMax(activated_at, loaded_at) AS activated_at, argMax(balance, loaded_at) AS balance,
           argMax(credit_limit, loaded_at) AS credit_limit
    FROM revguard.subscribers GROUP BY msisdn
) AS s
LEFT JOIN (
    SELECT msisdn,
        sumIf(duration_s, service = 'voice' AND start_time >= w1) AS voice_28,
        sumIf(duration_s, service = 'voice' AND start_time < w1) AS voice_prev,
        countIf(service = 'sms' AND start_time >= w1) AS sms_28,
        countIf(service = 'sms' AND start_time < w1) AS sms_prev,
        sumIf(volume_bytes, service = 'data' AND start_time >= w1) AS data_28,
        sumIf(volume_bytes, service = 'data' AND start_time < w1) AS data_prev,
        countIf(start_time >= w1) AS events_28, countIf(start_time < w1) AS events_prev,
        countIf(start_time >= t - INTERVAL 14 DAY) AS events_14,
        countIf(start_time >= w1 AND start_time < t - INTERVAL 14 DAY) AS events_14_prev,
        uniqExactIf(toDate(start_time), start_time >= w1) AS active_days_28,
        uniqExactIf(toDate(start_time), start_time < w1) AS active_days_prev,
        uniqExactIf(destination, destination != '' AND start_time >= w1) AS contacts_28,
        uniqExactIf(destination, destination != '' AND start_time < w1) AS contacts_prev,
        max(start_time) AS last_use,
        uniqExactIf(toDate(start_time), {world}) AS world_days_56
    FROM revguard.network_usage FINAL
    WHERE start_time >= w0 AND start_time < t
    GROUP BY msisdn
) AS u ON u.msisdn = s.msisdn
LEFT JOIN (
    SELECT msisdn, maxIf(time, kind = 'topup') AS last_topup_or_zero,
        if(countIf(kind = 'topup') > 0, last_topup_or_zero, NULL) AS last_topup,
        if(countIf(kind = 'topup') > 0, argMaxIf(amount, time, kind = 'topup'), NULL) AS last_topup_amount,
        countIf(kind = 'topup' AND time >= w0) AS topups_56,
        sumIf(amount, kind = 'topup' AND time >= w0) AS topup_amount_56,
        sum(amount) AS adjusted
    FROM revguard.adjustments FINAL
    WHERE time < t
    GROUP BY msisdn
) AS a ON a.msisdn = s.msisdn
LEFT JOIN (
    SELECT msisdn, sumIf(charge, start_time >= w1) AS charges_28, sumIf(charge, start_time < w1) AS charges_prev,
        sumIf(charge, record_id IN (
            SELECT record_id FROM revguard.network_usage FINAL
            WHERE start_time >= w0 AND start_time < t AND {world})) AS world_charges_56
    FROM revguard.billed_usage FINAL
    WHERE start_time >= w0 AND start_time < t AND billed_at < t
    GROUP BY msisdn
) AS b ON b.msisdn = s.msisdn
LEFT JOIN (
    SELECT msisdn, sum(charge) AS charged_ever FROM revguard.billed_usage FINAL
    WHERE start_time < t AND billed_at < t GROUP BY msisdn
) AS c ON c.msisdn = s.msisdn
LEFT JOIN (
    SELECT msisdn, count() AS findings_56 FROM revguard.discrepancies FINAL
    WHERE event_time >= w0 AND event_time < t - INTERVAL {sla} HOUR AND msisdn != ''
    GROUP BY msisdn
) AS f ON f.msisdn = s.msisdn
LEFT JOIN (
    SELECT msisdn, max(m) AS last_activity FROM (
        SELECT msisdn, max(start_time) AS m FROM revguard.network_usage FINAL GROUP BY msisdn
        UNION ALL
        SELECT msisdn, max(time) AS m FROM revguard.adjustments FINAL GROUP BY msisdn)
    GROUP BY msisdn
) AS l ON l.msisdn = s.msisdn
WHERE s.activated_at < t AND NOT (s.status = 'terminated' AND (l.last_activity IS NULL OR l.last_activity < t))
ORDER BY msisdn
SETTINGS join_use_nulls = 1
"""


def features_as_of(client: Any, as_of: datetime) -> tuple[pd.DataFrame, pd.Series]:
    """(features indexed by msisdn, the label "leaves in (T, T+30 d]") for the subscribers
    still customers at `as_of`. The label is for training and measuring only."""
    tax, eu_prefixes = _catalog_terms(client)
    world = _world_condition(eu_prefixes)
    sql = _QUERY.format(t=_utc_text(as_of), tax=tax, world=world, horizon=HORIZON_DAYS, sla=SLA_HOURS)
    frame = client.query_df(sql)
    frame = frame.set_index("msisdn")
    label = frame.pop("label").astype(int)
    features = frame[list(FEATURES)].copy()
    for name in NUMERIC:
        features[name] = pd.to_numeric(features[name], errors="coerce").astype(float)
    for name in CATEGORICAL:
        features[name] = features[name].astype(str).astype("category")
    return features, label


def data_span(client: Any) -> tuple[datetime, datetime] | None:
    """The first and last usage start time in the store, or None when it holds none."""
    first, last, count = client.query(
        "SELECT min(start_time), max(start_time), count() FROM revguard.network_usage").result_rows[0]
    if not count:
        return None
    return _aware(first), _aware(last)


def as_of_dates(client: Any, step_days: int = 7, until: datetime | None = None) -> list[datetime]:
    """As-of dates (UTC midnights) with 56 days of history before them, every `step_days`,
    the last one at the last midnight of the data (or of `until`)."""
    span = data_span(client)
    if span is None:
        return []
    first, last = span
    end = min(last, until) if until else last
    last_midnight = datetime(end.year, end.month, end.day, tzinfo=timezone.utc)
    earliest = first + timedelta(days=HISTORY_DAYS)
    dates = []
    moment = last_midnight
    while moment >= earliest:
        dates.append(moment)
        moment -= timedelta(days=step_days)
    return sorted(dates)


def _catalog_terms(client: Any) -> tuple[str, list[str]]:
    rows = client.query("SELECT yaml FROM revguard.catalog LIMIT 1").result_rows
    if not rows:
        return "0.20", []
    catalog = yaml.safe_load(rows[0][0])
    tax = str(catalog.get("tax_rate", "0"))
    prefixes = [str(r["prefix"]) for r in catalog.get("roaming_zones", []) if r.get("zone") == "eu" and r.get("prefix")]
    return _number(tax), prefixes


def _world_condition(eu_prefixes: list[str]) -> str:
    """Roaming outside the eu zone: a visited network whose code starts with no eu prefix."""
    parts = ["roaming_mccmnc != ''"]
    parts += [f"NOT startsWith(roaming_mccmnc, '{_digits(p)}')" for p in eu_prefixes]
    return "(" + " AND ".join(parts) + ")"


def _digits(text: str) -> str:
    if not text.isdigit():
        raise ValueError(f"a roaming zone prefix is digits, not {text!r}")
    return text


def _number(text: str) -> str:
    float(text)  # refuses anything that is not a number before it reaches SQL
    return text


def _utc_text(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def empty_features() -> pd.DataFrame:
    return pd.DataFrame({name: np.array([], dtype=float) for name in NUMERIC}
                        | {name: pd.Categorical([]) for name in CATEGORICAL})

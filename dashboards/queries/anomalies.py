"""Anomalies page data: the events `revguard score` wrote, and for one event the series it was
judged on (observed per hour or day around its window) with the expected band beside it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from dashboards.store import frame

ANOMALY_COLUMNS = ("anomaly_id", "kind", "msisdn", "element_id", "window_start", "window_end", "score",
                   "expected", "observed", "amount", "model_version", "detected_at")

SUMMARY = """
SELECT toString(kind) AS kind, count() AS events, sum(amount) AS amount, max(detected_at) AS last_scored
FROM revguard.anomalies FINAL GROUP BY kind ORDER BY kind
"""

ANOMALIES = """
SELECT anomaly_id, toString(kind) AS kind, msisdn, toString(element_id) AS element_id, window_start, window_end,
       score, expected, observed, amount, model_version, detected_at, evidence
FROM revguard.anomalies FINAL
WHERE (length({kinds:Array(String)}) = 0 OR kind IN {kinds:Array(String)})
ORDER BY amount DESC, window_start, anomaly_id
LIMIT 500
"""

# A line's premium and international calls per hour, as the usage_spike model counts them.
SPIKE_SERIES = """
SELECT toStartOfHour(start_time) AS time, countIf(dest_class IN ('premium', 'international')) AS observed
FROM revguard.rated_usage FINAL
WHERE status = 'rated' AND service IN ('voice', 'sms') AND msisdn = {msisdn:String}
  AND start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
GROUP BY time ORDER BY time WITH FILL FROM toStartOfHour({since:DateTime64(3, 'UTC')}) TO {until:DateTime64(3, 'UTC')} STEP 3600
"""

# A line's calls per day, as the sim_box model counts them.
SIM_BOX_SERIES = """
SELECT toStartOfDay(start_time) AS time, countIf(service = 'voice') AS observed
FROM revguard.rated_usage FINAL
WHERE status = 'rated' AND msisdn = {msisdn:String}
  AND start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
GROUP BY time ORDER BY time
"""

# The spread of calling lines' calls a day over the same days: the band a line should sit in.
CALLS_PER_DAY_BAND = """
SELECT quantileExact(0.05)(calls) AS low, quantileExact(0.95)(calls) AS high FROM (
    SELECT msisdn, toStartOfDay(start_time) AS day, countIf(service = 'voice') AS calls
    FROM revguard.rated_usage FINAL
    WHERE status = 'rated' AND start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
    GROUP BY msisdn, day HAVING calls > 0)
"""

# An element's median bytes of a data record per hour, as the volume_truncation model reads them.
TRUNCATION_SERIES = """
SELECT toStartOfHour(start_time) AS time, quantileExact(0.5)(volume_bytes) AS observed, count() AS records
FROM revguard.network_usage FINAL
WHERE service = 'data' AND element_id = {element:String}
  AND start_time >= {since:DateTime64(3, 'UTC')} AND start_time < {until:DateTime64(3, 'UTC')}
GROUP BY time ORDER BY time
"""


def summary() -> pd.DataFrame:
    return frame(SUMMARY)


def anomalies(kinds: tuple[str, ...] = ()) -> pd.DataFrame:
    return frame(ANOMALIES, {"kinds": list(kinds)})


def series(anomaly: pd.Series) -> pd.DataFrame:
    """Observed beside the expected band (`low`, `high`) around the anomaly's window, one row
    per hour (usage_spike, volume_truncation) or day (sim_box), and `flagged` inside the window."""
    start, end = _naive(anomaly["window_start"]), _naive(anomaly["window_end"])
    kind = anomaly["kind"]
    if kind == "usage_spike":
        since, until = start - timedelta(hours=24), end + timedelta(hours=24)
        rows = frame(SPIKE_SERIES, {"msisdn": anomaly["msisdn"], "since": since, "until": until})
        per_hour = float(anomaly["expected"]) / max((end - start).total_seconds() / 3600, 1.0)
        # What the line's normal rate allows in an hour: its Poisson 99.9 % upper bound.
        from scipy.stats import poisson

        rows["low"], rows["high"] = 0.0, float(poisson.ppf(0.999, per_hour))
    elif kind == "sim_box":
        since, until = start - timedelta(days=3), end
        rows = frame(SIM_BOX_SERIES, {"msisdn": anomaly["msisdn"], "since": since, "until": until})
        band = frame(CALLS_PER_DAY_BAND, {"since": since, "until": until})
        rows["low"], rows["high"] = float(band["low"].iloc[0]), float(band["high"].iloc[0])
    else:
        since, until = start - timedelta(hours=48), end
        rows = frame(TRUNCATION_SERIES, {"element": anomaly["element_id"], "since": since, "until": until})
        before = rows[pd.to_datetime(rows["time"]).dt.tz_localize(None) < start]["observed"] if len(rows) else rows
        if len(before):
            rows["low"], rows["high"] = float(before.quantile(0.1)), float(before.quantile(0.9))
        else:
            rows["low"] = rows["high"] = float(anomaly["expected"])
    if rows.empty:
        return rows.assign(flagged=[])
    times = pd.to_datetime(rows["time"]).dt.tz_localize(None) if pd.to_datetime(rows["time"]).dt.tz is not None \
        else pd.to_datetime(rows["time"])
    rows["time"] = times
    rows["flagged"] = (times >= start) & (times < end)
    rows["observed"] = rows["observed"].astype(float)
    return rows


def _naive(moment) -> datetime:
    moment = pd.Timestamp(moment)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return moment.to_pydatetime()

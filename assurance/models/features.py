"""Behaviour features as SQL aggregates computed in ClickHouse, one named query each.

pandas sees one row per subscriber-hour (calls to premium and international numbers), per
subscriber-day (calling pattern) or per element-hour (data volumes); the usage tables are
never read row by row into Python. Ranges are half-open `[since, until)` of event time,
bound as strings (see `assurance.reconcile._bound`).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pandas as pd

# Premium/international calls and messages per subscriber-hour, with the subscriber's
# on-net/national count in the same hour (a fraud spike never touches those, so they measure
# the line's normal activity without the anomaly in it). Only hours with some premium or
# international traffic are returned: the others cannot hold a spike.
SPIKE_HOURS = """
SELECT msisdn,
       toStartOfHour(start_time) AS hour,
       countIf(dest_class IN ('premium', 'international')) AS costly,
       sumIf(duration_s, dest_class IN ('premium', 'international') AND service = 'voice') AS costly_seconds,
       toFloat64(sumIf(charge, dest_class IN ('premium', 'international'))) AS costly_charge,
       countIf(dest_class IN ('onnet', 'national')) AS local
FROM revguard.rated_usage FINAL
WHERE status = 'rated' AND service IN ('voice', 'sms')
  AND start_time >= toDateTime64({since:String}, 3, 'UTC') AND start_time < toDateTime64({until:String}, 3, 'UTC')
GROUP BY msisdn, hour
HAVING costly > 0
ORDER BY msisdn, hour
"""

# Each subscriber's calls and messages over the whole range, by destination group: the
# denominator of the line's normal premium/international rate.
SUBSCRIBER_ACTIVITY = """
SELECT msisdn,
       countIf(dest_class IN ('premium', 'international')) AS costly,
       countIf(dest_class IN ('onnet', 'national')) AS local
FROM revguard.rated_usage FINAL
WHERE status = 'rated' AND service IN ('voice', 'sms')
  AND start_time >= toDateTime64({since:String}, 3, 'UTC') AND start_time < toDateTime64({until:String}, 3, 'UTC')
GROUP BY msisdn
"""

# The calling pattern of each subscriber-day (UTC days): how many calls, to how many
# distinct numbers, from how many cells, and what else the line did that day.
CALLING_DAYS = """
SELECT msisdn,
       toStartOfDay(start_time) AS day,
       countIf(service = 'voice') AS calls,
       uniqExactIf(destination, service = 'voice') AS callees,
       uniqExactIf(cell_id, service = 'voice' AND cell_id != '') AS cells,
       countIf(service = 'sms') AS messages,
       countIf(service = 'data') AS sessions,
       sumIf(duration_s, service = 'voice') AS seconds,
       countIf(service = 'voice' AND roaming_mccmnc != '') AS roaming_calls
FROM revguard.rated_usage FINAL
WHERE status = 'rated'
  AND start_time >= toDateTime64({since:String}, 3, 'UTC') AND start_time < toDateTime64({until:String}, 3, 'UTC')
GROUP BY msisdn, day
HAVING calls > 0
ORDER BY msisdn, day
"""

# Data records per element-hour: how many, and the median of log(1 + bytes). A truncation
# multiplies every record's bytes, so it shifts the median of the logs by log(kept share)
# whatever the mix of sessions, while the record count is untouched.
ELEMENT_HOURS = """
SELECT element_id,
       toStartOfHour(start_time) AS hour,
       count() AS records,
       quantileExact(0.5)(log1p(toFloat64(volume_bytes))) AS median_log_bytes,
       sum(volume_bytes) AS bytes
FROM revguard.network_usage FINAL
WHERE service = 'data'
  AND start_time >= toDateTime64({since:String}, 3, 'UTC') AND start_time < toDateTime64({until:String}, 3, 'UTC')
GROUP BY element_id, hour
ORDER BY element_id, hour
"""

# Data bytes of an element's window by plan: what a truncation's uncharged revenue is priced on.
ELEMENT_BYTES_BY_PLAN = """
SELECT plan_id, sum(volume_bytes)
FROM revguard.rated_usage FINAL
WHERE status = 'rated' AND service = 'data' AND element_id = {element:String}
  AND start_time >= toDateTime64({since:String}, 3, 'UTC') AND start_time < toDateTime64({until:String}, 3, 'UTC')
GROUP BY plan_id
"""

USAGE_RANGE = """
SELECT min(start_time), max(start_time), count() FROM revguard.network_usage FINAL
"""

LATEST_CATALOG = "SELECT yaml FROM revguard.catalog ORDER BY loaded_at DESC LIMIT 1"


def frame(client: Any, query: str, since: datetime, until: datetime, **parameters: Any) -> pd.DataFrame:
    """The rows of one feature query over `[since, until)` (naive UTC datetimes)."""
    bound = {"since": _bound(since), "until": _bound(until), **parameters}
    result = client.query(query, parameters=bound)
    return pd.DataFrame(result.result_rows, columns=list(result.column_names))


def usage_range(client: Any) -> tuple[datetime, datetime] | None:
    """The first event time and just past the last one in `network_usage`, or None when empty."""
    first, last, count = client.query(USAGE_RANGE).result_rows[0]
    if not count:
        return None
    return _naive(first), _naive(last)


def _naive(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(timezone.utc).replace(tzinfo=None)


def _bound(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

"""Stream health data, from the tables the stream writes: records in and out per minute, how
far ingestion runs behind event time, rejects by reason with their raw text, the last alerts."""
from __future__ import annotations

import pandas as pd

from dashboards.store import frame

# The last 6 hours of ingestion that the store holds, whatever the wall clock says: a store
# loaded yesterday still shows its last run.
RECORDS_PER_MINUTE = """
WITH (SELECT max(ingested_at) FROM revguard.network_usage) AS newest_in,
     (SELECT max(rated_at) FROM revguard.rated_usage) AS newest_out
SELECT minute, direction, records FROM (
    SELECT toStartOfMinute(ingested_at) AS minute, 'in (network)' AS direction, count() AS records
    FROM revguard.network_usage WHERE ingested_at >= newest_in - INTERVAL 6 HOUR GROUP BY minute
    UNION ALL
    SELECT toStartOfMinute(rated_at), concat('out (', toString(status), ')'), count()
    FROM revguard.rated_usage WHERE rated_at >= newest_out - INTERVAL 6 HOUR GROUP BY toStartOfMinute(rated_at), status
)
ORDER BY minute, direction
"""

INGEST_DELAY = """
WITH (SELECT max(ingested_at) FROM revguard.network_usage) AS newest
SELECT minute, delays[1] AS median_delay_s, delays[2] AS p95_delay_s FROM (
    SELECT toStartOfMinute(ingested_at) AS minute, quantiles(0.5, 0.95)(dateDiff('second', start_time, ingested_at)) AS delays
    FROM revguard.network_usage WHERE ingested_at >= newest - INTERVAL 6 HOUR
    GROUP BY minute
) ORDER BY minute
"""

REJECTS_BY_REASON = """
SELECT toString(stream) AS stream, reason, count() AS rejects, max(rejected_at) AS last_seen
FROM revguard.rejects GROUP BY stream, reason ORDER BY rejects DESC
"""

LAST_REJECTS = """
SELECT rejected_at, toString(stream) AS stream, reason, source, record_id, msisdn, raw
FROM revguard.rejects ORDER BY rejected_at DESC, source LIMIT 200
"""

LAST_ALERTS = """
SELECT time, toString(kind) AS kind, msisdn, record_id, balance, cycle_total, threshold, raised_at
FROM revguard.alerts ORDER BY time DESC LIMIT 200
"""


def records_per_minute() -> pd.DataFrame:
    return frame(RECORDS_PER_MINUTE)


def ingest_delay() -> pd.DataFrame:
    return frame(INGEST_DELAY)


def rejects_by_reason() -> pd.DataFrame:
    return frame(REJECTS_BY_REASON)


def last_rejects() -> pd.DataFrame:
    return frame(LAST_REJECTS)


def last_alerts() -> pd.DataFrame:
    return frame(LAST_ALERTS)

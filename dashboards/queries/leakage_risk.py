"""Leakage-risk data (issue 23): money at risk in the records still inside the billing SLA,
from `leakage_scores`, beside the leakage the controls found on scored records once it closed."""
from __future__ import annotations

import pandas as pd

from dashboards.store import frame

TARGET_KINDS = ["unbilled", "misrated", "usage_mismatch"]

# Per day of usage: what the scores put at risk, and what the controls found on the very same
# records (under-billing only); `sla_closed` says whether the controls can have judged them all.
RISK_BESIDE_FOUND = """
WITH found AS (
    SELECT record_id, greatest(max(amount), toDecimal64(0, 6)) AS leaked
    FROM revguard.discrepancies FINAL
    WHERE kind IN {kinds:Array(String)}
    GROUP BY record_id
),
(SELECT max(billed_at) FROM revguard.billed_usage) AS billing_clock
SELECT toDate(s.start_time) AS day, count() AS records, sum(s.probability) AS expected_faults,
       sum(s.expected_loss) AS money_at_risk, sum(f.leaked) AS leakage_found,
       countIf(f.record_id != '') AS faults_found,
       max(s.start_time) <= billing_clock - INTERVAL 24 HOUR AS sla_closed
FROM revguard.leakage_scores AS s FINAL
LEFT JOIN found AS f ON f.record_id = s.record_id
GROUP BY day
ORDER BY day
SETTINGS join_use_nulls = 0
"""

# The latest scoring run's money at risk per element, service and day.
LATEST_CELLS = """
WITH (SELECT max(as_of) FROM revguard.leakage_scores FINAL) AS latest
SELECT toString(element_id) AS element, toString(service) AS service, toDate(start_time) AS day,
       count() AS records, sum(probability) AS expected_faults, sum(expected_loss) AS money_at_risk
FROM revguard.leakage_scores FINAL
WHERE as_of = latest
GROUP BY element, service, day
ORDER BY money_at_risk DESC
"""

# The riskiest open records of the latest run, by money at risk.
TOP_RECORDS = """
WITH (SELECT max(as_of) FROM revguard.leakage_scores FINAL) AS latest
SELECT record_id, msisdn, toString(element_id) AS element, toString(service) AS service, start_time,
       probability, expected_loss, model_version
FROM revguard.leakage_scores FINAL
WHERE as_of = latest
ORDER BY expected_loss DESC, record_id
LIMIT 100
"""

LATEST_RUN = """
SELECT max(as_of) AS latest_as_of, argMax(model_version, as_of) AS model_version, count() AS scored
FROM revguard.leakage_scores FINAL
"""


def risk_beside_found() -> pd.DataFrame:
    return frame(RISK_BESIDE_FOUND, {"kinds": TARGET_KINDS})


def latest_cells() -> pd.DataFrame:
    return frame(LATEST_CELLS)


def top_records() -> pd.DataFrame:
    return frame(TOP_RECORDS)


def latest_run() -> pd.DataFrame:
    return frame(LATEST_RUN)

"""Churn page data: the latest churn scores (`revguard score`), most likely leavers first."""
from __future__ import annotations

import pandas as pd

from dashboards.store import frame

LATEST = """
WITH (SELECT max(as_of) FROM revguard.churn_scores) AS newest
SELECT rank, msisdn, probability, arrayStringConcat(reasons, '; ') AS reasons, as_of, model_version
FROM revguard.churn_scores FINAL
WHERE as_of = newest
ORDER BY rank
LIMIT {limit:UInt32}
"""

SUMMARY = """
WITH (SELECT max(as_of) FROM revguard.churn_scores) AS newest
SELECT count() AS subscribers, sum(probability) AS expected_leavers, any(model_version) AS model_version,
       max(s.as_of) AS scored_as_of
FROM revguard.churn_scores AS s FINAL WHERE s.as_of = newest
"""


def latest_scores(limit: int) -> pd.DataFrame:
    return frame(LATEST, {"limit": int(limit)})


def summary() -> pd.DataFrame:
    return frame(SUMMARY)

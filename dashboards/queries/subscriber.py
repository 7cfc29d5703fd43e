"""Subscriber data: who they are in billing and on the network, usage by day and service, the
prepaid balance with top-ups and cut-offs, alerts and findings."""
from __future__ import annotations

import pandas as pd

from dashboards.store import frame

# rated_usage, adjustments, alerts and discrepancies are not sorted by msisdn: PREWHERE keeps
# one subscriber's rows before FINAL merges versions (a record's msisdn is the same in all its
# versions, so no older version can win), instead of merging every row of the store first.
PROFILE = """
SELECT s.msisdn AS msisdn, s.account_id AS account_id, s.plan_id AS plan_id, s.payment AS payment, s.status AS billing_status,
       s.segment AS segment, s.cycle_day AS cycle_day, s.credit_limit AS credit_limit, p.status AS network_status, p.imsi AS imsi
FROM (SELECT * FROM revguard.subscribers FINAL WHERE msisdn = {msisdn:String}) AS s
FULL OUTER JOIN (SELECT * FROM revguard.provisioning FINAL WHERE msisdn = {msisdn:String}) AS p ON p.msisdn = s.msisdn
"""

USAGE_BY_DAY = """
SELECT toDate(start_time) AS day, toString(service) AS service, count() AS records, sum(charge) AS charge
FROM revguard.rated_usage FINAL
PREWHERE msisdn = {msisdn:String} AND status = 'rated'
GROUP BY day, service ORDER BY day, service
"""

BALANCE_HISTORY = """
SELECT start_time AS time, 'usage' AS event, -total AS change, balance_after AS balance
FROM revguard.rated_usage FINAL
PREWHERE msisdn = {msisdn:String} AND status = 'rated'
WHERE balance_after IS NOT NULL
UNION ALL
SELECT time, toString(kind), amount, NULL FROM revguard.adjustments FINAL PREWHERE msisdn = {msisdn:String}
ORDER BY time
"""

ALERTS = """
SELECT time, toString(kind) AS kind, record_id, balance, cycle_total, threshold
FROM revguard.alerts FINAL PREWHERE msisdn = {msisdn:String} ORDER BY time DESC LIMIT 500
"""

FINDINGS = """
SELECT finding_id, toString(kind) AS kind, event_time, record_id, bill_record_id, toString(element_id) AS element_id, amount
FROM revguard.discrepancies FINAL PREWHERE msisdn = {msisdn:String} ORDER BY event_time DESC LIMIT 1000
"""

EXAMPLES = """
SELECT msisdn FROM revguard.discrepancies FINAL PREWHERE msisdn != ''
GROUP BY msisdn ORDER BY sum(abs(amount)) DESC LIMIT 5
"""


def profile(msisdn: str) -> pd.DataFrame:
    return frame(PROFILE, {"msisdn": msisdn})


def usage_by_day(msisdn: str) -> pd.DataFrame:
    return frame(USAGE_BY_DAY, {"msisdn": msisdn})


def balance_history(msisdn: str) -> pd.DataFrame:
    return frame(BALANCE_HISTORY, {"msisdn": msisdn})


def alerts(msisdn: str) -> pd.DataFrame:
    return frame(ALERTS, {"msisdn": msisdn})


def findings(msisdn: str) -> pd.DataFrame:
    return frame(FINDINGS, {"msisdn": msisdn})


def most_money_subscribers() -> list[str]:
    """The msisdns whose findings carry the most money: where an analyst starts."""
    return frame(EXAMPLES)["msisdn"].tolist()

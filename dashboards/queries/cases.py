"""Cases data: alarms in triage order, the cases, one case's audit trail and its export."""
from __future__ import annotations

import pandas as pd

from assurance.alarms import ALARMS, FINDINGS_OF_ALARM, alarm_parameters, of_alarm_parameters
from assurance.cases import EVENTS_OF_CASE
from dashboards.masking import shown_msisdns
from dashboards.store import frame

CASES = """
SELECT case_id, title, state, severity, kind, amount_at_stake, amount_recovered, assignee, length(finding_ids) AS findings,
       opened_by, opened_at, updated_at, version, alarm_key
FROM revguard.cases FINAL
ORDER BY indexOf(['open', 'investigating', 'confirmed', 'recovered', 'false_positive'], toString(state)),
         abs(amount_at_stake) DESC, opened_at
"""

CASE_EXPORT = """
SELECT c.case_id AS case_id, c.title AS title, c.state AS state, c.severity AS severity, c.assignee AS assignee,
       c.amount_at_stake AS amount_at_stake, c.amount_recovered AS amount_recovered, c.notes AS notes,
       d.finding_id AS finding_id, d.kind AS kind, d.record_id AS record_id, d.bill_record_id AS bill_record_id,
       d.msisdn AS msisdn, toString(d.element_id) AS element_id, d.amount AS amount, d.event_time AS event_time,
       d.evidence AS evidence
FROM (
    SELECT case_id, title, state, severity, assignee, amount_at_stake, amount_recovered, notes, arrayJoin(finding_ids) AS finding_id
    FROM revguard.cases FINAL WHERE case_id = {case_id:String}
) AS c
LEFT JOIN (SELECT * FROM revguard.discrepancies FINAL
           WHERE finding_id IN (SELECT arrayJoin(finding_ids) FROM revguard.cases FINAL WHERE case_id = {case_id:String})) AS d
    ON d.finding_id = c.finding_id
ORDER BY abs(d.amount) DESC, d.finding_id
"""


def alarms(limit: int = 500) -> pd.DataFrame:
    """Alarms, untriaged first, then the most money."""
    return frame(ALARMS, alarm_parameters(limit=limit))


def findings_of_alarm(alarm: pd.Series) -> pd.DataFrame:
    """The findings of one row of `alarms()`, most money first, each saying whether a case holds it."""
    return frame(FINDINGS_OF_ALARM, of_alarm_parameters(str(alarm["kind"]), str(alarm["dimension"]), str(alarm["value"]),
                                                        alarm["first_day"], alarm["last_day"]))


def cases() -> pd.DataFrame:
    return frame(CASES)


def events(case_id: str) -> pd.DataFrame:
    return frame(EVENTS_OF_CASE, {"case_id": case_id})


def case_export(case_id: str) -> pd.DataFrame:
    """One row per finding of the case, with the case's fields and the finding's evidence."""
    return frame(CASE_EXPORT, {"case_id": case_id})


def case_csv(case_id: str, unmasked: bool) -> bytes:
    """The case export as CSV (UTF-8): amounts exact to the micro-unit as stored, msisdns masked
    unless the analyst unmasked them (and the operator allows it)."""
    return shown_msisdns(case_export(case_id), unmasked).to_csv(index=False).encode("utf-8")

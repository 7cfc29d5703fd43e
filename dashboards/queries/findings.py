"""Findings data: the filtered list, sorted by money, and the evidence behind one finding
(its network record, every bill for it, our shadow rating)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pandas as pd

from dashboards.store import frame

FINDINGS_LIMIT = 2000

# A finding's service is the one its control recorded in the evidence (the network record's,
# or the bill's for billing-side kinds); only findings whose evidence does not say are looked up
# among the network records (a record's service is the same in all its versions: any() through
# the primary key, no FINAL over millions of rows). A finding's versions share its event_time,
# hence its partition: FINAL merges within partitions only.
SERVICE_OF_FINDING = "if(JSONHas(d.evidence, 'service'), JSONExtractString(d.evidence, 'service'), toString(n.service))"
UNSAID_SERVICES = """
SELECT record_id, any(service) AS service FROM revguard.network_usage
WHERE record_id IN (SELECT record_id FROM revguard.discrepancies WHERE record_id != '' AND NOT JSONHas(evidence, 'service'))
GROUP BY record_id
"""

FINDINGS = f"""
WITH filtered AS (
    SELECT d.finding_id AS finding_id, d.kind AS kind, d.event_time AS event_time, d.msisdn AS msisdn,
           toString(d.element_id) AS element_id, {SERVICE_OF_FINDING} AS service,
           toString(p.plan_id) AS plan_id, d.record_id AS record_id, d.bill_record_id AS bill_record_id,
           d.amount AS amount, d.evidence AS evidence
    FROM revguard.discrepancies AS d FINAL
    LEFT JOIN ({UNSAID_SERVICES}) AS n ON n.record_id = d.record_id
    LEFT JOIN (SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id FROM revguard.subscribers GROUP BY msisdn) AS p
        ON p.msisdn = d.msisdn
    WHERE d.event_time >= {{since:DateTime64(3, 'UTC')}} AND d.event_time < {{until:DateTime64(3, 'UTC')}}
      AND (empty({{kinds:Array(String)}}) OR d.kind IN {{kinds:Array(String)}})
      AND (empty({{elements:Array(String)}}) OR toString(d.element_id) IN {{elements:Array(String)}})
      AND (empty({{services:Array(String)}}) OR service IN {{services:Array(String)}})
      AND (empty({{plans:Array(String)}}) OR toString(p.plan_id) IN {{plans:Array(String)}})
      AND abs(d.amount) >= {{min_money:Decimal64(6)}}
)
-- The totals over every match ride along on each row (a window over the whole filtered set,
-- computed before LIMIT): one pass over the findings instead of two.
SELECT finding_id, kind, event_time, msisdn, element_id, service, plan_id, record_id, bill_record_id, amount, evidence,
       count() OVER () AS total_findings, sum(amount) OVER () AS total_amount
FROM filtered
ORDER BY abs(amount) DESC, event_time, finding_id
LIMIT {{limit:UInt32}}
SETTINGS do_not_merge_across_partitions_select_final = 1
"""

KINDS = "SELECT DISTINCT toString(kind) AS kind FROM revguard.discrepancies ORDER BY kind"

NETWORK_RECORD = """
SELECT record_id, msisdn, service, start_time, duration_s, volume_bytes, destination, roaming_mccmnc, element_id, cell_id, source
FROM revguard.network_usage FINAL WHERE record_id = {record_id:String}
"""

# PREWHERE before FINAL: a bill's record_id is the same in all its versions, so the filter picks
# whole bills and the merge runs on them only, not on every bill in the store.
BILLS = """
SELECT bill_record_id, record_id, msisdn, service, start_time, duration_s, volume_bytes, charge, billed_at
FROM revguard.billed_usage FINAL
PREWHERE (record_id = {record_id:String} AND {record_id:String} != '') OR bill_record_id = {bill_record_id:String}
ORDER BY billed_at, bill_record_id
"""

SHADOW_RATING = """
SELECT status, reason, plan_id, payment, dest_class, roaming_zone, offpeak, billable_units, allowance_units,
       charged_units, charge, tax, total, unfunded, balance_after
FROM revguard.rated_usage FINAL
PREWHERE record_id = {record_id:String}
ORDER BY status = 'rated' DESC
"""


@dataclass(frozen=True)
class FindingFilter:
    since: datetime
    until: datetime
    kinds: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    min_money: Decimal = Decimal(0)

    def parameters(self) -> dict:
        return {
            "since": self.since, "until": self.until, "kinds": list(self.kinds), "elements": list(self.elements),
            "services": list(self.services), "plans": list(self.plans), "min_money": self.min_money,
        }  # fmt: skip


@dataclass(frozen=True)
class Evidence:
    network: pd.DataFrame
    bills: pd.DataFrame
    shadow: pd.DataFrame = field(repr=False)


def kinds() -> list[str]:
    return frame(KINDS)["kind"].tolist()


@dataclass(frozen=True)
class Found:
    rows: pd.DataFrame  # at most the limit, the most money first
    total: int  # every finding that matches
    amount: Decimal  # their net amount


def findings(chosen: FindingFilter, limit: int = FINDINGS_LIMIT) -> Found:
    """Findings matching the filter, the most money first, with the count and net amount of all."""
    listed = frame(FINDINGS, {**chosen.parameters(), "limit": limit})
    rows = listed.drop(columns=["total_findings", "total_amount"], errors="ignore")
    if listed.empty:
        return Found(rows, 0, Decimal(0))
    return Found(rows, int(listed["total_findings"].iloc[0]), Decimal(listed["total_amount"].iloc[0]))


def evidence(record_id: str, bill_record_id: str) -> Evidence:
    keys = {"record_id": record_id or "", "bill_record_id": bill_record_id or ""}
    return Evidence(
        network=frame(NETWORK_RECORD, {"record_id": keys["record_id"]}),
        bills=frame(BILLS, keys),
        shadow=frame(SHADOW_RATING, {"record_id": keys["record_id"]}),
    )


# Prices are quoted per minute, per MB, per message (SPEC rule 5); the effective one here is the
# charge over the charged units, so it already carries off-peak and the plan's discount.
_UNITS_PER_PRICE = {"voice": (Decimal(60), "per minute"), "data": (Decimal(1048576), "per MB"), "sms": (Decimal(1), "per message")}


def effective_price(service: str, charge: Decimal, charged_units: int) -> tuple[Decimal | None, str]:
    """(price, unit) the shadow charge works out to; None when nothing was charged."""
    per, unit = _UNITS_PER_PRICE.get(service, (Decimal(1), "per unit"))
    if not charged_units:
        return None, unit
    return (Decimal(charge) * per / Decimal(charged_units)).quantize(Decimal("0.000001")), unit

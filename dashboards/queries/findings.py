"""Findings data: the filtered list, sorted by money, and the evidence behind one finding
(its network record, every bill for it, our shadow rating)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pandas as pd

from dashboards.store import frame

FINDINGS_LIMIT = 2000

_FILTERED = """
filtered AS (
    SELECT d.finding_id AS finding_id, d.kind AS kind, d.event_time AS event_time, d.msisdn AS msisdn,
           toString(d.element_id) AS element_id, d.record_id AS record_id, d.bill_record_id AS bill_record_id,
           d.amount AS amount, d.evidence AS evidence,
           toString(n.service) AS service, toString(p.plan_id) AS plan_id
    FROM revguard.discrepancies AS d FINAL
    LEFT JOIN (
        SELECT record_id, service FROM revguard.network_usage FINAL
        WHERE record_id IN (SELECT record_id FROM revguard.discrepancies
                            WHERE record_id != '' AND event_time >= {since:DateTime64(3, 'UTC')}
                              AND event_time < {until:DateTime64(3, 'UTC')})
    ) AS n ON n.record_id = d.record_id
    LEFT JOIN (SELECT msisdn, argMax(plan_id, loaded_at) AS plan_id FROM revguard.subscribers GROUP BY msisdn) AS p
        ON p.msisdn = d.msisdn
    WHERE d.event_time >= {since:DateTime64(3, 'UTC')} AND d.event_time < {until:DateTime64(3, 'UTC')}
      AND (empty({kinds:Array(String)}) OR d.kind IN {kinds:Array(String)})
      AND (empty({elements:Array(String)}) OR toString(d.element_id) IN {elements:Array(String)})
      AND (empty({services:Array(String)}) OR toString(n.service) IN {services:Array(String)})
      AND (empty({plans:Array(String)}) OR toString(p.plan_id) IN {plans:Array(String)})
      AND abs(d.amount) >= {min_money:Decimal64(6)}
)"""

FINDINGS = f"""
WITH {_FILTERED}
SELECT finding_id, kind, event_time, msisdn, element_id, service, plan_id, record_id, bill_record_id, amount, evidence
FROM filtered
ORDER BY abs(amount) DESC, event_time, finding_id
LIMIT {{limit:UInt32}}
"""

FINDINGS_TOTAL = f"""
WITH {_FILTERED}
SELECT count() AS findings, sum(amount) AS amount FROM filtered
"""

KINDS = "SELECT DISTINCT toString(kind) AS kind FROM revguard.discrepancies ORDER BY kind"

NETWORK_RECORD = """
SELECT record_id, msisdn, service, start_time, duration_s, volume_bytes, destination, roaming_mccmnc, element_id, cell_id, source
FROM revguard.network_usage FINAL WHERE record_id = {record_id:String}
"""

BILLS = """
SELECT bill_record_id, record_id, msisdn, service, start_time, duration_s, volume_bytes, charge, billed_at
FROM revguard.billed_usage FINAL
WHERE (record_id = {record_id:String} AND {record_id:String} != '') OR bill_record_id = {bill_record_id:String}
ORDER BY billed_at, bill_record_id
"""

SHADOW_RATING = """
SELECT status, reason, plan_id, payment, dest_class, roaming_zone, offpeak, billable_units, allowance_units,
       charged_units, charge, tax, total, unfunded, balance_after
FROM revguard.rated_usage FINAL
WHERE record_id = {record_id:String}
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


def findings(chosen: FindingFilter, limit: int = FINDINGS_LIMIT) -> pd.DataFrame:
    """Findings matching the filter, the most money first."""
    return frame(FINDINGS, {**chosen.parameters(), "limit": limit})


def findings_total(chosen: FindingFilter) -> pd.Series:
    return frame(FINDINGS_TOTAL, chosen.parameters()).iloc[0]


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

"""Builders for rating tests: the SPEC catalog, a few subscribers, records as JSON lines."""
from __future__ import annotations

import json

import pyarrow as pa

from rating.catalog import load_catalog
from rating.engine import RatedBatch, Reference, rate_batch
from rating.records import load_subscribers, parse_adjustment_lines, parse_network_lines
from rating.state import RatingState

# SPEC section 2 verbatim, plus PAYG: a prepaid plan without allowances or discounts, per
# second, so prepaid arithmetic stays easy to follow by hand.
CATALOG = """
currency: EUR
timezone: Europe/London
tax_rate: "0.20"
low_balance_threshold: "2.00"
destination_classes:
  - {prefix: "4479", class: onnet}
  - {prefix: "44", class: national}
  - {prefix: "4490", class: premium}
  - {prefix: "", class: international}
roaming_zones:
  - {prefix: "208", zone: eu}
  - {prefix: "262", zone: eu}
  - {prefix: "", zone: world}
offpeak:
  - {days: [sat, sun], from: "00:00", to: "24:00"}
  - {days: [mon, tue, wed, thu, fri], from: "19:00", to: "07:00"}
plans:
  - id: SMART10
    payment: postpaid
    monthly_fee: "10.00"
    allowances: {voice_s: 18000, sms: 500, data_bytes: 5368709120}
    allowance_classes: [onnet, national]
    allowance_zones: [eu]
    voice: {rounding: "60/1", per_minute: {onnet: "0.05", national: "0.10", premium: "1.50", international: "0.80"}, offpeak_factor: "0.5"}
    sms: {per_message: {onnet: "0.05", national: "0.08", premium: "0.50", international: "0.25"}}
    data: {per_mb: "0.01", increment_kb: 100}
    roaming: {world: {per_minute: "1.50", per_message: "0.40", per_mb: "5.00"}}
    overage_discount_percent: "10"
  - id: PAYG
    payment: prepaid
    voice: {rounding: "1/1", per_minute: {onnet: "0.06", national: "0.12", premium: "3.00", international: "0.60"}}
    sms: {per_message: {onnet: "0.10", national: "0.10", premium: "0.50", international: "0.30"}}
    data: {per_mb: "1.00", increment_kb: 1}
    roaming:
      eu: {per_minute: "0.30", per_message: "0.10", per_mb: "0.50"}
      world: {per_minute: "1.20", per_message: "0.50", per_mb: "2.00"}
"""

POSTPAID = "447700000001"  # SMART10, cycle_day 1, credit limit 50.00
PREPAID = "447700000002"  # PAYG, cycle_day 1, opening balance 10.00
RETIRED_PLAN = "447700000003"  # plan not in the catalog
LOW_LIMIT = "447700000004"  # SMART10, credit limit 1.00
NEARLY_EMPTY = "447700000005"  # PAYG, opening balance 1.00
ABOVE_THRESHOLD = "447700000006"  # PAYG, opening balance 2.10
CYCLE_25 = "447700000007"  # SMART10, cycle_day 25
CYCLE_26 = "447700000008"  # SMART10, cycle_day 26

SUBSCRIBERS = f"""msisdn,account_id,plan_id,payment,status,activated_at,cycle_day,balance,credit_limit,segment
{POSTPAID},A1,SMART10,postpaid,active,2026-01-01,1,,50.00,consumer
{PREPAID},A2,PAYG,prepaid,active,2026-01-01,1,10.00,,consumer
{RETIRED_PLAN},A3,GOLD2019,postpaid,active,2019-01-01,1,,50.00,consumer
{LOW_LIMIT},A4,SMART10,postpaid,active,2026-01-01,1,,1.00,consumer
{NEARLY_EMPTY},A5,PAYG,prepaid,active,2026-01-01,1,1.00,,consumer
{ABOVE_THRESHOLD},A6,PAYG,prepaid,active,2026-01-01,1,2.10,,consumer
{CYCLE_25},A7,SMART10,postpaid,active,2026-01-01,25,,50.00,consumer
{CYCLE_26},A8,SMART10,postpaid,active,2026-01-01,26,,50.00,consumer
"""


def reference(catalog: str = CATALOG, subscribers: str = SUBSCRIBERS) -> Reference:
    return Reference(load_catalog(catalog), load_subscribers(subscribers))


def call(record_id: str, msisdn: str, start: str, seconds: int, to: str, roaming: str = "") -> dict:
    return {"record_id": record_id, "msisdn": msisdn, "service": "voice", "start_time": start,
            "duration_s": seconds, "destination": to, "roaming_mccmnc": roaming, "element_id": "msc-01"}


def sms(record_id: str, msisdn: str, start: str, to: str, roaming: str = "") -> dict:
    return {"record_id": record_id, "msisdn": msisdn, "service": "sms", "start_time": start,
            "destination": to, "roaming_mccmnc": roaming, "element_id": "msc-01"}


def data(record_id: str, msisdn: str, start: str, volume: int, roaming: str = "") -> dict:
    return {"record_id": record_id, "msisdn": msisdn, "service": "data", "start_time": start,
            "volume_bytes": volume, "roaming_mccmnc": roaming, "element_id": "pgw-01"}


def topup(adjustment_id: str, msisdn: str, time: str, amount: str) -> dict:
    return {"adjustment_id": adjustment_id, "msisdn": msisdn, "amount": amount, "time": time, "kind": "topup"}


def usage_table(records: list[dict], first_seq: int = 0) -> pa.Table:
    parsed = parse_network_lines([json.dumps(r).encode() for r in records])
    assert not parsed.rejects, parsed.rejects
    return parsed.accepted.append_column(
        "seq", pa.array(range(first_seq, first_seq + parsed.accepted.num_rows), pa.int64())
    )


def adjustment_table(adjustments: list[dict], seqs: list[int]) -> pa.Table:
    parsed = parse_adjustment_lines([json.dumps(a).encode() for a in adjustments])
    assert not parsed.rejects, parsed.rejects
    return parsed.accepted.append_column("seq", pa.array(seqs, pa.int64()))


def rate(records: list[dict], state: RatingState | None = None, ref: Reference | None = None,
         adjustments: pa.Table | None = None, first_seq: int = 0) -> RatedBatch:
    return rate_batch(state or RatingState(), ref or reference(), usage_table(records, first_seq), adjustments)


def rows(batch: RatedBatch) -> list[dict]:
    """Rated rows as dicts, money as Decimal."""
    return batch.rated.to_pylist()

"""A store small enough to check by hand: two subscribers, three network records, three bills,
their shadow rating and three findings. Every figure the app shows for it is worked out here.

    N1  447900000001 voice 120 s  2026-11-02 08:00  msc-01  billed B1 0.10, shadow 0.10
    N2  447900000001 data 10 MB   2026-11-02 09:00  pgw-01  never billed,  shadow 150.00 (roaming)
    N3  447900000002 voice 61 s   2026-11-03 10:00  msc-01  billed B2 0.05 and again B3 0.05, shadow 0.12

    F-unbilled   unbilled           N2          +150.00  (element pgw-01, 2026-11-02)
    F-misrated   misrated           N3 / B2       +0.07  (plan PAYG, 2026-11-03)
    F-duplicate  duplicate_billing  N3 / B3       -0.05  (plan PAYG, 2026-11-03)

Rated revenue 0.10 + 150.00 + 0.12 = 150.22; leakage 150.00 + 0.07 = 150.07 (99.90 %);
over-billed 0.05.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

MSISDN_1 = "447900000001"
MSISDN_2 = "447900000002"
CATALOG_YAML = "currency: EUR\ntimezone: Europe/London\n"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def seed_small_store(client) -> None:
    client.insert("revguard.catalog", [["c1", CATALOG_YAML]], column_names=["checksum", "yaml"])
    client.insert(
        "revguard.subscribers",
        [
            [MSISDN_1, "A1", "SMART10", "postpaid", "active", at("2026-01-01"), 1, None, Decimal("100"), "consumer"],
            [MSISDN_2, "A2", "PAYG", "prepaid", "active", at("2026-01-01"), 1, Decimal("20"), None, "consumer"],
        ],
        column_names=["msisdn", "account_id", "plan_id", "payment", "status", "activated_at", "cycle_day", "balance", "credit_limit", "segment"],
    )
    network = ["record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes", "destination", "roaming_mccmnc", "element_id", "cell_id"]
    client.insert(
        "revguard.network_usage",
        [
            ["N1", MSISDN_1, "voice", at("2026-11-02T08:00:00"), 120, 0, "447911111111", "", "msc-01", "c1"],
            ["N2", MSISDN_1, "data", at("2026-11-02T09:00:00"), 0, 10 * 1048576, "", "31001", "pgw-01", "c1"],
            ["N3", MSISDN_2, "voice", at("2026-11-03T10:00:00"), 61, 0, "441234567", "", "msc-01", "c2"],
        ],
        column_names=network,
    )
    client.insert(
        "revguard.billed_usage",
        [
            ["B1", "N1", MSISDN_1, "voice", at("2026-11-02T08:00:00"), 120, 0, Decimal("0.10"), at("2026-11-02T09:00:00")],
            ["B2", "N3", MSISDN_2, "voice", at("2026-11-03T10:00:00"), 61, 0, Decimal("0.05"), at("2026-11-03T11:00:00")],
            ["B3", "N3", MSISDN_2, "voice", at("2026-11-03T10:00:00"), 61, 0, Decimal("0.05"), at("2026-11-03T12:00:00")],
        ],
        column_names=["bill_record_id", "record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes", "charge", "billed_at"],
    )
    rated = network + ["plan_id", "payment", "dest_class", "roaming_zone", "offpeak", "billable_units", "allowance_units",
                       "charged_units", "charge", "tax", "total", "unfunded", "status", "reason"]
    client.insert(
        "revguard.rated_usage",
        [
            ["N1", MSISDN_1, "voice", at("2026-11-02T08:00:00"), 120, 0, "447911111111", "", "msc-01", "c1", "SMART10", "postpaid",
             "onnet", "", False, 120, 0, 120, Decimal("0.10"), Decimal("0.02"), Decimal("0.12"), Decimal("0"), "rated", ""],
            ["N2", MSISDN_1, "data", at("2026-11-02T09:00:00"), 0, 10 * 1048576, "", "31001", "pgw-01", "c1", "SMART10", "postpaid",
             "", "world", False, 10 * 1048576, 0, 10 * 1048576, Decimal("150.00"), Decimal("30.00"), Decimal("180.00"), Decimal("0"), "rated", ""],
            ["N3", MSISDN_2, "voice", at("2026-11-03T10:00:00"), 61, 0, "441234567", "", "msc-01", "c2", "PAYG", "prepaid",
             "national", "", True, 61, 0, 61, Decimal("0.12"), Decimal("0.024"), Decimal("0.144"), Decimal("0"), "rated", ""],
        ],
        column_names=rated,
    )
    client.insert(
        "revguard.discrepancies",
        [
            ["F-unbilled", "unbilled", "N2", "", MSISDN_1, "pgw-01", Decimal("150.00"), at("2026-11-02T09:00:00"), at("2026-11-05"),
             json.dumps({"shadow_charge": "150.000000"})],
            ["F-misrated", "misrated", "N3", "B2", MSISDN_2, "msc-01", Decimal("0.07"), at("2026-11-03T10:00:00"), at("2026-11-05"),
             json.dumps({"billed_charge": "0.050000", "shadow_charge": "0.120000"})],
            ["F-duplicate", "duplicate_billing", "N3", "B3", MSISDN_2, "msc-01", Decimal("-0.05"), at("2026-11-03T10:00:00"),
             at("2026-11-05"), json.dumps({"first_bill": "B2"})],
        ],
        column_names=["finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id", "amount", "event_time", "detected_at", "evidence"],
    )

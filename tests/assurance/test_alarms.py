"""Alarms: findings grouped by kind × element or plan × day, money at stake from the findings,
untriaged first (tests/dashboards/seed.py: the store, worked out by hand)."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from assurance.alarms import alarms, findings_of_alarm
from assurance.cases import open_case
from tests.dashboards.seed import MSISDN_1, at, seed_small_store


def more_unbilled_on_pgw01(store) -> None:
    """A second unbilled record on pgw-01 the same day, and one on another day."""
    rows = [
        ["F-unbilled-2", "unbilled", "N4", "", MSISDN_1, "pgw-01", Decimal("2.50"), at("2026-11-02T18:00:00"), at("2026-11-05"), "{}"],
        ["F-unbilled-3", "unbilled", "N5", "", MSISDN_1, "pgw-01", Decimal("1.00"), at("2026-11-03T01:00:00"), at("2026-11-05"), "{}"],
        ["F-gap", "element_gap", "", "", "", "msc-02", Decimal("0"), at("2026-11-03T03:00:00"), at("2026-11-05"),
         json.dumps({"estimated_missing_revenue": "40.000000"})],
    ]
    store.insert("revguard.discrepancies", rows, column_names=[
        "finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id", "amount", "event_time", "detected_at", "evidence"])


def test_unbilled_findings_group_by_element_and_day(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    by_key = {a.alarm_key: a for a in alarms(chdb_client)}
    first = by_key["unbilled · element pgw-01 · 2026-11-02"]
    assert (first.findings, first.money, first.severity) == (2, Decimal("152.50"), "high")
    assert by_key["unbilled · element pgw-01 · 2026-11-03"].findings == 1


def test_billing_side_findings_group_by_plan_and_day(chdb_client):
    seed_small_store(chdb_client)
    by_key = {a.alarm_key: a for a in alarms(chdb_client)}
    duplicate = by_key["duplicate_billing · plan PAYG · 2026-11-03"]
    assert (duplicate.dimension, duplicate.value, duplicate.day, duplicate.amount, duplicate.money) == (
        "plan", "PAYG", date(2026, 11, 3), Decimal("-0.05"), Decimal("0.05"))


def test_an_element_gap_weighs_its_estimated_missing_revenue(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    gap = {a.alarm_key: a for a in alarms(chdb_client)}["element_gap · element msc-02 · 2026-11-03"]
    assert (gap.money, gap.severity) == (Decimal("40"), "medium")


def test_alarms_come_untriaged_first_then_most_money(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    assert [a.money for a in alarms(chdb_client)] == [Decimal("152.50"), Decimal("40"), Decimal("1.00"), Decimal("0.07"), Decimal("0.05")]
    open_case(chdb_client, finding_ids=["F-unbilled-2"], title="t", amount_at_stake=Decimal("2.50"), actor="ana")
    listed = alarms(chdb_client)
    assert [a.triaged for a in listed] == [False, False, False, False, True]
    assert listed[-1].alarm_key == "unbilled · element pgw-01 · 2026-11-02"


def test_an_alarm_lists_its_findings_most_money_first(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    members = findings_of_alarm(chdb_client, "unbilled · element pgw-01 · 2026-11-02")
    assert [(finding_id, record_id) for finding_id, record_id, _, _ in members] == [("F-unbilled", "N2"), ("F-unbilled-2", "N4")]

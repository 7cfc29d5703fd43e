"""Alarms: findings grouped by kind × element or plan over the consecutive days they recur, money
at stake from the findings, untriaged first; the share of injected leakage money the largest
alarms hold (tests/dashboards/seed.py: the store, worked out by hand)."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from assurance.alarms import alarms, findings_of_alarm, leakage_in_top_alarms
from assurance.cases import open_case
from tests.dashboards.seed import MSISDN_1, at, seed_small_store


def more_unbilled_on_pgw01(store) -> None:
    """A second unbilled record on pgw-01 the same day, one the next day, and a gap on msc-02."""
    rows = [
        ["F-unbilled-2", "unbilled", "N4", "", MSISDN_1, "pgw-01", Decimal("2.50"), at("2026-11-02T18:00:00"), at("2026-11-05"), "{}"],
        ["F-unbilled-3", "unbilled", "N5", "", MSISDN_1, "pgw-01", Decimal("1.00"), at("2026-11-03T01:00:00"), at("2026-11-05"), "{}"],
        ["F-gap", "element_gap", "", "", "", "msc-02", Decimal("0"), at("2026-11-03T03:00:00"), at("2026-11-05"),
         json.dumps({"estimated_missing_revenue": "40.000000"})],
    ]
    store.insert("revguard.discrepancies", rows, column_names=[
        "finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id", "amount", "event_time", "detected_at", "evidence"])


def by_key(store) -> dict:
    return {a.alarm_key: a for a in alarms(store)}


def test_unbilled_findings_on_one_element_on_consecutive_days_are_one_alarm(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    alarm = by_key(chdb_client)["unbilled · element pgw-01 · 2026-11-02..2026-11-03"]
    # F-unbilled 150.00 + F-unbilled-2 2.50 on the 2nd, F-unbilled-3 1.00 on the 3rd
    assert (alarm.findings, alarm.days, alarm.money, alarm.severity) == (3, 2, Decimal("153.50"), "high")
    assert (alarm.first_day, alarm.last_day) == (date(2026, 11, 2), date(2026, 11, 3))


def test_a_day_without_findings_ends_an_alarm(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    chdb_client.insert("revguard.discrepancies", [
        ["F-unbilled-4", "unbilled", "N6", "", MSISDN_1, "pgw-01", Decimal("3.00"), at("2026-11-05T10:00:00"), at("2026-11-06"), "{}"]],
        column_names=["finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id", "amount", "event_time",
                      "detected_at", "evidence"])
    keys = by_key(chdb_client)
    assert keys["unbilled · element pgw-01 · 2026-11-02..2026-11-03"].findings == 3
    assert (keys["unbilled · element pgw-01 · 2026-11-05"].findings, keys["unbilled · element pgw-01 · 2026-11-05"].money) == (1, Decimal("3.00"))


def test_billing_side_findings_group_by_plan(chdb_client):
    seed_small_store(chdb_client)
    duplicate = by_key(chdb_client)["duplicate_billing · plan PAYG · 2026-11-03"]
    assert (duplicate.dimension, duplicate.value, duplicate.first_day, duplicate.amount, duplicate.money) == (
        "plan", "PAYG", date(2026, 11, 3), Decimal("-0.05"), Decimal("0.05"))


def test_an_element_gap_weighs_its_estimated_missing_revenue(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    gap = by_key(chdb_client)["element_gap · element msc-02 · 2026-11-03"]
    assert (gap.money, gap.severity) == (Decimal("40"), "medium")


def test_alarms_come_untriaged_first_then_most_money_to_triage(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    assert [a.money for a in alarms(chdb_client)] == [Decimal("153.50"), Decimal("40"), Decimal("0.07"), Decimal("0.05")]
    open_case(chdb_client, finding_ids=["F-unbilled-2"], title="t", amount_at_stake=Decimal("2.50"), actor="ana")
    open_case(chdb_client, finding_ids=["F-misrated"], title="m", amount_at_stake=Decimal("0.07"), actor="ana")
    listed = alarms(chdb_client)
    # pgw-01 still has F-unbilled and F-unbilled-3 outside any case: 151.00 to triage, still first
    assert [(a.alarm_key.split(" · ")[0], a.untriaged, a.untriaged_money, a.triaged) for a in listed] == [
        ("unbilled", 2, Decimal("151.00"), False), ("element_gap", 1, Decimal("40"), False),
        ("duplicate_billing", 1, Decimal("0.05"), False), ("misrated", 0, Decimal("0"), True)]


def test_an_alarm_lists_its_findings_most_money_first(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    open_case(chdb_client, finding_ids=["F-unbilled-2"], title="t", amount_at_stake=Decimal("2.50"), actor="ana")
    members = findings_of_alarm(chdb_client, by_key(chdb_client)["unbilled · element pgw-01 · 2026-11-02..2026-11-03"])
    assert [(finding_id, record_id, in_case) for finding_id, record_id, _, _, in_case in members] == [
        ("F-unbilled", "N2", False), ("F-unbilled-2", "N4", True), ("F-unbilled-3", "N5", False)]


# What a simulator would have injected: the three unbilled records and the under-charge the
# controls found, an unbilled record they missed, an over-charge (not leakage) and a phantom bill
# (over-billing, not leakage).
TRUTH = [
    {"kind": "unbilled", "record_id": "N2", "amount": "150.000000"},
    {"kind": "unbilled", "record_id": "N4", "amount": "2.500000"},
    {"kind": "unbilled", "record_id": "N5", "amount": "1.000000"},
    {"kind": "misrated", "record_id": "N3", "bill_record_id": "B2", "amount": "0.070000"},
    {"kind": "unbilled", "record_id": "N9", "amount": "10.000000"},
    {"kind": "misrated", "record_id": "N7", "bill_record_id": "B7", "amount": "-3.000000"},
    {"kind": "phantom_billing", "bill_record_id": "B99", "amount": "99.000000"},
]


def test_the_largest_leakage_alarms_hold_the_injected_leakage_they_found(chdb_client):
    seed_small_store(chdb_client)
    more_unbilled_on_pgw01(chdb_client)
    # injected leakage: 150 + 2.50 + 1.00 + 0.07 + 10 = 163.57; leakage alarms: pgw-01 (153.50), PAYG misrated (0.07)
    top1 = leakage_in_top_alarms(chdb_client, TRUTH, top=1)
    assert (top1.alarms, top1.injected, top1.captured) == (2, Decimal("163.57"), Decimal("153.50"))
    top2 = leakage_in_top_alarms(chdb_client, TRUTH, top=2)
    assert top2.captured == Decimal("153.57")
    assert round(top2.share, 6) == round(153.57 / 163.57, 6)


def test_the_share_reads_truth_ndjson(chdb_client, tmp_path):
    seed_small_store(chdb_client)
    path = tmp_path / "truth.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in TRUTH[:1]))
    # only F-unbilled (N2, 150.00) is in the store and in the truth: all of it in the one alarm
    assert leakage_in_top_alarms(chdb_client, path, top=50).share == 1.0

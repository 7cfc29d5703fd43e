"""reconcile(): a run replaces its range's findings; the summary adds up."""
from datetime import datetime
from decimal import Decimal

import pytest
from rich.console import Console

from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import at, billed_row, insert, network_row, provisioning_row, rated_row, subscriber_row

DAY = datetime(2026, 11, 2)


def _three_unbilled_days(store):
    """Unbilled r1 on 2 Nov, r2 on 3 Nov, r3 on 4 Nov; billing clock on 9 Nov."""
    insert(store, "subscribers", [subscriber_row("447900000001")])
    insert(store, "provisioning", [provisioning_row("447900000001")])
    insert(store, "network_usage", [network_row(f"r{d}", start_time=DAY.replace(day=1 + d)) for d in (1, 2, 3)])
    insert(store, "rated_usage", [rated_row(f"r{d}", f"0.{d}00000", start_time=DAY.replace(day=1 + d)) for d in (1, 2, 3)])
    insert(store, "network_usage", [network_row("ok", start_time=DAY.replace(day=9))])
    insert(store, "billed_usage", [billed_row("b-ok", "ok", "0", start_time=DAY.replace(day=9))])



@pytest.fixture
def store(store_client):
    """Every test here runs over chDB in-process and over the HTTP endpoint."""
    return store_client

def test_running_twice_gives_the_same_findings_once(store):
    _three_unbilled_days(store)
    reconcile(store)
    first = findings_of(store)
    reconcile(store)
    assert [f["finding_id"] for f in findings_of(store)] == [f["finding_id"] for f in first]
    assert store.query("SELECT count() FROM revguard.discrepancies").result_rows[0][0] == 3


def test_finding_that_no_longer_holds_disappears_on_rerun(store):
    _three_unbilled_days(store)
    reconcile(store)
    insert(store, "billed_usage", [billed_row("b2", "r2", "0.200000", start_time=DAY.replace(day=3))])
    reconcile(store)
    assert [f["record_id"] for f in findings_of(store, "unbilled")] == ["r1", "r3"]


def test_range_only_touches_findings_whose_event_time_is_inside(store):
    _three_unbilled_days(store)
    reconcile(store)
    # bill all three, then reconcile only 3 Nov: r1 and r3 stay as they were, r2 goes
    insert(store, "billed_usage", [billed_row(f"b{d}", f"r{d}", "0", start_time=DAY.replace(day=1 + d)) for d in (1, 2, 3)])
    reconcile(store, since=DAY.replace(day=3), until=DAY.replace(day=4))
    assert [f["record_id"] for f in findings_of(store, "unbilled")] == ["r1", "r3"]


def test_overlapping_ranges_never_duplicate_a_finding(store):
    _three_unbilled_days(store)
    reconcile(store, since=DAY.replace(day=2), until=DAY.replace(day=4))
    reconcile(store, since=DAY.replace(day=3), until=DAY.replace(day=5))
    reconcile(store, since=DAY.replace(day=1), until=DAY.replace(day=3, hour=12))
    assert [f["record_id"] for f in findings_of(store, "unbilled")] == ["r1", "r2", "r3"]
    assert store.query("SELECT count() FROM revguard.discrepancies").result_rows[0][0] == 3


def test_timezone_aware_bounds_are_taken_in_utc(store):
    from datetime import timedelta, timezone
    _three_unbilled_days(store)
    plus_two = timezone(timedelta(hours=2))
    # 3 Nov 02:00+02:00 is 3 Nov 00:00Z: r2 (3 Nov 00:00Z) is the first instant inside
    reconcile(store, since=datetime(2026, 11, 3, 2, tzinfo=plus_two), until=datetime(2026, 11, 4, 2, tzinfo=plus_two))
    assert [f["record_id"] for f in findings_of(store, "unbilled")] == ["r2"]


def test_summary_counts_money_and_leakage_share_by_kind_service_and_element(store):
    insert(store, "subscribers", [subscriber_row("447900000001")])
    insert(store, "provisioning", [provisioning_row("447900000001")])
    insert(store, "network_usage", [
        network_row("v1", start_time=at(0), element_id="msc-01"),
        network_row("v2", start_time=at(1), element_id="msc-01"),
        network_row("d1", service="data", duration_s=0, volume_bytes=1000, start_time=at(2), element_id="pgw-01"),
    ])
    insert(store, "rated_usage", [
        rated_row("v1", "1.000000", start_time=at(0)),
        rated_row("v2", "3.000000", start_time=at(1)),
        rated_row("d1", "4.000000", service="data", duration_s=0, volume_bytes=1000, start_time=at(2),
                  element_id="pgw-01"),
    ])
    insert(store, "billed_usage", [
        billed_row("b2", "v2", "2.500000", start_time=at(1), billed_at=at(40)),   # misrated +0.500000
        billed_row("b3", "d1", "4.000000", service="data", duration_s=0, volume_bytes=1000, start_time=at(2)),
        billed_row("b4", "d1", "4.000000", service="data", duration_s=0, volume_bytes=1000, start_time=at(2),
                   billed_at=at(5)),                                                # duplicate -4.000000
    ])
    summary = reconcile(store)
    # v1 unbilled 1.000000 (at 0, clock at 40 h); v2 misrated 0.500000; d1 billed twice
    assert summary.kind("unbilled").amount == Decimal("1.000000")
    assert summary.kind("misrated").amount == Decimal("0.500000")
    assert (summary.kind("duplicate_billing").findings, summary.kind("duplicate_billing").amount) == (1, Decimal("-4.000000"))
    assert summary.findings == 3
    # rated revenue 1 + 3 + 4 = 8; leakage 1.5 -> 18.75 %; voice 1.5 of 4 -> 37.50 %; data 0 of 4
    assert (summary.rated_revenue, summary.leakage, summary.leakage_percent) == (Decimal(8), Decimal("1.5"), Decimal("18.75"))
    assert {s.key: s.percent for s in summary.by_service} == {"voice": Decimal("37.50"), "data": Decimal("0.00")}
    assert {s.key: s.leakage for s in summary.by_element} == {"msc-01": Decimal("1.5"), "pgw-01": Decimal(0)}
    assert summary.overbilling == Decimal("-4.000000")
    text = _printed(summary)
    assert "duplicate_billing" in text and "18.75%" in text


def test_empty_range_is_refused(store):
    with pytest.raises(ValueError, match="empty range"):
        reconcile(store, since=DAY, until=DAY)


def _printed(summary) -> str:
    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    console.print(summary)
    return console.export_text()

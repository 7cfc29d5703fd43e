"""Shadow-rating comparison: misrated beyond tolerance, usage_mismatch on quantities."""
from decimal import Decimal

from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import at, billed_row, insert, network_row, rated_row


def _one_record(store, *, shadow: str, billed: str, network_s: int = 60, billed_s: int = 60):
    insert(store, "network_usage", [network_row("r1", duration_s=network_s)])
    insert(store, "rated_usage", [rated_row("r1", shadow, duration_s=network_s)])
    insert(store, "billed_usage", [billed_row("b1", "r1", billed, duration_s=billed_s)])


def test_billed_charge_below_shadow_is_misrated_for_the_difference(store):
    _one_record(store, shadow="0.100000", billed="0.080000")
    reconcile(store)
    [finding] = findings_of(store, "misrated")
    # 0.100000 - 0.080000 = 0.020000 under-billed
    assert (finding["record_id"], finding["bill_record_id"], finding["amount"]) == ("r1", "b1", Decimal("0.020000"))
    assert (finding["evidence"]["shadow_charge"], finding["evidence"]["billed_charge"]) == ("0.100000", "0.080000")


def test_billed_charge_above_shadow_is_misrated_negative(store):
    _one_record(store, shadow="0.100000", billed="0.150000")
    reconcile(store)
    assert [f["amount"] for f in findings_of(store, "misrated")] == [Decimal("-0.050000")]


def test_difference_equal_to_the_tolerance_is_not_misrated(store):
    # default tolerance 0.000001: |0.100001 - 0.100000| = 0.000001, not strictly greater
    _one_record(store, shadow="0.100000", billed="0.100001")
    reconcile(store)
    assert findings_of(store, "misrated") == []


def test_difference_just_beyond_the_tolerance_is_misrated(store):
    # |0.100002 - 0.100000| = 0.000002 > 0.000001
    _one_record(store, shadow="0.100000", billed="0.100002")
    reconcile(store)
    assert [f["amount"] for f in findings_of(store, "misrated")] == [Decimal("-0.000002")]


def test_a_wider_tolerance_accepts_a_cent(store):
    _one_record(store, shadow="0.100000", billed="0.110000")
    reconcile(store, tolerance=Decimal("0.01"))
    assert findings_of(store, "misrated") == []
    reconcile(store, tolerance=Decimal("0.009999"))
    assert len(findings_of(store, "misrated")) == 1


def test_billed_duration_differing_is_usage_mismatch_not_misrated(store):
    # network 120 s rated 0.200000; billing saw 60 s and charged 0.100000
    _one_record(store, shadow="0.200000", billed="0.100000", network_s=120, billed_s=60)
    reconcile(store)
    assert findings_of(store, "misrated") == []
    [finding] = findings_of(store, "usage_mismatch")
    assert finding["amount"] == Decimal("0.100000")  # 0.200000 - 0.100000
    assert (finding["evidence"]["network_duration_s"], finding["evidence"]["billed_duration_s"]) == (120, 60)


def test_billed_volume_differing_is_usage_mismatch(store):
    insert(store, "network_usage", [network_row("d1", service="data", duration_s=0, volume_bytes=2_000_000)])
    insert(store, "rated_usage", [rated_row("d1", "0.020000", service="data", duration_s=0, volume_bytes=2_000_000)])
    insert(store, "billed_usage", [billed_row("b1", "d1", "0.010000", service="data", duration_s=0,
                                              volume_bytes=1_000_000)])
    reconcile(store)
    assert [(f["record_id"], f["amount"]) for f in findings_of(store, "usage_mismatch")] == [("d1", Decimal("0.010000"))]


def test_matching_quantities_and_charge_produce_nothing(store):
    _one_record(store, shadow="0.100000", billed="0.100000")
    reconcile(store)
    assert findings_of(store) == []


def test_only_the_first_bill_is_compared_with_the_shadow_charge(store):
    _one_record(store, shadow="0.100000", billed="0.100000")
    # a second, later bill at a different price is a duplicate, not a re-rating
    insert(store, "billed_usage", [billed_row("b2", "r1", "0.900000", billed_at=at(23))])
    reconcile(store)
    assert findings_of(store, "misrated") == []
    assert [f["bill_record_id"] for f in findings_of(store, "duplicate_billing")] == ["b2"]

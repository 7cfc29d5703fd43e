"""Unfunded prepaid usage: the ex-tax share of the uncovered money, half-up at 6 places."""
from decimal import Decimal

from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import insert, rated_row


def _unfunded(store, record_id: str, charge: str, tax: str, unfunded: str) -> Decimal:
    insert(store, "rated_usage", [rated_row(record_id, charge, tax=tax, unfunded=unfunded, payment="prepaid")])
    reconcile(store)
    [finding] = findings_of(store, "unfunded_usage")
    return finding["amount"]


def test_exact_half_at_the_seventh_place_rounds_up(store):
    # 0.000003 x 0.000005 / 0.000006 = 0.0000025 exactly -> 0.000003 (half-even or truncation: 0.000002)
    assert _unfunded(store, "r1", charge="0.000005", tax="0.000001", unfunded="0.000003") == Decimal("0.000003")


def test_repeating_quotient_above_half_rounds_up(store):
    # 0.500000 x 1.000000 / 1.200000 = 0.41666666... -> 0.416667
    assert _unfunded(store, "r1", charge="1.000000", tax="0.200000", unfunded="0.500000") == Decimal("0.416667")


def test_repeating_quotient_below_half_rounds_down(store):
    # 0.100000 x 1.000000 / 1.200000 = 0.08333333... -> 0.083333
    assert _unfunded(store, "r1", charge="1.000000", tax="0.200000", unfunded="0.100000") == Decimal("0.083333")


def test_fully_unfunded_record_leaks_its_whole_charge(store):
    # unfunded = total = 2.400000 -> 2.400000 x 2.000000 / 2.400000 = 2.000000
    assert _unfunded(store, "r1", charge="2.000000", tax="0.400000", unfunded="2.400000") == Decimal("2.000000")


def test_funded_prepaid_usage_is_not_reported(store):
    insert(store, "rated_usage", [rated_row("r1", "1.000000", payment="prepaid", unfunded="0")])
    reconcile(store)
    assert findings_of(store, "unfunded_usage") == []


def test_duplicate_row_of_an_unfunded_record_is_not_reported_twice(store):
    insert(store, "rated_usage", [
        rated_row("r1", "1.000000", tax="0.200000", payment="prepaid", unfunded="1.200000"),
        rated_row("r1", "0", tax="0", payment="prepaid", unfunded="0", status="duplicate", source="line 2"),
    ])
    reconcile(store)
    assert [f["amount"] for f in findings_of(store, "unfunded_usage")] == [Decimal("1.000000")]

"""How injected faults alter one billed record, with hand-computed values."""
from decimal import Decimal

from flows.simulator.faults import (
    altered_quantity, misrated_charge, record_fault, unfunded_amount)


def test_wrong_price_scales_the_correct_charge():
    # factor_draw 0.0 picks the first wrong factor, 0.5: 0.18 x 0.5 = 0.09
    assert misrated_charge(Decimal("0.18"), Decimal("0"), Decimal("0"), 0.9, 0.0) == Decimal("0.09")


def test_missed_discount_undoes_the_plan_discount():
    # 1.3725 is 1.525 after 10 % off; without the discount: 1.3725 / 0.9 = 1.525
    assert misrated_charge(Decimal("1.3725"), Decimal("0"), Decimal("10"), 0.1, 0.0) == Decimal("1.525")


def test_free_usage_is_misrated_as_if_no_allowance_applied():
    assert misrated_charge(Decimal("0"), Decimal("0.101667"), Decimal("0"), 0.3, 0.3) == Decimal("0.101667")


def test_a_misrating_invisible_at_one_micro_unit_becomes_a_cent():
    # 0.000005 x 0.8 = 0.000004: only 0.000001 apart, so one cent is added instead
    assert misrated_charge(Decimal("0.000005"), Decimal("0"), Decimal("0"), 0.9, 0.3) == Decimal("0.010005")


def test_truncated_call_loses_part_of_its_duration():
    # 100 s, truncation by int(100 x 0.5 x 0.5) = 25 s -> 75 s
    assert altered_quantity(100, True, 0.1, 0.5) == 75


def test_padded_session_gains_volume():
    # 1000 B + 1 + int(1000 x 0.3 x 0.5) = 1151 B
    assert altered_quantity(1000, False, 0.9, 0.5) == 1151


def test_unfunded_amount_is_the_ex_tax_share_of_the_uncovered_total():
    # 1.22 uncovered of a 1.32 total whose charge is 1.10: 1.22 x 1.10 / 1.32 = 1.0166.. -> 1.016667
    assert unfunded_amount(Decimal("1.22"), Decimal("1.10"), Decimal("1.32")) == Decimal("1.016667")


def test_record_kinds_are_tried_in_order_and_first_hit_wins():
    kind, considered = record_fault([0.5, 0.05, 0.01, 0.0], 0.1, True, True)
    assert (kind, considered) == ("duplicate_billing", ["unbilled", "duplicate_billing"])


def test_kinds_a_record_cannot_carry_are_not_in_its_population():
    kind, considered = record_fault([0.9, 0.9, 0.0, 0.0], 0.1, False, False)
    assert (kind, considered) == ("", ["unbilled", "duplicate_billing"])

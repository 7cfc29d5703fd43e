"""The reference rater against hand-computed charges (SPEC section 3).

Times are in November 2026, when Europe/London is UTC+0, unless a test says otherwise.
2026-11-02 is a Monday.
"""
from decimal import Decimal

import pytest

from flows.simulator.catalog import catalog_document
from flows.simulator.reference_rater import (
    ReferenceRater, billable_data_bytes, billable_voice_seconds, rate_stream)


def subscriber(msisdn: str, plan_id: str, payment: str, cycle_day: int = 1,
               balance: str = "") -> dict[str, str]:
    return {"msisdn": msisdn, "account_id": "AC1", "plan_id": plan_id, "payment": payment,
            "status": "active", "activated_at": "2025-01-01T00:00:00Z",
            "cycle_day": str(cycle_day), "balance": balance,
            "credit_limit": "" if payment == "prepaid" else "100.00", "segment": "consumer"}


def rater_for(*rows: dict[str, str]) -> ReferenceRater:
    return ReferenceRater(catalog_document(), {row["msisdn"]: row for row in rows})


def call(record_id: str, msisdn: str, start: str, seconds: int, destination: str,
         roaming: str = "") -> dict:
    return {"record_id": record_id, "msisdn": msisdn, "service": "voice", "start_time": start,
            "duration_s": seconds, "volume_bytes": 0, "destination": destination,
            "roaming_mccmnc": roaming}


def sms(record_id: str, msisdn: str, start: str, destination: str) -> dict:
    return {"record_id": record_id, "msisdn": msisdn, "service": "sms", "start_time": start,
            "duration_s": 0, "volume_bytes": 0, "destination": destination, "roaming_mccmnc": ""}


def session(record_id: str, msisdn: str, start: str, volume: int) -> dict:
    return {"record_id": record_id, "msisdn": msisdn, "service": "data", "start_time": start,
            "duration_s": 0, "volume_bytes": volume, "destination": "", "roaming_mccmnc": ""}


NATIONAL = "442071234567"
ONNET = "447911111111"
PREMIUM = "449090123456"
INTERNATIONAL = "33123456789"


@pytest.mark.parametrize("seconds, rounding, billable", [
    (0, "60/1", 0), (5, "60/1", 60), (61, "60/1", 61),
    (61, "60/60", 120), (120, "60/60", 120), (61, "1/1", 61)])
def test_voice_rounding_follows_first_unit_then_increments(seconds, rounding, billable):
    assert billable_voice_seconds(seconds, rounding) == billable


def test_data_rounds_up_to_the_increment():
    # 150,000 bytes in 100 KB (102,400 B) steps: two steps = 204,800 B
    assert billable_data_bytes(150_000, 100) == 204_800
    assert billable_data_bytes(0, 100) == 0


def test_sixty_sixty_national_call_at_peak_charges_two_minutes():
    rater = rater_for(subscriber("1", "BASIC", "postpaid"))
    rated = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 61, NATIONAL))
    # 61 s -> 120 s; 0.09/min x 120/60 = 0.18; tax 0.18 x 0.20 = 0.036
    assert (rated.billable_units, rated.charge, rated.tax, rated.total) == (
        120, Decimal("0.18"), Decimal("0.036"), Decimal("0.216"))
    assert rated.dest_class == "national" and not rated.offpeak and rated.balance_after is None


def test_offpeak_band_starts_at_from_inclusive():
    rater = rater_for(subscriber("1", "BASIC", "postpaid"))
    before = rater.rate(call("r1", "1", "2026-11-02T18:59:59Z", 61, NATIONAL))
    at = rater.rate(call("r2", "1", "2026-11-02T19:00:00Z", 61, NATIONAL))
    # peak 0.18 as above; off-peak 0.18 x 0.5 = 0.09
    assert (before.offpeak, before.charge) == (False, Decimal("0.18"))
    assert (at.offpeak, at.charge) == (True, Decimal("0.09"))


def test_wrapping_band_covers_next_morning_until_to_exclusive():
    rater = rater_for(subscriber("1", "BASIC", "postpaid"))
    # Monday's 19:00-07:00 band reaches Tuesday 06:59:59 but not Tuesday 07:00:00
    assert rater.rate(call("r1", "1", "2026-11-03T06:59:59Z", 60, NATIONAL)).offpeak
    assert not rater.rate(call("r2", "1", "2026-11-03T07:00:00Z", 60, NATIONAL)).offpeak


def test_monday_small_hours_are_peak_because_sunday_starts_no_wrapping_band():
    rater = rater_for(subscriber("1", "BASIC", "postpaid"))
    # the weekend band ends at Monday 00:00 and sun is not among the 19:00-07:00 days
    assert not rater.rate(call("r1", "1", "2026-11-02T03:00:00Z", 60, NATIONAL)).offpeak


def test_offpeak_uses_london_summer_time():
    rater = rater_for(subscriber("1", "BASIC", "postpaid"))
    # 2026-07-06 (Monday) 18:30 UTC is 19:30 BST: off-peak
    assert rater.rate(call("r1", "1", "2026-07-06T18:30:00Z", 60, NATIONAL)).offpeak


def test_discount_reduces_the_raw_product_before_rounding():
    rater = rater_for(subscriber("1", "SMART10", "postpaid"))
    rated = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 61, PREMIUM))
    # premium not in allowance classes; 60/1: 61 s; 1.50 x 61/60 = 1.525; x 0.9 = 1.3725
    # tax 1.3725 x 0.2 = 0.2745; total 1.647
    assert (rated.allowance_units, rated.charge, rated.tax, rated.total) == (
        0, Decimal("1.3725"), Decimal("0.2745"), Decimal("1.647"))


def test_charge_rounds_half_up_at_the_sixth_decimal():
    rater = rater_for(subscriber("1", "PAYG", "prepaid", balance="10.00"))
    rated = rater.rate(session("r1", "1", "2026-11-02T10:00:00Z", 16384))
    # 16 KB at 0.02/MB: 0.02 x 16384 / 1048576 = 0.0003125 -> 0.000313 (half up)
    # tax 0.000313 x 0.2 = 0.0000626 -> 0.000063; total 0.000376; balance 9.999624
    assert (rated.charge, rated.tax, rated.total) == (
        Decimal("0.000313"), Decimal("0.000063"), Decimal("0.000376"))
    assert rated.balance_after == Decimal("9.999624")


def test_record_larger_than_allowance_left_is_split():
    rater = rater_for(subscriber("1", "PREPAID5", "prepaid", balance="10.00"))
    first = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 2950, ONNET))
    second = rater.rate(call("r2", "1", "2026-11-02T11:00:00Z", 120, ONNET))
    # 3000 s onnet allowance: 2950 free, then 50 of 120 free, 70 s charged
    # 0.07 x 70/60 = 0.0816666..; x 0.95 = 0.0775833.. -> 0.077583
    # tax 0.0155166 -> 0.015517; total 0.093100; balance 10 - 0.0931 = 9.9069
    assert (first.allowance_units, first.charge) == (2950, Decimal("0"))
    assert (second.allowance_units, second.charged_units) == (50, 70)
    assert (second.charge, second.tax, second.total) == (
        Decimal("0.077583"), Decimal("0.015517"), Decimal("0.093100"))
    assert second.balance_after == Decimal("9.906900")


def test_destination_class_outside_allowance_classes_pays_from_first_second():
    rater = rater_for(subscriber("1", "PREPAID5", "prepaid", balance="10.00"))
    rated = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 60, NATIONAL))
    # PREPAID5 allowance covers onnet only; 0.11 x 60/60 x 0.95 = 0.1045
    assert (rated.allowance_units, rated.charge) == (0, Decimal("0.1045"))


def test_new_cycle_at_local_midnight_of_cycle_day_refills_allowance():
    rater = rater_for(subscriber("1", "PREPAID5", "prepaid", cycle_day=5, balance="10.00"))
    rater.rate(call("r1", "1", "2026-11-04T23:00:00Z", 3000, ONNET))
    late = rater.rate(call("r2", "1", "2026-11-04T23:59:59Z", 60, ONNET))
    fresh = rater.rate(call("r3", "1", "2026-11-05T00:00:00Z", 60, ONNET))
    # pool of the cycle started 2026-10-05 is used up; 2026-11-05 00:00 opens a new one
    assert (late.allowance_units, fresh.allowance_units) == (0, 60)


def test_roaming_in_allowance_zone_is_rated_as_home():
    rater = rater_for(subscriber("1", "SMART10", "postpaid"))
    rated = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 61, NATIONAL, roaming="20801"))
    assert (rated.roaming_zone, rated.allowance_units, rated.charge) == ("eu", 61, Decimal("0"))


def test_roaming_outside_allowance_zones_takes_zone_price_without_offpeak():
    rater = rater_for(subscriber("1", "SMART10", "postpaid"))
    # Saturday: off-peak, but roaming prices ignore the factor
    rated = rater.rate(call("r1", "1", "2026-11-07T10:00:00Z", 61, NATIONAL, roaming="310260"))
    # world 1.50/min x 61/60 = 1.525; x 0.9 discount = 1.3725; no allowance drawn
    assert (rated.roaming_zone, rated.offpeak, rated.allowance_units, rated.charge) == (
        "world", True, 0, Decimal("1.3725"))


def test_prepaid_shortfall_blocks_and_usage_while_blocked_is_unfunded():
    rater = rater_for(subscriber("1", "PAYG", "prepaid", balance="0.10"))
    first = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 60, INTERNATIONAL))
    second = rater.rate(sms("r2", "1", "2026-11-02T10:05:00Z", NATIONAL))
    # 1.10 + tax 0.22 = 1.32 against 0.10: 1.22 unfunded, balance 0
    # then blocked: sms 0.10 + 0.02 tax = 0.12 unfunded in full
    assert (first.total, first.unfunded, first.balance_after) == (
        Decimal("1.32"), Decimal("1.22"), Decimal("0"))
    assert (second.unfunded, second.balance_after) == (Decimal("0.12"), Decimal("0"))


def test_adjustment_at_same_time_as_record_applies_first_and_unblocks():
    rater = rater_for(subscriber("1", "PAYG", "prepaid", balance="0.00"))
    records = [sms("r1", "1", "2026-11-02T10:00:00Z", NATIONAL),
               sms("r2", "1", "2026-11-02T11:00:00Z", NATIONAL)]
    topup = [{"msisdn": "1", "amount": "5.000000", "time": "2026-11-02T11:00:00Z", "kind": "topup"}]
    first, second = rate_stream(rater, records, topup)
    # first: 0.12 unfunded; top-up 5 at the second's start time; 5 - 0.12 = 4.88
    assert first.unfunded == Decimal("0.12")
    assert (second.unfunded, second.balance_after) == (Decimal("0"), Decimal("4.88"))


def test_repeated_record_id_is_a_duplicate_and_not_charged_again():
    rater = rater_for(subscriber("1", "BASIC", "postpaid"))
    rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 61, NATIONAL))
    again = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 61, NATIONAL))
    assert (again.status, again.charge) == ("duplicate", Decimal("0"))


def test_what_if_rating_leaves_state_untouched():
    rater = rater_for(subscriber("1", "PREPAID5", "prepaid", balance="10.00"))
    rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 3000, ONNET), commit=False)
    rated = rater.rate(call("r1", "1", "2026-11-02T10:00:00Z", 3000, ONNET))
    assert (rated.status, rated.allowance_units) == ("rated", 3000)


def test_unknown_subscriber_and_unknown_plan_are_rejected():
    rater = rater_for(subscriber("1", "NOSUCHPLAN", "postpaid"))
    assert rater.rate(sms("r1", "2", "2026-11-02T10:00:00Z", NATIONAL)).reason == "unknown_subscriber"
    assert rater.rate(sms("r2", "1", "2026-11-02T10:00:00Z", NATIONAL)).reason == "unknown_plan"

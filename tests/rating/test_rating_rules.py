"""SPEC rules 2 to 6, one hand-computed record at a time (plan SMART10 unless said).

SMART10: 60/1 rounding, 10 % overage discount, off-peak factor 0.5, tax 20 %.
2026-11-02 is a Monday; in November London is on GMT, so UTC = local time.
"""
import datetime as dt
from decimal import Decimal as D

from rating.state import RatingState
from tests.rating.scenario import (
    CATALOG, CYCLE_25, CYCLE_26, POSTPAID, call, data, rate, reference, rows, sms,
)

MONDAY_PEAK = "2026-11-02T10:00:00Z"
MONDAY_EVENING = "2026-11-02T20:00:00Z"
SATURDAY_NOON = "2026-11-07T12:00:00Z"


def one(record: dict, **kw) -> dict:
    return rows(rate([record], **kw))[0]


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


# Rule 2: classes and zones.

def test_longest_prefix_wins_onnet_over_national():
    assert one(call("r", POSTPAID, MONDAY_PEAK, 5, "447912345678"))["dest_class"] == "onnet"


def test_premium_prefix_is_longer_than_national():
    assert one(call("r", POSTPAID, MONDAY_PEAK, 5, "449012345"))["dest_class"] == "premium"


def test_empty_prefix_is_the_fallback_class():
    assert one(call("r", POSTPAID, MONDAY_PEAK, 5, "33612345678"))["dest_class"] == "international"


def test_data_at_home_has_no_class_and_no_zone():
    row = one(data("r", POSTPAID, MONDAY_PEAK, 10))
    assert (row["dest_class"], row["roaming_zone"]) == (None, None)


def test_roaming_zone_is_the_longest_prefix_of_the_visited_network():
    assert one(call("r", POSTPAID, MONDAY_PEAK, 5, "447912345678", roaming="26201"))["roaming_zone"] == "eu"
    assert one(call("r", POSTPAID, MONDAY_PEAK, 5, "447912345678", roaming="31026"))["roaming_zone"] == "world"


# Rule 3 through the engine.

def test_zero_second_call_is_zero_units_and_free():
    row = one(call("r", POSTPAID, MONDAY_PEAK, 0, "33612345678"))
    assert (row["billable_units"], row["charge"], row["total"]) == (0, D("0"), D("0"))


def test_sms_is_one_unit():
    assert one(sms("r", POSTPAID, MONDAY_PEAK, "33612345678"))["billable_units"] == 1


# Rule 4: allowances.

def test_national_call_is_covered_by_the_allowance():
    row = one(call("r", POSTPAID, MONDAY_PEAK, 61, "441612345678"))
    assert (row["billable_units"], row["allowance_units"], row["charged_units"], row["charge"]) == (61, 61, 0, D("0"))


def test_record_larger_than_the_allowance_left_is_split():
    out = rows(rate([
        call("r1", POSTPAID, "2026-11-02T09:00:00Z", 17990, "441612345678"),
        call("r2", POSTPAID, MONDAY_PEAK, 70, "441612345678"),
    ]))
    # 18000 s allowance - 17990 s used = 10 s free; 60 s charged at 0.10/min:
    # 0.10 x 60/60 x 0.9 = 0.09; tax 0.018; total 0.108
    assert (out[1]["allowance_units"], out[1]["charged_units"]) == (10, 60)
    assert (out[1]["charge"], out[1]["tax"], out[1]["total"]) == (D("0.09"), D("0.018"), D("0.108"))


def test_allowance_used_by_every_record_of_an_earlier_batch_counts_in_the_next():
    state = RatingState()
    rate([call("r1", POSTPAID, "2026-11-02T08:00:00Z", 9000, "441612345678"),
          call("r2", POSTPAID, "2026-11-02T09:00:00Z", 8990, "441612345678")], state=state)
    later = rows(rate([call("r3", POSTPAID, MONDAY_PEAK, 70, "441612345678")], state=state, first_seq=2))[0]
    # 18000 s - (9000 + 8990) s used in the first batch = 10 s free; 60 s charged
    assert (later["allowance_units"], later["charged_units"]) == (10, 60)


def test_premium_never_uses_the_allowance_unless_listed():
    row = one(call("r", POSTPAID, MONDAY_PEAK, 61, "449012345"))
    # 1.50 x 61/60 x 0.9 = 1.3725
    assert (row["allowance_units"], row["charge"]) == (0, D("1.3725"))


def test_premium_uses_the_allowance_when_listed():
    text = CATALOG.replace("allowance_classes: [onnet, national]", "allowance_classes: [onnet, national, premium]")
    row = one(call("r", POSTPAID, MONDAY_PEAK, 61, "449012345"), ref=reference(text))
    assert (row["allowance_units"], row["charge"]) == (61, D("0"))


def test_international_sms_is_charged_national_sms_is_free():
    out = rows(rate([sms("r1", POSTPAID, MONDAY_PEAK, "33612345678"), sms("r2", POSTPAID, MONDAY_PEAK, "441612345678")]))
    # 0.25 x 1 x 0.9 = 0.225; tax 0.045; total 0.27
    assert (out[0]["charge"], out[0]["tax"], out[0]["total"]) == (D("0.225"), D("0.045"), D("0.27"))
    assert (out[1]["allowance_units"], out[1]["charge"]) == (1, D("0"))


def test_home_data_always_draws_the_data_allowance():
    row = one(data("r", POSTPAID, MONDAY_PEAK, 1))
    assert (row["billable_units"], row["allowance_units"], row["charge"]) == (102400, 102400, D("0"))


def test_roaming_in_an_allowance_zone_draws_like_home():
    row = one(call("r", POSTPAID, MONDAY_PEAK, 61, "441612345678", roaming="20801"))
    assert (row["roaming_zone"], row["dest_class"], row["allowance_units"], row["charge"]) == ("eu", "national", 61, D("0"))


def test_roaming_outside_the_allowance_zones_never_draws_and_pays_roaming_prices():
    row = one(call("r", POSTPAID, MONDAY_PEAK, 61, "441612345678", roaming="31026"))
    # world per_minute 1.50: 1.50 x 61/60 x 0.9 = 1.3725
    assert (row["allowance_units"], row["charged_units"], row["charge"]) == (0, 61, D("1.3725"))


def test_roaming_data_outside_zones_uses_the_plan_data_increment():
    row = one(data("r", POSTPAID, MONDAY_PEAK, 1, roaming="31026"))
    # 1 B -> 102400 B; 5.00 x 102400/1048576 = 0.48828125; x 0.9 = 0.439453125 -> 0.439453
    assert (row["billable_units"], row["charge"]) == (102400, D("0.439453"))


def test_allowance_is_per_billing_cycle_starting_at_local_midnight_across_dst():
    # cycle_day 1; BST began 2026-03-29, so 2026-04-01 00:00 local is 2026-03-31T23:00Z.
    out = rows(rate([
        call("r1", POSTPAID, "2026-03-31T20:00:00Z", 18000, "441612345678"),  # uses it all
        call("r2", POSTPAID, "2026-03-31T22:59:00Z", 60, "441612345678"),  # 23:59 BST, March cycle
        call("r3", POSTPAID, "2026-03-31T23:00:00Z", 60, "441612345678"),  # 00:00 BST, April cycle
    ]))
    assert [r["cycle_start"] for r in out] == [utc(2026, 3, 1), utc(2026, 3, 1), utc(2026, 3, 31, 23)]
    # r2: no allowance left; Tuesday 23:59 is off-peak: 0.10 x 60/60 x 0.5 x 0.9 = 0.045
    assert (out[1]["allowance_units"], out[1]["charge"]) == (0, D("0.045"))
    assert (out[2]["allowance_units"], out[2]["charge"]) == (60, D("0"))


def test_cycle_start_on_the_day_summer_time_ends_and_the_day_after():
    # 2026-10-25 00:00 is still BST (ends 01:00Z): 2026-10-24T23:00Z; 2026-10-26 00:00 is GMT.
    out = rows(rate([
        call("r1", CYCLE_25, "2026-10-30T12:00:00Z", 5, "441612345678"),
        call("r2", CYCLE_26, "2026-10-30T12:00:00Z", 5, "441612345678"),
        call("r3", CYCLE_26, "2026-10-25T23:59:00Z", 5, "441612345678"),  # 23:59 GMT on the 25th
    ]))
    assert [r["cycle_start"] for r in out] == [utc(2026, 10, 24, 23), utc(2026, 10, 26), utc(2026, 9, 25, 23)]


# Rule 5: prices, off-peak, discount.

def test_international_peak_call_costs_price_times_seconds_over_sixty_less_discount():
    row = one(call("r", POSTPAID, MONDAY_PEAK, 61, "33612345678"))
    # 0.80 x 61/60 = 0.813333...; x 0.9 = 0.732 exactly
    assert (row["offpeak"], row["charge"]) == (False, D("0.732"))


def test_overage_discount_reduces_the_charge():
    no_discount = CATALOG.replace('overage_discount_percent: "10"', 'overage_discount_percent: "0"')
    full = one(call("r", POSTPAID, MONDAY_PEAK, 60, "33612345678"), ref=reference(no_discount))
    discounted = one(call("r", POSTPAID, MONDAY_PEAK, 60, "33612345678"))
    assert (full["charge"], discounted["charge"]) == (D("0.80"), D("0.72"))


def test_offpeak_halves_home_voice():
    row = one(call("r", POSTPAID, MONDAY_EVENING, 61, "33612345678"))
    # 0.80 x 61/60 x 0.5 x 0.9 = 0.366
    assert (row["offpeak"], row["charge"]) == (True, D("0.366"))


def test_offpeak_all_day_at_the_weekend():
    assert one(call("r", POSTPAID, SATURDAY_NOON, 61, "33612345678"))["charge"] == D("0.366")


def test_roaming_prices_are_not_offpeak_discounted():
    row = one(call("r", POSTPAID, SATURDAY_NOON, 61, "441612345678", roaming="31026"))
    assert (row["offpeak"], row["charge"]) == (True, D("1.3725"))


def test_offpeak_factor_does_not_apply_to_sms():
    assert one(sms("r", POSTPAID, SATURDAY_NOON, "33612345678"))["charge"] == D("0.225")


def test_band_wrapping_midnight_runs_into_the_next_morning():
    times = {
        "2026-11-02T18:59:59Z": False,  # Monday before 19:00
        "2026-11-02T19:00:00Z": True,  # Monday 19:00, band starts
        "2026-11-03T06:59:59Z": True,  # Tuesday morning, Monday's band
        "2026-11-03T07:00:00Z": False,  # band ends at 07:00
        # Monday 06:59: Sunday is not listed in the weekday band, and the weekend band
        # ends at Sunday 24:00, so Monday early morning is peak under the literal rule.
        "2026-11-02T06:59:00Z": False,
        "2026-11-07T06:59:00Z": True,  # Saturday: weekend band (and Friday's band)
    }
    out = rows(rate([call(f"r{i}", POSTPAID, t, 5, "33612345678") for i, t in enumerate(times)]))
    assert [r["offpeak"] for r in out] == list(times.values())


def test_offpeak_bands_follow_summer_time():
    # Monday 2026-03-30 18:30Z is 19:30 BST: off-peak; the same UTC time in November is peak.
    out = rows(rate([
        call("r1", POSTPAID, "2026-03-30T18:30:00Z", 5, "33612345678"),
        call("r2", POSTPAID, "2026-11-02T18:30:00Z", 5, "33612345678"),
    ]))
    assert [r["offpeak"] for r in out] == [True, False]


# Rule 6: money.

TINY = CATALOG.replace('onnet: "0.06"', 'onnet: "0.000003"')


def test_charge_rounds_half_up_at_the_sixth_decimal():
    from tests.rating.scenario import PREPAID

    row = one(call("r", PREPAID, MONDAY_PEAK, 10, "447912345678"), ref=reference(TINY))
    # PAYG 1/1: 0.000003 x 10/60 = 0.0000005 exactly -> half up -> 0.000001 (half-even would give 0)
    assert row["charge"] == D("0.000001")


def test_tax_is_rounded_half_up_from_the_rounded_charge():
    from tests.rating.scenario import PREPAID

    text = TINY.replace('onnet: "0.000003"', 'onnet: "0.000012"').replace('tax_rate: "0.20"', 'tax_rate: "0.25"')
    row = one(call("r", PREPAID, MONDAY_PEAK, 10, "447912345678"), ref=reference(text))
    # charge 0.000012 x 10/60 = 0.000002; tax 0.000002 x 0.25 = 0.0000005 -> 0.000001; total 0.000003
    assert (row["charge"], row["tax"], row["total"]) == (D("0.000002"), D("0.000001"), D("0.000003"))


def test_tax_is_twenty_percent_and_total_is_charge_plus_tax():
    row = one(call("r", POSTPAID, MONDAY_PEAK, 61, "33612345678"))
    # charge 0.732; tax 0.1464; total 0.8784
    assert (row["tax"], row["total"]) == (D("0.1464"), D("0.8784"))


def test_money_columns_are_exact_decimals():
    import pyarrow as pa

    out = rate([call("r", POSTPAID, MONDAY_PEAK, 61, "33612345678")]).rated
    assert out.schema.field("charge").type == pa.decimal128(18, 6)


def test_state_carries_allowance_between_batches():
    state = RatingState()
    ref = reference()
    rate([call("r1", POSTPAID, "2026-11-02T09:00:00Z", 17990, "441612345678")], state=state, ref=ref)
    row = rows(rate([call("r2", POSTPAID, MONDAY_PEAK, 70, "441612345678")], state=state, ref=ref, first_seq=1))[0]
    assert (row["allowance_units"], row["charged_units"]) == (10, 60)

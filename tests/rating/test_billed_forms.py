"""Billed records as billing systems write them (SPEC 1.2): each form is accepted as the value
it names, or refused with a reason. Expected values are worked out by hand beside each test.

Every test parses its line twice: alone (read line by line in Python) and inside a batch of
40 ordinary lines (read by Arrow's columnar reader), so both readers are held to one answer.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal


from rating.records import parse_billed_lines, parse_network_lines

UTC = dt.timezone.utc
GOOD = {"bill_record_id": "b1", "record_id": "r1", "msisdn": "447700000001", "service": "voice",
        "start_time": "2026-11-02T08:15:00Z", "duration_s": 61, "volume_bytes": 0,
        "charge": "0.120000", "billed_at": "2026-11-02T09:00:00Z"}
PLAIN = [json.dumps({**GOOD, "bill_record_id": f"p{i}", "record_id": f"q{i}"}).encode() for i in range(40)]


def bill(**changes) -> bytes:
    return json.dumps({k: v for k, v in {**GOOD, **changes}.items() if v is not ...}).encode()


def raw_bill(fragment: str) -> bytes:
    """A line whose charge is written as the JSON text `fragment` (a number json.dumps cannot write)."""
    return bill(charge="@").replace(b'"@"', fragment.encode())


def both_ways(line: bytes) -> list[tuple[dict | None, str | None]]:
    """(accepted row or None, reject reason or None) for `line` read alone and in a batch."""
    answers = []
    for lines, at in (([line], 0), (PLAIN[:20] + [line] + PLAIN[20:], 20)):
        parsed = parse_billed_lines(lines)
        rows = [r for r in parsed.accepted.to_pylist() if r["position"] == at]
        reasons = [why for pos, why, _ in parsed.rejects if pos == at]
        assert len(rows) + len(reasons) == 1
        assert parsed.accepted.num_rows + len(parsed.rejects) == len(lines)
        answers.append((rows[0] if rows else None, reasons[0] if reasons else None))
    return answers


def accepted(line: bytes) -> dict:
    (alone, why_alone), (batched, why_batched) = both_ways(line)
    assert why_alone is None and why_batched is None, (why_alone, why_batched)
    alone.pop("position"), batched.pop("position")
    assert alone == batched
    return alone


def refused(line: bytes) -> str:
    (alone, why_alone), (batched, why_batched) = both_ways(line)
    assert alone is None and batched is None
    assert why_alone == why_batched
    return why_alone


def money(row: dict) -> tuple[Decimal, str, int]:
    return row["charge"], row["charge_exact"], row["charge_beyond_micro"]


# --- charge ---------------------------------------------------------------------------------

def test_seven_place_charge_is_kept_exact_and_rounded_to_the_micro_unit():
    # 0.1200004 -> 0.120000 (the 7th place is 4, below half); exact minus rounded is +0.0000004
    assert money(accepted(bill(charge="0.1200004"))) == (Decimal("0.120000"), "0.1200004", 1)


def test_seven_place_half_rounds_away_from_zero():
    # 0.1200005 -> 0.120001; exact minus rounded is -0.0000005
    assert money(accepted(bill(charge="0.1200005"))) == (Decimal("0.120001"), "0.1200005", -1)


def test_charge_as_a_json_number_with_eight_places_is_exact():
    assert money(accepted(raw_bill("0.12345678"))) == (Decimal("0.123457"), "0.12345678", -1)


def test_charge_with_more_places_than_arrow_holds_is_exact():
    # 22 places: beyond the columnar reader's 18, read line by line; 0.1234567|8901... -> 0.123457
    assert money(accepted(raw_bill("0.1234567890123456789012"))) == (
        Decimal("0.123457"), "0.1234567890123456789012", -1)


def test_charge_with_an_exponent_as_string_or_number():
    assert money(accepted(bill(charge="1e-3"))) == (Decimal("0.001000"), "0.001", 0)
    assert money(accepted(raw_bill("1E-3"))) == (Decimal("0.001000"), "0.001", 0)
    assert money(accepted(raw_bill("2.5e2"))) == (Decimal("250.000000"), "250", 0)


def test_tiny_charge_below_a_micro_unit_is_zero_with_its_sign_kept():
    # 4e-7 rounds to 0.000000, exact minus rounded +0.0000004
    assert money(accepted(bill(charge="4e-7"))) == (Decimal("0.000000"), "0.0000004", 1)


def test_negative_credit_and_negative_zero():
    assert money(accepted(bill(charge="-0.05"))) == (Decimal("-0.050000"), "-0.05", 0)
    # -0.0000005 is a tie: away from zero gives -0.000001; exact minus rounded +0.0000005
    assert money(accepted(bill(charge="-0.0000005"))) == (Decimal("-0.000001"), "-0.0000005", 1)
    assert money(accepted(raw_bill("-0"))) == (Decimal("0"), "0", 0)
    assert money(accepted(bill(charge="-0"))) == (Decimal("0"), "0", 0)


def test_integer_charge_and_trailing_zeros():
    assert money(accepted(raw_bill("12"))) == (Decimal("12"), "12", 0)
    assert money(accepted(bill(charge="12.50"))) == (Decimal("12.5"), "12.5", 0)


def test_charge_that_is_not_a_number_is_bad_type():
    for written in ('"abc"', '"1_000"', '"NaN"', '"Infinity"', 'true', '"1,5"', '"0x10"', '[1]'):
        assert refused(raw_bill(written)) == "bad_type:charge", written


def test_charge_beyond_the_store_is_bad_value():
    # Decimal(18, 6) holds less than 10^12
    assert refused(raw_bill("1e30")) == "bad_value:charge"
    assert refused(bill(charge="1000000000000")) == "bad_value:charge"
    assert money(accepted(bill(charge="999999999999.999999"))) == (Decimal("999999999999.999999"), "999999999999.999999", 0)


def test_missing_charge_is_named():
    assert refused(bill(charge=...)) == "missing_field:charge"
    assert refused(bill(charge="")) == "missing_field:charge"


# --- other fields ---------------------------------------------------------------------------

def test_service_in_another_case_is_that_service():
    assert accepted(bill(service="VOICE"))["service"] == "voice"
    assert accepted(bill(service="Sms"))["service"] == "sms"


def test_unknown_service_is_still_refused():
    assert refused(bill(service="fax")) == "bad_service"


def test_quantities_as_numeric_strings_or_integral_numbers():
    assert accepted(bill(duration_s="12"))["duration_s"] == 12
    assert accepted(bill(duration_s=12.0))["duration_s"] == 12  # json.dumps writes 12.0
    assert accepted(bill(volume_bytes="1048576"))["volume_bytes"] == 1_048_576


def test_fractional_or_non_numeric_quantity_is_bad_type():
    assert refused(bill(duration_s=12.5)) == "bad_type:duration_s"
    assert refused(bill(duration_s="12.5")) == "bad_type:duration_s"
    assert refused(bill(volume_bytes="lots")) == "bad_type:volume_bytes"
    assert refused(bill(duration_s=2**63)) == "bad_type:duration_s"


def test_negative_quantity_as_string_is_negative():
    assert refused(bill(duration_s="-3")) == "negative:duration_s"


def test_times_with_milliseconds_and_offsets_are_the_same_instant_in_utc():
    row = accepted(bill(start_time="2026-11-02T09:15:00.250+01:00", billed_at="2026-11-02T04:00:00-05:00"))
    assert row["start_time"] == dt.datetime(2026, 11, 2, 8, 15, 0, 250_000, tzinfo=UTC)
    assert row["billed_at"] == dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_time_without_offset_or_with_nanoseconds_is_refused():
    assert refused(bill(start_time="2026-11-02T08:15:00")) == "bad_timestamp:start_time"
    assert refused(bill(billed_at="2026-11-02T09:00:00.123456789Z")) == "bad_timestamp:billed_at"


def test_identifiers_with_surrounding_spaces_are_trimmed():
    row = accepted(bill(record_id="  r1 ", bill_record_id=" b1"))
    assert (row["record_id"], row["bill_record_id"]) == ("r1", "b1")


def test_record_id_of_spaces_only_is_empty_and_bill_record_id_of_spaces_is_missing():
    assert accepted(bill(record_id="   "))["record_id"] == ""
    assert refused(bill(bill_record_id="  ")) == "missing_field:bill_record_id"


def test_extra_fields_are_accepted_and_change_nothing():
    plain = accepted(bill())
    assert accepted(bill(currency="EUR", tariff={"id": 7}, tax="0.024")) == plain


# --- network records written the same ways --------------------------------------------------

NETWORK = {"record_id": "r1", "msisdn": "447700000001", "service": "voice",
           "start_time": "2026-11-02T08:15:00Z", "duration_s": 61, "element_id": "msc-01"}
ORDINARY = [json.dumps({**NETWORK, "record_id": f"n{i}"}).encode() for i in range(40)]


def network_row(**changes) -> dict:
    line = json.dumps({**NETWORK, **changes}).encode()
    rows = []
    for lines, at in (([line], 0), (ORDINARY[:20] + [line] + ORDINARY[20:], 20)):
        parsed = parse_network_lines(lines)
        assert not [r for r in parsed.rejects if r[0] == at], parsed.rejects
        row = next(r for r in parsed.accepted.to_pylist() if r["position"] == at)
        row.pop("position")
        rows.append(row)
    assert rows[0] == rows[1]
    return rows[0]


def test_network_record_in_other_forms_is_the_same_record():
    plain = network_row()
    assert network_row(service="VOICE") == plain
    assert network_row(duration_s="61") == plain
    assert network_row(duration_s=61.0) == plain
    assert network_row(record_id=" r1  ") == plain
    assert network_row(start_time="2026-11-02T09:15:00.000+01:00") == plain
    assert network_row(cause_code=16, charging_id="x") == plain


def test_network_record_with_fractional_duration_is_still_refused():
    assert parse_network_lines([json.dumps({**NETWORK, "duration_s": 6.5}).encode()]).rejects[0][1] == "bad_type:duration_s"

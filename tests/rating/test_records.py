"""SPEC section 1: records in, validated column by column; rejects keep a reason."""
import datetime as dt
import json
from decimal import Decimal

import pytest

from rating.records import (
    ReferenceDataError,
    load_subscribers,
    parse_adjustment_lines,
    parse_network_lines,
)
from tests.rating.scenario import SUBSCRIBERS

GOOD = {"record_id": "r1", "msisdn": "447700000001", "service": "voice",
        "start_time": "2026-11-02T08:15:00+01:00", "duration_s": 61, "destination": "447912345678"}


def line(**changes) -> bytes:
    rec = {**GOOD, **changes}
    return json.dumps({k: v for k, v in rec.items() if v is not ...}).encode()


def reasons(lines: list[bytes]) -> dict[int, str]:
    return {pos: why for pos, why, _ in parse_network_lines(lines).rejects}


def test_offset_timestamp_becomes_utc():
    table = parse_network_lines([line()]).accepted
    # 08:15 at +01:00 is 07:15 UTC
    assert table["start_time"][0].as_py() == dt.datetime(2026, 11, 2, 7, 15, tzinfo=dt.timezone.utc)


def test_optional_fields_default_as_the_contract_says():
    row = parse_network_lines([line(duration_s=..., destination=...)]).accepted.to_pylist()[0]
    assert (row["duration_s"], row["volume_bytes"], row["destination"], row["roaming_mccmnc"], row["cell_id"]) == (0, 0, "", "", None)


def test_not_json_is_rejected_as_bad_json_and_kept_raw():
    parsed = parse_network_lines([line(), b"{not json", line(record_id="r2")])
    assert parsed.rejects == [(1, "bad_json", b"{not json")]
    assert parsed.accepted["position"].to_pylist() == [0, 2]


def test_blank_line_is_rejected_not_dropped():
    assert reasons([b"", line()]) == {0: "bad_json"}


def test_missing_required_field_is_named():
    assert reasons([line(record_id=...)]) == {0: "missing_field:record_id"}
    assert reasons([line(msisdn=None)]) == {0: "missing_field:msisdn"}
    assert reasons([line(start_time="")]) == {0: "missing_field:start_time"}


def test_wrong_json_type_is_bad_type():
    assert reasons([line(duration_s="sixty")]) == {0: "bad_type:duration_s"}
    assert reasons([line(duration_s=6.5)]) == {0: "bad_type:duration_s"}
    assert reasons([line(duration_s="6.5")]) == {0: "bad_type:duration_s"}
    assert reasons([line(msisdn=447700000001)]) == {0: "bad_type:msisdn"}


def test_negative_quantity_is_rejected():
    assert reasons([line(duration_s=-1)]) == {0: "negative:duration_s"}
    assert reasons([line(volume_bytes=-5)]) == {0: "negative:volume_bytes"}


def test_timestamp_without_offset_is_rejected():
    assert reasons([line(start_time="2026-11-02T08:15:00")]) == {0: "bad_timestamp:start_time"}
    assert reasons([line(start_time="yesterday")]) == {0: "bad_timestamp:start_time"}


def test_unknown_service_is_rejected():
    assert reasons([line(service="fax")]) == {0: "bad_service"}


def test_non_digit_msisdn_is_rejected():
    assert reasons([line(msisdn="+447700000001")]) == {0: "bad_value:msisdn"}


def test_every_line_is_accepted_or_rejected_in_a_large_batch():
    lines = [line(record_id=f"r{i}") for i in range(1000)]
    lines[17] = b"]"
    lines[500] = line(duration_s=-3)
    lines[999] = line(start_time="2026-02-30T00:00:00Z")
    parsed = parse_network_lines(lines)
    assert {p: r for p, r, _ in parsed.rejects} == {17: "bad_json", 500: "negative:duration_s", 999: "bad_timestamp:start_time"}
    assert parsed.accepted.num_rows == 997
    assert parsed.accepted["position"].to_pylist() == [i for i in range(1000) if i not in (17, 500, 999)]


def test_adjustment_amount_is_exact_from_string_or_number():
    lines = [
        b'{"adjustment_id":"a1","msisdn":"447700000002","amount":"10.10","time":"2026-11-02T08:00:00Z","kind":"topup"}',
        b'{"adjustment_id":"a2","msisdn":"447700000002","amount":0.1,"time":"2026-11-02T08:00:00Z","kind":"refund"}',
    ]
    parsed = parse_adjustment_lines(lines)
    assert parsed.accepted["amount"].to_pylist() == [Decimal("10.10"), Decimal("0.1")]


def test_adjustment_with_unknown_kind_or_seven_decimals_is_rejected():
    lines = [
        b'{"adjustment_id":"a1","msisdn":"447700000002","amount":"1","time":"2026-11-02T08:00:00Z","kind":"gift"}',
        b'{"adjustment_id":"a2","msisdn":"447700000002","amount":"0.0000001","time":"2026-11-02T08:00:00Z","kind":"topup"}',
    ]
    assert [(p, r) for p, r, _ in parse_adjustment_lines(lines).rejects] == [(0, "bad_kind"), (1, "bad_type:amount")]


def test_subscribers_load_money_as_micro_units():
    subs = load_subscribers(SUBSCRIBERS)
    prepaid = subs.get("447700000002")
    assert (prepaid.plan_id, prepaid.payment, prepaid.balance, prepaid.cycle_day) == ("PAYG", "prepaid", 10_000_000, 1)
    assert subs.get("447700000001").credit_limit == 50_000_000
    assert subs.get("449999999999") is None


def test_subscriber_with_cycle_day_out_of_range_is_refused_with_line_number():
    bad = SUBSCRIBERS.replace("2026-01-01,25,", "2026-01-01,31,")
    with pytest.raises(ReferenceDataError, match=r"subscribers line 8: cycle_day: expected 1-28"):
        load_subscribers(bad)


def test_subscriber_balance_with_seven_decimals_is_refused_naming_line_and_field():
    bad = SUBSCRIBERS.replace(",1,10.00,,", ",1,10.0000001,,")
    with pytest.raises(ReferenceDataError, match=r"subscribers line 3: balance: more than 6 decimal places"):
        load_subscribers(bad)


def test_subscriber_status_defaults_to_active_and_whitespace_is_trimmed():
    text = "msisdn,plan_id,payment,cycle_day,balance\n 447700000009 ,PAYG,prepaid, 3 , 4.5\n"
    sub = load_subscribers(text).get("447700000009")
    assert (sub.status, sub.cycle_day, sub.balance, sub.credit_limit) == ("active", 3, 4_500_000, None)


def test_subscribers_as_a_table_keep_money_exact_and_empty_limits_null():
    from rating.records import SUBSCRIBER_SCHEMA

    table = load_subscribers(SUBSCRIBERS).to_table()
    assert table.schema == SUBSCRIBER_SCHEMA
    first, second = table.to_pylist()[:2]
    assert (first["credit_limit"], first["balance"], first["activated_at"]) == (Decimal("50"), Decimal("0"), "2026-01-01")
    assert (second["credit_limit"], second["balance"]) == (None, Decimal("10"))

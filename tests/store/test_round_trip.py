"""Every column type of migration 0001 goes in and comes out unchanged, over chDB and HTTP."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

RATED_COLUMNS = [
    "record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes", "destination",
    "roaming_mccmnc", "element_id", "cell_id", "plan_id", "payment", "dest_class", "roaming_zone",
    "offpeak", "billable_units", "allowance_units", "charged_units", "charge", "tax", "total",
    "unfunded", "balance_after", "cycle_start", "status", "reason", "source",
]  # fmt: skip
START = datetime(2026, 11, 2, 8, 15, 0, 123000)  # naive = UTC, how the client reads DateTime64(3, 'UTC')
# The largest Decimal(18, 6): 18 digits, 6 of them after the point.
LARGEST = Decimal("999999999999.999999")


def rated_row(record_id, charge, balance_after, offpeak, cycle_start):
    return [
        record_id, "447900000001", "voice", START, 4_294_967_295, 18_446_744_073_709_551_615, "4479123",
        "", "msc-01", "cell-7", "SMART10", "prepaid", "onnet", "", offpeak, 60, 0, 60,
        charge, Decimal("0.000000"), charge, Decimal("0"), balance_after, cycle_start, "rated", "", "file:1",
    ]  # fmt: skip


def test_every_rated_usage_column_type_round_trips(store_client):
    rows = [
        rated_row("r1", Decimal("0.000001"), None, True, None),
        rated_row("r2", LARGEST, Decimal("-0.000001"), False, datetime(2026, 11, 1)),
    ]
    store_client.insert("revguard.rated_usage", rows, column_names=RATED_COLUMNS)
    back = store_client.query(
        f"SELECT {', '.join(RATED_COLUMNS)} FROM revguard.rated_usage FINAL ORDER BY record_id"
    ).result_rows
    assert [list(row) for row in back] == rows


def test_money_columns_come_back_as_exact_decimals(store_client):
    store_client.insert("revguard.rated_usage", [rated_row("r1", Decimal("0.000001"), Decimal("12.345678"), False, None)], column_names=RATED_COLUMNS)
    charge, balance = store_client.query("SELECT charge, balance_after FROM revguard.rated_usage").result_rows[0]
    assert (charge, balance) == (Decimal("0.000001"), Decimal("12.345678"))
    assert isinstance(charge, Decimal)


def test_uint8_and_nullable_decimal_of_subscribers_round_trip(store_client):
    columns = ["msisdn", "account_id", "plan_id", "payment", "status", "activated_at", "cycle_day", "balance", "credit_limit", "segment"]
    rows = [
        ["447900000001", "A1", "SMART10", "prepaid", "active", datetime(2025, 1, 31), 28, Decimal("20.00"), None, "youth"],
        ["447900000002", "A2", "SMART10", "postpaid", "suspended", datetime(2025, 2, 1), 1, None, Decimal("150.5"), ""],
    ]
    store_client.insert("revguard.subscribers", rows, column_names=columns)
    back = store_client.query(f"SELECT {', '.join(columns)} FROM revguard.subscribers FINAL ORDER BY msisdn").result_rows
    assert [list(row) for row in back] == rows


def test_replayed_inserts_keep_one_row_per_key_and_exact_totals(store_client):
    columns = ["bill_record_id", "record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes", "charge", "billed_at"]
    rows = [
        ["b1", "r1", "447900000001", "voice", START, 61, 0, Decimal("0.101667"), START],
        ["b2", "r2", "447900000001", "sms", START, 0, 0, Decimal("0.080000"), START],
        ["b3", "r3", "447900000002", "data", START, 0, 204800, Decimal("0.000001"), START],
    ]
    store_client.insert("revguard.billed_usage", rows, column_names=columns)
    store_client.insert("revguard.billed_usage", rows, column_names=columns)  # the replay after a crash
    count, total = store_client.query("SELECT count(), sum(charge) FROM revguard.billed_usage FINAL").result_rows[0]
    # 0.101667 + 0.080000 + 0.000001 = 0.181668
    assert (count, total) == (3, Decimal("0.181668"))


def test_unknown_table_raises_database_error_with_code_60(store_client):
    with pytest.raises(DatabaseError) as raised:
        store_client.query("SELECT * FROM revguard.no_such_table")
    assert raised.value.code == 60
    assert "UNKNOWN_TABLE" in str(raised.value)


def test_server_side_parameters_are_bound(store_client):
    result = store_client.query("SELECT {msisdn:String} AS m, {n:UInt32} + 1 AS n", parameters={"msisdn": "44'79", "n": 41})
    assert result.result_rows == [("44'79", 42)]


def test_query_settings_reach_the_engine(store_client):
    value = store_client.command("SELECT getSetting('max_block_size')", settings={"max_block_size": 1234})
    assert value == 1234


def test_timestamps_are_read_back_in_utc(store_client):
    aware = datetime(2026, 3, 29, 0, 59, 59, tzinfo=timezone.utc)
    store_client.insert("revguard.provisioning", [["447900000001", "234150000000001", "active", aware]], column_names=["msisdn", "imsi", "status", "provisioned_at"])
    (value,) = store_client.query("SELECT toString(provisioned_at) FROM revguard.provisioning").result_rows[0]
    assert value == "2026-03-29 00:59:59.000"

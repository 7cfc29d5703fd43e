"""TableWriter: buffers until flush or a full batch, writes exact money, fails loudly."""
import uuid
from datetime import datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from clickhouse.arrow_columns import decimal_from_micros
from clickhouse.errors import WriteFailed
from clickhouse.writer import TableWriter

ADJUSTMENT_COLUMNS = ["adjustment_id", "msisdn", "amount", "time", "kind"]


def adjustments(ids, amounts):
    return {
        "adjustment_id": ids,
        "msisdn": ["447900000001"] * len(ids),
        "amount": amounts,
        "time": [datetime(2026, 11, 2, 8, 0)] * len(ids),
        "kind": ["topup"] * len(ids),
    }


def stored_count(client) -> int:
    return client.command("SELECT count() FROM revguard.adjustments")


def test_rows_stay_buffered_until_flush(store_client):
    writer = TableWriter(store_client, "revguard.adjustments", ADJUSTMENT_COLUMNS, batch_rows=10)
    assert writer.add_batch(adjustments(["a1", "a2", "a3"], [Decimal("1")] * 3)) == 0
    assert (writer.rows_buffered, writer.rows_written, stored_count(store_client)) == (3, 0, 0)
    assert writer.flush() == 3
    assert (writer.rows_buffered, writer.rows_written, stored_count(store_client)) == (0, 3, 3)


def test_a_full_buffer_flushes_itself(store_client):
    writer = TableWriter(store_client, "revguard.adjustments", ADJUSTMENT_COLUMNS, batch_rows=5)
    writer.add_batch(adjustments(["a1", "a2", "a3"], [Decimal("1")] * 3))
    # 3 + 3 = 6 rows >= 5: the second add flushes all six in one insert
    assert writer.add_batch(adjustments(["a4", "a5", "a6"], [Decimal("1")] * 3)) == 6
    assert (writer.flushes, writer.rows_written, writer.rows_buffered, stored_count(store_client)) == (1, 6, 0, 6)


def test_money_round_trips_exactly_through_arrow(store_client):
    amounts = [Decimal("0.000001"), Decimal("999999999999.999999"), Decimal("-0.000001"), Decimal("12.345678")]
    with TableWriter(store_client, "revguard.adjustments", ADJUSTMENT_COLUMNS) as writer:
        writer.add_batch(adjustments(["a1", "a2", "a3", "a4"], amounts))
    rows = store_client.query("SELECT amount FROM revguard.adjustments FINAL ORDER BY adjustment_id").result_columns[0]
    assert rows == amounts
    # 0.000001 + 999999999999.999999 - 0.000001 + 12.345678 = 1000000000012.345677
    assert store_client.command("SELECT toString(sum(amount)) FROM revguard.adjustments FINAL") == "1000000000012.345677"


def test_integer_micro_units_become_exact_decimals(store_client):
    micros = np.array([1, -1_500_000, 999_999_999_999_999_999], dtype=np.int64)
    with TableWriter(store_client, "revguard.adjustments", ADJUSTMENT_COLUMNS) as writer:
        writer.add_batch(adjustments(["a1", "a2", "a3"], decimal_from_micros(micros)))
    rows = store_client.query("SELECT amount FROM revguard.adjustments ORDER BY adjustment_id").result_columns[0]
    assert rows == [Decimal("0.000001"), Decimal("-1.500000"), Decimal("999999999999.999999")]


def test_binary_floats_are_refused_for_money(chdb_client):
    writer = TableWriter(chdb_client, "revguard.adjustments", ADJUSTMENT_COLUMNS)
    with pytest.raises(TypeError, match="amount"):
        writer.add_batch(adjustments(["a1"], pa.array([0.1])))
    assert writer.rows_buffered == 0


def test_a_null_in_a_column_that_is_not_nullable_is_refused(chdb_client):
    writer = TableWriter(chdb_client, "revguard.adjustments", ADJUSTMENT_COLUMNS)
    with pytest.raises(ValueError, match="amount"):
        writer.add_batch(adjustments(["a1"], [None]))


def test_a_batch_missing_a_column_is_refused(chdb_client):
    writer = TableWriter(chdb_client, "revguard.adjustments", ADJUSTMENT_COLUMNS)
    batch = adjustments(["a1"], [Decimal("1")])
    del batch["kind"]
    with pytest.raises(ValueError, match="kind"):
        writer.add_batch(batch)


def test_a_failed_flush_raises_and_keeps_the_buffer(store_client):
    table = f"default.writer_probe_{uuid.uuid4().hex[:8]}"
    store_client.command(f"CREATE TABLE {table} (id String, amount Decimal(18, 6)) ENGINE = MergeTree ORDER BY id")
    writer = TableWriter(store_client, table, ["id", "amount"])
    writer.add_batch({"id": ["x", "y"], "amount": [Decimal("1"), Decimal("2")]})
    store_client.command(f"DROP TABLE {table}")
    with pytest.raises(WriteFailed, match=table):
        writer.flush()
    assert (writer.rows_buffered, writer.rows_written) == (2, 0)
    assert writer.discard() == 2


def test_arrow_tables_and_record_batches_are_accepted(chdb_client):
    table = pa.table(adjustments(["a1", "a2"], [Decimal("1"), Decimal("2")]))
    with TableWriter(chdb_client, "revguard.adjustments", ADJUSTMENT_COLUMNS) as writer:
        writer.add_batch(table)
        writer.add_batch(table.to_batches()[0])
    # the same two ids twice: 4 rows written, 2 kept once replaced
    assert writer.rows_written == 4
    assert chdb_client.command("SELECT count() FROM revguard.adjustments FINAL") == 2

"""The rating flow's store writer inserts on a background thread: rows count as durable
(leave the recovery snapshot) only once their insert returned, and a failed insert raises at
the writer's next call instead of being lost."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from clickhouse.errors import WriteFailed
from flows.clickhouse_sink import RatedWriters, StoreRows


def _probe_table(client) -> str:
    table = f"default.background_probe_{uuid.uuid4().hex[:8]}"
    client.command(f"CREATE TABLE {table} (source String, amount Decimal(18, 6)) ENGINE = MergeTree ORDER BY source")
    return table


def _rows(table: str, *sources: str) -> StoreRows:
    return StoreRows(table, ("source", "amount"),
                     pa.table({"source": list(sources), "amount": [Decimal("1.5")] * len(sources)}))


def test_rows_leave_the_snapshot_once_inserted_and_flush_waits_for_them(store_client):
    table = _probe_table(store_client)
    writers = RatedWriters(store_client)
    writers.add_rows(_rows(table, "t:0", "t:1"))
    assert sum(t.num_rows for t in writers.pending()[table]) == 2  # buffered: not durable yet
    writers.flush()
    assert writers.pending() == {}
    assert store_client.query(f"SELECT count(), sum(amount) FROM {table}").result_rows == [(2, Decimal("3"))]
    writers.close()


def test_rows_of_an_insert_in_flight_stay_in_the_snapshot(store_client):
    table = _probe_table(store_client)
    writers = RatedWriters(store_client)
    writers.add_rows(_rows(table, "t:0"))
    writers.hand_off()  # on the insert thread now; the snapshot keeps it until it has returned
    writers.add_rows(_rows(table, "t:1"))
    held = writers.pending()
    in_snapshot = sorted(s for t in held.get(table, []) for s in t["source"].to_pylist())
    assert in_snapshot in (["t:0", "t:1"], ["t:1"])  # t:0 leaves only once inserted
    writers.flush()
    assert writers.pending() == {}
    writers.close()


def test_a_failed_background_insert_raises_at_the_next_call(store_client):
    table = _probe_table(store_client)
    writers = RatedWriters(store_client)
    writers.add_rows(_rows(table, "t:0"))
    store_client.command(f"DROP TABLE {table}")
    writers.hand_off()
    with pytest.raises(WriteFailed, match=table):
        writers.flush()


def test_pending_rows_survive_the_snapshot_round_trip_compressed():
    import pickle

    from flows.clickhouse_sink import PendingRows

    # 60,000 rows of repetitive store-like text: the kind of rows a snapshot holds.
    sources = [f"revguard.usage.network:0:{i}" for i in range(60_000)]
    money = pa.decimal128(18, 6)
    first = pa.table({"source": sources[:30_000], "amount": pa.array([Decimal("0.12")] * 30_000, money)})
    second = pa.table({"source": sources[30_000:50_000], "amount": pa.array([Decimal("2.5")] * 20_000, money)})
    other = pa.table({"source": sources[50_000:], "amount": [Decimal("1.5")] * 10_000})  # decimal(2, 1)
    pending = {"revguard.rated_usage": [first, second, other], "revguard.alerts": []}
    data = pickle.dumps(PendingRows(pending))
    back = pickle.loads(data).tables
    assert list(back) == ["revguard.rated_usage"]  # a table with nothing pending is left out
    same_schema, different = back["revguard.rated_usage"]
    assert same_schema.equals(pa.concat_tables([first, second]))
    assert different.equals(other)
    assert len(data) * 4 < len(pickle.dumps(pending))  # compressed: a fraction of a plain pickle


def test_a_snapshot_holds_the_rows_of_a_flush_in_flight_and_of_the_buffer(store_client):
    import pickle
    import threading

    table = _probe_table(store_client)
    writers = RatedWriters(store_client)
    gate = threading.Event()
    writers._inserter.submit(gate.wait)  # the insert thread is busy: the next flush stays in flight
    writers.add_rows(_rows(table, "t:0", "t:1", "t:2"))
    writers.hand_off()  # in flight; its rows are compressed on the packing thread meanwhile
    writers.add_rows(_rows(table, "t:9"))  # still buffered
    snapshot = pickle.loads(pickle.dumps(writers.pending_rows()))
    held = pa.concat_tables(snapshot.tables[table])
    assert held["source"].to_pylist() == ["t:0", "t:1", "t:2", "t:9"]  # in-flight rows first, each once
    gate.set()
    writers.close()
    assert store_client.query(f"SELECT count() FROM {table}").result_rows[0][0] == 4

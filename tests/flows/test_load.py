"""`revguard load DIR`: reference data, billed and network records into ClickHouse, rated on the way."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flows.load import load_directory


def final_count(client, table: str, where: str = "1") -> int:
    return client.query(f"SELECT count() FROM revguard.{table} FINAL WHERE {where}").result_rows[0][0]


def test_load_writes_every_table_and_counts_add_up(store_client, small_dir: Path) -> None:
    summary = load_directory(store_client, small_dir)
    assert (summary["subscribers"], summary["provisioning"], summary["catalog"]) == (2, 3, 1)
    assert (summary["adjustments"], summary["billed_usage"], summary["billed_rejected"]) == (2, 2, 1)
    # 8 network lines: "not json" is a dead letter; the other 7 parsed rows are in rated_usage.
    statuses = dict(store_client.query(
        "SELECT status, count() FROM revguard.rated_usage FINAL GROUP BY status").result_rows)
    assert statuses == {"rated": 5, "duplicate": 1, "rejected": 1}
    assert final_count(store_client, "rejects", "stream = 'network'") == 2  # bad_json + unknown_subscriber
    assert final_count(store_client, "rejects", "stream = 'billed'") == 1
    # in = rated + duplicate + rejected: 8 = 5 + 1 + 2
    rejected = final_count(store_client, "rejects", "stream = 'network'")
    assert statuses["rated"] + statuses["duplicate"] + rejected == 8
    # network_usage keeps one row per record_id seen: r1..r6.
    assert final_count(store_client, "network_usage") == 6


def test_loaded_charges_and_balances_are_exact(store_client, small_dir: Path) -> None:
    load_directory(store_client, small_dir)
    (total,) = store_client.query(
        "SELECT sum(charge) FROM revguard.rated_usage FINAL WHERE status = 'rated'").result_rows[0]
    # r1 0 + r2 0.40 + r3 0.0915 + r4 0.10 + r6 0.10
    assert total == Decimal("0.691500")
    balances = dict(store_client.query(
        "SELECT msisdn, balance FROM revguard.balances FINAL WHERE payment = 'prepaid'").result_rows)
    # 1.00 - 0.48 - 0.12 + 5.00 - 0.12 = 5.28, then the 1.00 top-up of 3 November: 6.28.
    assert balances == {"447900000002": Decimal("6.280000")}
    (cycle_total,) = store_client.query(
        "SELECT cycle_total FROM revguard.balances FINAL WHERE msisdn = '447900000001'").result_rows[0]
    assert cycle_total == Decimal("0.109800")  # r3's total; r1 was inside the allowance


def test_loading_twice_does_not_double_count(store_client, small_dir: Path) -> None:
    load_directory(store_client, small_dir)
    first = {t: final_count(store_client, t) for t in ("rated_usage", "network_usage", "billed_usage",
                                                     "adjustments", "rejects", "balances", "subscribers")}
    load_directory(store_client, small_dir)
    again = {t: final_count(store_client, t) for t in first}
    assert again == first


def test_reference_only_loads_catalog_subscribers_and_provisioning(store_client, small_dir: Path) -> None:
    summary = load_directory(store_client, small_dir, reference_only=True)
    assert set(summary) == {"catalog", "subscribers", "provisioning"}
    assert final_count(store_client, "rated_usage") == 0
    assert final_count(store_client, "subscribers") == 2

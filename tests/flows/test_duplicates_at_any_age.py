"""SPEC rule 1 at any age in `revguard rate` and `revguard load`: a record re-delivered 3, 10
or 40 days after its first delivery (after later records of its subscriber) is a
`duplicate`, never charged twice; 40 days on its cycle is closed, but it was rated, so it is
a duplicate, not `cycle_closed`. A late first delivery is rated."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from flows.load import load_directory
from flows.rate_file import rate_file
from tests.flows.conftest import usage

SUBSCRIBER = "447900000001"  # SMART10 postpaid, cycle_day 1 (tests.flows.conftest)
FIRST = dt.datetime(2026, 10, 28, 10, tzinfo=dt.timezone.utc)  # Wednesday, peak, October's cycle


def at(days: int, minutes: int = 0) -> str:
    return (FIRST + dt.timedelta(days=days, minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


# 60 s abroad at 0.80/min, less the 10 % overage discount: 0.72 (no allowance abroad).
R1 = usage("r1", SUBSCRIBER, "voice", at(0), 60, destination="33612345678")


def later_records(days: int, count: int = 1) -> list[str]:
    return [usage(f"l{i}", SUBSCRIBER, "sms", at(days, i)) for i in range(count)]


def write_network(directory: Path, lines: list[str]) -> None:
    (directory / "network.ndjson").write_text("\n".join(lines) + "\n")
    for name in ("billed.ndjson", "adjustments.ndjson"):
        (directory / name).unlink(missing_ok=True)


def rated_lines(directory: Path, tmp_path: Path) -> tuple[dict, list[dict]]:
    out = tmp_path / "rated.ndjson"
    counts = rate_file(directory / "catalog.yaml", directory / "subscribers.csv", directory / "network.ndjson", out)
    return counts, [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.parametrize("days", [3, 10, 40])
def test_rate_file_re_delivery_days_later_is_a_duplicate(small_dir: Path, tmp_path: Path, days: int) -> None:
    write_network(small_dir, [R1, *later_records(days), R1])
    counts, rows = rated_lines(small_dir, tmp_path)
    assert [(r["record_id"], r["status"], r["reason"], r["charge"]) for r in rows] == [
        ("r1", "rated", None, "0.720000"),
        ("l0", "rated", None, "0.000000"),  # the cycle's one free SMS
        ("r1", "duplicate", "duplicate_record_id", None),
    ]
    assert (counts["in"], counts["rated"], counts["duplicate"], counts["rejected"]) == (3, 2, 1, 0)


def test_rate_file_remembers_every_id_of_the_run_past_thousands_of_later_records(small_dir: Path, tmp_path: Path) -> None:
    # 5,000 later ids: the state's id table is rebuilt several times after the horizon moved on.
    write_network(small_dir, [R1, *later_records(10, 5000), R1])
    counts, rows = rated_lines(small_dir, tmp_path)
    assert (rows[0]["status"], rows[-1]["status"]) == ("rated", "duplicate")
    assert (counts["rated"], counts["duplicate"]) == (5001, 1)


def test_rate_file_late_first_delivery_is_rated(small_dir: Path, tmp_path: Path) -> None:
    write_network(small_dir, [*later_records(10), R1])
    _, rows = rated_lines(small_dir, tmp_path)
    assert [(r["record_id"], r["status"], r["charge"]) for r in rows] == [("l0", "rated", "0.000000"),
                                                                         ("r1", "rated", "0.720000")]


def rated_of_store(client) -> list[tuple]:
    return sorted(client.query(
        "SELECT record_id, status, source, toString(charge) FROM revguard.rated_usage FINAL").result_rows)


@pytest.mark.parametrize("days", [3, 10, 40])
def test_load_re_delivery_days_later_in_the_same_directory_is_a_duplicate(store_client, small_dir: Path, days: int) -> None:
    write_network(small_dir, [R1, *later_records(days), R1])
    load_directory(store_client, small_dir)
    assert rated_of_store(store_client) == [
        ("l0", "rated", "network.ndjson:2", "0"),
        ("r1", "duplicate", "network.ndjson:3", "0"),
        ("r1", "rated", "network.ndjson:1", "0.72"),
    ]


@pytest.mark.parametrize("days", [3, 10, 40])
def test_load_of_a_later_directory_re_delivering_a_stored_record_marks_it_duplicate(
    store_client, small_dir: Path, tmp_path: Path, days: int
) -> None:
    write_network(small_dir, [R1, *later_records(days)])
    load_directory(store_client, small_dir)
    # Mediation re-sends the file days late, beside a new record and a late first delivery.
    resent = tmp_path / "resent"
    resent.mkdir()
    for name in ("catalog.yaml", "subscribers.csv"):
        (resent / name).write_text((small_dir / name).read_text())
    late_first = usage("r9", SUBSCRIBER, "voice", at(0, 5), 60, destination="33612345678")
    write_network(resent, [usage("n1", SUBSCRIBER, "sms", at(days, 30)), R1, late_first])
    load_directory(store_client, resent)
    assert rated_of_store(store_client) == sorted([
        ("r1", "rated", "network.ndjson:1", "0.72"),
        ("l0", "rated", "network.ndjson:2", "0"),
        ("n1", "rated", "network.ndjson:1", "0"),  # each load starts its allowances afresh: a free SMS
        ("r1", "duplicate", "network.ndjson:2", "0"),
        ("r9", "rated" if days < 40 else "rejected", "network.ndjson:3", "0.72" if days < 40 else "0"),
    ])
    (charged,) = store_client.query(
        "SELECT sum(charge) FROM revguard.rated_usage FINAL WHERE record_id = 'r1'").result_rows[0]
    assert charged == Decimal("0.72")  # once


def test_loading_a_directory_twice_still_replaces_rather_than_marks_duplicates(store_client, small_dir: Path) -> None:
    write_network(small_dir, [R1, *later_records(10), usage("r0", SUBSCRIBER, "sms", at(0, 1))])
    load_directory(store_client, small_dir)
    first = rated_of_store(store_client)
    load_directory(store_client, small_dir)
    assert rated_of_store(store_client) == first
    assert ("r0", "rated", "network.ndjson:3", "0") in first  # late, asked about, and its own row (October's free SMS)

"""`revguard rate`: a file through the rating dataflow, one output line per input line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.rate_file import rate_file


def rated(small_dir: Path, tmp_path: Path, adjustments: bool = True, name: str = "rated", **kwargs) -> tuple[dict, list[dict]]:
    out = tmp_path / f"{name}.ndjson"
    counts = rate_file(
        catalog=small_dir / "catalog.yaml",
        subscribers=small_dir / "subscribers.csv",
        usage=small_dir / "network.ndjson",
        adjustments=small_dir / "adjustments.ndjson" if adjustments else None,
        output=out,
        **kwargs,
    )
    return counts, [json.loads(line) for line in out.read_text().splitlines()]


def test_one_output_line_per_input_line_in_input_order(small_dir: Path, tmp_path: Path) -> None:
    _, rows = rated(small_dir, tmp_path)
    assert [r.get("record_id") for r in rows] == ["r1", "r2", "", "r3", "r1", "r4", "r5", "r6"]


def test_counts_add_up_in_equals_rated_plus_duplicate_plus_rejected(small_dir: Path, tmp_path: Path) -> None:
    counts, _ = rated(small_dir, tmp_path)
    # r1 r2 r3 r4 r6 rated; the second r1 a duplicate; "not json" and unknown r5 rejected.
    assert counts["in"] == 8
    assert (counts["rated"], counts["duplicate"], counts["rejected"]) == (5, 1, 2)


def test_every_line_has_a_status_and_rejects_have_a_reason(small_dir: Path, tmp_path: Path) -> None:
    _, rows = rated(small_dir, tmp_path)
    assert [r["status"] for r in rows] == [
        "rated", "rated", "rejected", "rated", "duplicate", "rated", "rejected", "rated"]
    assert rows[2]["reason"] == "bad_json" and rows[2]["raw"] == "not json"
    assert rows[6]["reason"] == "unknown_subscriber"


def test_postpaid_allowance_split_and_discount(small_dir: Path, tmp_path: Path) -> None:
    _, rows = rated(small_dir, tmp_path)
    # r1: 61 s on-net, 60/1 rounding -> 61 s, all from the 120 s allowance.
    assert (rows[0]["billable_units"], rows[0]["allowance_units"], rows[0]["charge"]) == (61, 61, "0.000000")
    # r3: 120 s national; 120 - 61 = 59 s of allowance left, 61 s charged at 0.10/min less 10 %:
    # 0.10 * 61 / 60 * 0.9 = 0.0915; tax 0.0183; total 0.1098.
    r3 = rows[3]
    assert (r3["allowance_units"], r3["charged_units"]) == (59, 61)
    assert (r3["charge"], r3["tax"], r3["total"]) == ("0.091500", "0.018300", "0.109800")
    assert r3["balance_after"] is None


def test_prepaid_balance_and_topup_placed_by_time(small_dir: Path, tmp_path: Path) -> None:
    _, rows = rated(small_dir, tmp_path)
    # r2: 61 s at 60/60 -> 120 s national at 0.20/min = 0.40 + 0.08 tax; 1.00 - 0.48 = 0.52.
    assert (rows[1]["charge"], rows[1]["total"], rows[1]["balance_after"]) == ("0.400000", "0.480000", "0.520000")
    # r4 at 09:00: SMS 0.10 + 0.02 tax; 0.52 - 0.12 = 0.40 (the 09:30 top-up is still ahead).
    assert rows[5]["balance_after"] == "0.400000"
    # r6 at 10:00: the 5.00 top-up of 09:30 applies first; 0.40 + 5.00 - 0.12 = 5.28.
    assert rows[7]["balance_after"] == "5.280000"


def test_without_adjustments_the_prepaid_balance_runs_out(small_dir: Path, tmp_path: Path) -> None:
    _, rows = rated(small_dir, tmp_path, adjustments=False)
    # r6 with no top-up: 0.40 - 0.12 = 0.28, still covered.
    assert rows[7]["balance_after"] == "0.280000"
    assert rows[7]["unfunded"] == "0.000000"


@pytest.mark.parametrize("batch_lines", [1, 3, 1000])
def test_batch_size_does_not_change_the_output(small_dir: Path, tmp_path: Path, batch_lines: int) -> None:
    _, whole = rated(small_dir, tmp_path, name="whole", batch_lines=100_000)
    _, split = rated(small_dir, tmp_path, name="split", batch_lines=batch_lines)
    assert split == whole


def test_two_workers_write_the_same_file_as_one(small_dir: Path, tmp_path: Path) -> None:
    counts_one, one = rated(small_dir, tmp_path, name="one", workers=1, batch_lines=2)
    counts_two, two = rated(small_dir, tmp_path, name="two", workers=2, batch_lines=2)
    assert two == one
    assert counts_two == counts_one


@pytest.mark.parametrize("workers", [2, 3])
def test_any_number_of_workers_writes_the_same_bytes_as_one(operator_dir: Path, tmp_path: Path, workers: int) -> None:
    # Small batches: dozens of them, parsed by the workers in turn and reaching each shard
    # out of order. Every shard must still rate its subscribers' records in input order.
    def output(count: int) -> tuple[dict, bytes]:
        out = tmp_path / f"rated-{count}.ndjson"
        counts = rate_file(operator_dir / "catalog.yaml", operator_dir / "subscribers.csv",
                           operator_dir / "network.ndjson", out, operator_dir / "adjustments.ndjson",
                           batch_lines=97, workers=count)
        return counts, out.read_bytes()

    counts_one, one = output(1)
    counts_many, many = output(workers)
    assert counts_one["rejected"] >= 2 and counts_one["in"] == len(one.splitlines())
    assert counts_many == counts_one
    assert many == one

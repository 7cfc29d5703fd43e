"""Churn mode of the simulator: who leaves, when, and what their records show."""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from flows.simulator import simulate


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def churn_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("churn-sim")
    simulate(out, subscribers=600, days=120, seed=4, start=date(2026, 11, 1), progress=False, workers=1,
             churn_mode=True)
    return out


def test_truth_has_one_line_per_subscriber_and_leavers_are_terminated(churn_dir: Path) -> None:
    truth = [json.loads(line) for line in (churn_dir / "churn.ndjson").read_text().splitlines()]
    assert len(truth) == 600 and len({t["msisdn"] for t in truth}) == 600
    status = {row["msisdn"]: row["status"] for row in csv.DictReader((churn_dir / "subscribers.csv").open())}
    for t in truth:
        if t["msisdn"] in status:            # unbilled subscribers are missing from billing by design
            assert (status[t["msisdn"]] == "terminated") == (t["churned_at"] is not None)


def test_monthly_churn_is_about_two_percent(churn_dir: Path) -> None:
    truth = [json.loads(line) for line in (churn_dir / "churn.ndjson").read_text().splitlines()]
    leavers = sum(1 for t in truth if t["churned_at"])
    monthly = leavers / len(truth) / (120 / 30)
    assert 0.01 <= monthly <= 0.04, monthly


def test_nothing_happens_after_leaving_and_stopped_topups_stay_stopped(churn_dir: Path) -> None:
    truth = {t["msisdn"]: t for t in map(json.loads, (churn_dir / "churn.ndjson").read_text().splitlines())}
    last_use: dict[str, datetime] = {}
    for line in (churn_dir / "network.ndjson").read_text().splitlines():
        record = json.loads(line)
        when = stamp(record["start_time"])
        last_use[record["msisdn"]] = max(when, last_use.get(record["msisdn"], when))
    topups = defaultdict(list)
    for line in (churn_dir / "adjustments.ndjson").read_text().splitlines():
        adjustment = json.loads(line)
        if adjustment["kind"] == "topup":
            topups[adjustment["msisdn"]].append(stamp(adjustment["time"]))
    leavers = [m for m, t in truth.items() if t["churned_at"]]
    assert leavers
    for msisdn in leavers:
        if msisdn in last_use:
            assert last_use[msisdn] < stamp(truth[msisdn]["churned_at"])
    stopped = [m for m, t in truth.items() if t["topups_stopped_from"]]
    assert stopped
    for msisdn in stopped:
        assert all(t < stamp(truth[msisdn]["topups_stopped_from"]) for t in topups[msisdn]), msisdn


def test_leavers_were_more_often_disengaged_than_stayers(churn_dir: Path) -> None:
    truth = [json.loads(line) for line in (churn_dir / "churn.ndjson").read_text().splitlines()]
    def share(rows):
        return sum(1 for t in rows if t["disengaged_from"]) / max(1, len(rows))
    leavers = [t for t in truth if t["churned_at"]]
    stayers = [t for t in truth if not t["churned_at"]]
    assert share(leavers) > 2 * share(stayers)


def test_default_simulation_writes_no_churn_file(tmp_path: Path) -> None:
    simulate(tmp_path / "plain", subscribers=20, days=2, seed=4, progress=False, workers=1)
    assert not (tmp_path / "plain" / "churn.ndjson").exists()

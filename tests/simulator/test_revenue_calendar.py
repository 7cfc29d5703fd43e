"""The revenue calendar: a month-start bump and a tariff step, only when asked for."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

from flows.simulator import simulate
from flows.simulator.revenue_calendar import (
    MONTH_START_FACTOR, TARIFF_CHANGE_DATE, TARIFF_CHANGE_FACTOR, day_factors)


def test_day_factors_bump_month_starts_and_step_at_the_tariff_change() -> None:
    factors = day_factors(date(2026, 12, 30), 20)      # 30 Dec .. 18 Jan
    assert factors[:2].tolist() == [1.0, 1.0]
    assert factors[2:5].tolist() == [MONTH_START_FACTOR] * 3          # 1–3 January
    assert factors[5] == 1.0
    assert TARIFF_CHANGE_DATE == date(2027, 1, 15)
    assert factors[16:].tolist() == [TARIFF_CHANGE_FACTOR] * 4         # 15–18 January


def network_per_day(out: Path) -> Counter:
    days: Counter = Counter()
    with (out / "network.ndjson").open() as lines:
        for line in lines:
            days[json.loads(line)["start_time"][:10]] += 1
    return days


def test_history_shows_the_month_start_bump_and_the_tariff_step(tmp_path: Path) -> None:
    simulate(tmp_path / "sim", subscribers=120, days=48, seed=4, start=date(2026, 12, 15), fault_rate=0,
             progress=False, revenue_calendar=True)
    days = network_per_day(tmp_path / "sim")
    starts = np.mean([days[f"2027-01-0{d}"] for d in (1, 2, 3)])
    # the same weekdays a week later (8–10 January: Friday–Sunday like 1–3 January)
    plain = np.mean([days[f"2027-01-{d:02d}"] for d in (8, 9, 10)])
    assert starts / plain > 1.2
    before = np.mean([days[f"2027-01-{d:02d}"] for d in range(4, 15)])
    after = np.mean([days[f"2027-01-{d:02d}"] for d in range(15, 26)])
    assert after / before > 1.1


def digest(out: Path) -> str:
    return hashlib.sha256(b"".join((out / name).read_bytes() for name in sorted(p.name for p in out.iterdir()))).hexdigest()


def test_history_with_the_calendar_is_the_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    kwargs = dict(subscribers=40, days=40, seed=2, start=date(2026, 12, 20), progress=False, revenue_calendar=True)
    simulate(tmp_path / "one", workers=1, **kwargs)
    simulate(tmp_path / "two", workers=2, **kwargs)
    assert digest(tmp_path / "one") == digest(tmp_path / "two")


def test_calendar_is_off_unless_asked_for(tmp_path: Path) -> None:
    kwargs = dict(subscribers=30, days=20, seed=2, start=date(2026, 12, 25), progress=False, workers=1)
    simulate(tmp_path / "plain", **kwargs)
    simulate(tmp_path / "calendar", revenue_calendar=True, **kwargs)
    assert digest(tmp_path / "plain") != digest(tmp_path / "calendar")
    simulate(tmp_path / "again", **kwargs)
    assert digest(tmp_path / "plain") == digest(tmp_path / "again")

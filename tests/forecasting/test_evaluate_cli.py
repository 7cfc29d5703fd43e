"""`revguard forecast evaluate` on CSV files: the rows it writes and the mistakes it refuses."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.flows.test_cli import one_error_line, revguard

WEEK = [10.0, 12.0, 15.0, 11.0, 9.0, 30.0, 25.0]


def write_series(path: Path, values, start="2026-01-01", freq="D", time_col="day", value_col="revenue") -> Path:
    times = pd.date_range(start, periods=len(values), freq=freq)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([time_col, value_col])
        writer.writerows([[t.strftime("%Y-%m-%d"), f"{v:.2f}"] for t, v in zip(times, values)])
    return path


def evaluate(csv_path: Path, output: Path, *extra: str):
    return revguard("forecast", "evaluate", "--csv", str(csv_path), "--time-col", "day", "--value-col", "revenue",
                    "--output", str(output), *extra)


def test_pure_weekly_cycle_rows_are_exact_with_zero_width_intervals(tmp_path: Path) -> None:
    source = write_series(tmp_path / "weekly.csv", WEEK * 20)           # 140 days
    result = evaluate(source, tmp_path / "out.csv", "--horizon", "7", "--origins", "8")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert list(rows[0]) == ["origin", "time", "actual", "forecast", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(rows) == 8 * 7
    # the last origin is the day before the final week: 2026-05-13, its steps the last 7 days
    assert rows[-7]["origin"] == "2026-05-13" and rows[-1]["time"] == "2026-05-20"
    for row in rows:
        assert row["actual"] == row["forecast"] == row["lower_80"] == row["upper_95"]


def test_monthly_series_frequency_is_inferred(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    values = 100 + 10 * np.sin(np.arange(120) * 2 * np.pi / 12) + rng.normal(0, 1, 120)
    source = write_series(tmp_path / "monthly.csv", values, start="2010-01-01", freq="MS")
    result = evaluate(source, tmp_path / "out.csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert len(rows) == 8 * 12                                           # a season of 12 months ahead
    assert rows[-1]["time"] == "2019-12-01"
    assert "in 80" in result.stdout and "seasonal_naive" in result.stdout


def test_missing_column_is_one_line_naming_it(tmp_path: Path) -> None:
    source = write_series(tmp_path / "s.csv", WEEK * 20)
    result = revguard("forecast", "evaluate", "--csv", str(source), "--time-col", "day", "--value-col", "amount",
                      "--output", str(tmp_path / "out.csv"))
    assert result.returncode == 2
    assert "no column 'amount'" in one_error_line(result)


def test_value_that_is_not_a_number_is_one_line_with_its_line(tmp_path: Path) -> None:
    source = write_series(tmp_path / "s.csv", WEEK * 20)
    text = source.read_text().splitlines()
    text[5] = "2026-01-05,twelve"
    source.write_text("\n".join(text) + "\n")
    result = evaluate(source, tmp_path / "out.csv")
    assert result.returncode == 2
    assert "line 6: 'twelve'" in one_error_line(result)


def test_file_that_is_not_csv_text_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "s.csv"
    source.write_bytes(b"\xff\xfe\x00\x01binary")
    result = evaluate(source, tmp_path / "out.csv")
    assert result.returncode == 2
    assert "not a text CSV" in one_error_line(result)


def test_too_few_points_for_season_and_horizon_is_one_line(tmp_path: Path) -> None:
    source = write_series(tmp_path / "s.csv", WEEK * 8)                 # 56 days
    result = evaluate(source, tmp_path / "out.csv", "--horizon", "14")
    assert result.returncode == 2
    line = one_error_line(result)
    assert "56 points" in line and "needs at least" in line
    assert not (tmp_path / "out.csv").exists()


def test_missing_days_are_one_line_naming_the_first(tmp_path: Path) -> None:
    source = write_series(tmp_path / "s.csv", WEEK * 20)
    lines = source.read_text().splitlines()
    del lines[10]                                                        # 2026-01-10
    source.write_text("\n".join(lines) + "\n")
    result = evaluate(source, tmp_path / "out.csv", "--freq", "D")
    assert result.returncode == 2
    assert "2026-01-10" in one_error_line(result)


@pytest.mark.parametrize("option", [["--season", "0"], ["--freq", "fortnightly"]])
def test_impossible_season_or_frequency_is_one_line(tmp_path: Path, option: list[str]) -> None:
    source = write_series(tmp_path / "s.csv", WEEK * 20)
    result = evaluate(source, tmp_path / "out.csv", *option)
    assert result.returncode == 2
    one_error_line(result)

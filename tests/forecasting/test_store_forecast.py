"""Revenue series from the store and `revguard forecast` runs written to `revenue_forecasts`."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from forecasting.errors import ForecastInputError
from forecasting.runs import run_forecast, store_backtests
from forecasting.store_series import revenue_history
from tests.assurance.rows import rated_row
from tests.flows.test_cli import one_error_line, revguard

DAY0 = datetime(2026, 11, 2, 9, 0)
WEEK = ["1.10", "1.20", "1.50", "1.10", "0.90", "3.00", "2.50"]


def insert_rated(client, rows: list[dict]) -> None:
    names = list(rows[0])
    client.insert("revguard.rated_usage", [[row[n] for n in names] for row in rows], column_names=names)


def weekly_rows(days: int, first: int = 0) -> list[dict]:
    """Per day: voice WEEK[d % 7], sms 0.05 × (1 + d % 7 % 3), data 2.000001; one duplicate that must not count."""
    rows = []
    for d in range(first, first + days):
        t = DAY0 + timedelta(days=d)
        rows.append(rated_row(f"v{d}", WEEK[d % 7], start_time=t))
        rows.append(rated_row(f"s{d}", f"{Decimal('0.05') * (1 + d % 7 % 3)}", service="sms", start_time=t))
        rows.append(rated_row(f"d{d}", "2.000001", service="data", start_time=t))
        rows.append(rated_row(f"x{d}", "9.99", status="duplicate", start_time=t))
    return rows


def test_daily_revenue_by_service_sums_rated_rows_exactly_and_fills_empty_days(chdb_client) -> None:
    insert_rated(chdb_client, weekly_rows(3) + weekly_rows(2, first=4))   # day 3 has no usage
    history = revenue_history(chdb_client, "service")
    assert list(history.series) == ["service=data", "service=sms", "service=voice"]
    assert [d.date().isoformat() for d in history.days] == ["2026-11-02", "2026-11-03", "2026-11-04",
                                                             "2026-11-05", "2026-11-06", "2026-11-07"]
    assert history.exact["service=voice"] == [Decimal(v) for v in ("1.10", "1.20", "1.50", "0", "0.90", "3.00")]
    assert history.exact["service=data"][3] == 0 and history.exact["service=data"][0] == Decimal("2.000001")
    assert history.total[0] == Decimal("1.10") + Decimal("0.05") + Decimal("2.000001")


def test_forecast_by_service_adds_up_to_the_total_on_every_day(store_client) -> None:
    insert_rated(store_client, weekly_rows(84))
    run = run_forecast(store_client, horizon=30, by="service")
    rows = store_client.query(
        "SELECT series, date, point, lower_80, upper_95 FROM revguard.revenue_forecasts FINAL WHERE run_id = {r:String}",
        parameters={"r": run.run_id}).result_rows
    assert len(rows) == 4 * 30
    by_day: dict = {}
    for series, day, point, lower, upper in rows:
        by_day.setdefault(day, {})[series] = point
        assert lower <= point <= upper
    for day, points in by_day.items():
        assert points["total"] == points["service=voice"] + points["service=sms"] + points["service=data"], day


def test_forecast_of_a_pure_weekly_cycle_repeats_it(chdb_client) -> None:
    insert_rated(chdb_client, weekly_rows(84))          # day 84 is weekday position 0 again
    run = run_forecast(chdb_client, horizon=14, by="service")
    voice = run.exact_points["service=voice"]
    assert voice == [Decimal(WEEK[d % 7]) for d in range(14)]


def test_month_end_projection_is_month_to_date_plus_the_remaining_forecast(chdb_client) -> None:
    insert_rated(chdb_client, weekly_rows(84))          # 2026-11-02 .. 2027-01-24
    run = run_forecast(chdb_client, horizon=30, by="total")
    january_so_far = sum(float(v) for v in run_history_total(chdb_client)[-24:])
    assert run.projection.month.strftime("%Y-%m") == "2027-01"
    assert run.projection.remaining == 7
    assert run.projection.point == pytest.approx(january_so_far + float(sum(run.exact_points["total"][:7])), abs=1e-5)


def run_history_total(client) -> list[Decimal]:
    return revenue_history(client, "service").total


def test_forecast_csv_holds_the_rows_written(chdb_client, tmp_path: Path) -> None:
    insert_rated(chdb_client, weekly_rows(84))
    run_forecast(chdb_client, horizon=10, by="total", output=tmp_path / "f.csv")
    rows = list(csv.DictReader((tmp_path / "f.csv").open()))
    assert [r["series"] for r in rows] == ["total"] * 10
    assert list(rows[0]) == ["series", "date", "point", "lower_80", "upper_80", "lower_95", "upper_95", "model"]
    assert rows[0]["date"] == "2027-01-25" and rows[0]["model"] == "bottom_up(service)"


def test_next_run_scores_the_last_run_on_the_days_since(chdb_client) -> None:
    insert_rated(chdb_client, weekly_rows(84))
    first = run_forecast(chdb_client, horizon=14, by="total")
    assert first.previous is None
    insert_rated(chdb_client, weekly_rows(5, first=84))
    second = run_forecast(chdb_client, horizon=14, by="total")
    assert second.previous.run_id == first.run_id
    assert second.previous.days == 5
    assert second.previous.mean_abs_error == 0          # a pure cycle was forecast exactly
    assert second.previous.inside == {80: 1.0, 95: 1.0}


def test_backtest_reports_every_service_and_the_total(chdb_client) -> None:
    insert_rated(chdb_client, weekly_rows(120))
    results = store_backtests(chdb_client, horizon=14, origins=8, by="service")
    assert [b.series for b in results] == ["service=data", "service=sms", "service=voice", "total"]
    assert all(b.origins == 8 for b in results)
    assert results[-1].chosen.mase == pytest.approx(0.0, abs=1e-9)   # sums of exact cycles are exact


def test_history_too_short_is_one_clear_error(chdb_client) -> None:
    insert_rated(chdb_client, weekly_rows(20))
    with pytest.raises(ForecastInputError, match="20 points"):
        run_forecast(chdb_client, horizon=30)


def test_forecast_on_an_empty_store_is_one_line_and_exit_2(store_home: Path) -> None:
    result = revguard("forecast", home=store_home)
    assert result.returncode == 2
    assert "no rated usage" in one_error_line(result)

"""Forecast page (finance): the month-end projection, a run's bands and CSV, the money known beside
the forecast and the backtest, on a store whose figures are worked out by hand.

The store: 120 days from 2026-11-02 of a pure weekly cycle per service (voice, sms, data), so
every model is exact and seasonal naive repeats the week; one SMART10 subscriber (10.00 a
month on cycle day 1); one unbilled finding of 1.50 on 2026-12-05; 2.25 recovered on 2027-02-10.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from streamlit.testing.v1 import AppTest

from dashboards.layout import money
from forecasting.runs import run_forecast
from tests.assurance.rows import subscriber_row
from tests.dashboards.conftest import APP
from tests.flows.conftest import CATALOG
from tests.forecasting.test_store_forecast import WEEK, insert_rated, weekly_rows

PAGE = "views/forecast.py"
DAYS = 120                                   # 2026-11-02 .. 2027-03-01


def day_total(d: int) -> Decimal:
    """The seeded revenue of day d: voice WEEK[d % 7], sms 0.05 · (1 + d % 7 % 3), data 2.000001."""
    return Decimal(WEEK[d % 7]) + Decimal("0.05") * (1 + d % 7 % 3) + Decimal("2.000001")


def seed_forecast_store(client) -> None:
    client.insert("revguard.catalog", [["c1", CATALOG]], column_names=["checksum", "yaml"])
    row = subscriber_row("447900000001")
    client.insert("revguard.subscribers", [list(row.values())], column_names=list(row))
    insert_rated(client, weekly_rows(DAYS))
    client.insert("revguard.discrepancies", [[
        "F1", "unbilled", "v33", "", "447900000001", "msc-01", Decimal("1.50"), datetime(2026, 12, 5, 9),
        datetime(2027, 3, 2), "{}"]], column_names=["finding_id", "kind", "record_id", "bill_record_id", "msisdn",
                                                    "element_id", "amount", "event_time", "detected_at", "evidence"])
    client.insert("revguard.case_events", [["K1", 4, "ana", datetime(2027, 2, 10, 12), "confirmed", "recovered", "",
                                            Decimal("2.25")]],
                  column_names=["case_id", "version", "actor", "at", "from_state", "to_state", "note", "amount_recovered"])


@pytest.fixture
def forecast_store(chdb_client, fresh_caches):
    seed_forecast_store(chdb_client)
    return chdb_client


def forecast_page(**state) -> AppTest:
    # The page backtests every service at 8 origins on first load: more than the app's 30 s default.
    at = AppTest.from_file(str(APP), default_timeout=300)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def test_month_end_projection_is_the_month_so_far_plus_the_forecast_rest(forecast_store):
    run_forecast(forecast_store, horizon=14, by="service")
    at = forecast_page()
    # The history ends on 2027-03-01 (day 119): March so far is that day, 30 days remain,
    # and a pure cycle is forecast exactly, so the close is the sum of days 119..149.
    close = sum(day_total(d) for d in range(119, 150))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["March 2027 closes at"] == money(close, "EUR")
    assert metrics["Month so far"] == money(day_total(119), "EUR")
    assert metrics["Days still forecast"] == "30"
    assert metrics["80 % interval"] == f"{money(close, 'EUR')} – {money(close, '')}"   # exact: zero width


def test_known_money_is_shown_apart_per_month(forecast_store):
    at = forecast_page()
    months = next(f.value for f in at.dataframe if "recurring_fees" in f.value.columns)
    assert months["month"].tolist() == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]
    assert months["recurring_fees"].tolist() == [0.0, 10.0, 10.0, 10.0, 10.0]     # cycle day 1, from December
    assert months["at_risk"].tolist() == [0.0, 1.5, 0.0, 0.0, 0.0]
    assert months["recovered"].tolist() == [0.0, 0.0, 0.0, 2.25, 0.0]
    assert months["subscribers"].tolist() == [1] * 5
    november = sum(day_total(d) for d in range(29))                              # 2026-11-02 .. 30
    assert months["usage_revenue"].iloc[0] == pytest.approx(float(november), abs=1e-6)


def test_backtest_accuracy_lists_every_service_and_the_total(forecast_store):
    at = forecast_page()
    tests = next(f.value for f in at.dataframe if "naive MASE" in f.value.columns)
    assert tests["series"].tolist() == ["service=data", "service=sms", "service=voice", "total"]
    assert tests["MASE"].abs().max() < 1e-9                                       # exact cycles: no error
    assert tests["in 80 %"].tolist() == [100.0] * 4


def test_the_run_csv_holds_the_rows_the_command_wrote(forecast_store, tmp_path):
    from dashboards.queries.forecast import run_csv, run_rows

    run = run_forecast(forecast_store, horizon=14, by="service", output=tmp_path / "run.csv")
    at = forecast_page()
    assert not at.exception
    assert [s.value for s in at.selectbox if s.label == "Series"] == ["total"]   # the total first
    page_rows = list(csv.DictReader(io.StringIO(run_csv(run_rows(run.run_id)))))
    command_rows = list(csv.DictReader((tmp_path / "run.csv").open()))
    key = lambda r: (r["series"], r["date"])  # noqa: E731
    assert len(page_rows) == 4 * 14
    for page, command in zip(sorted(page_rows, key=key), sorted(command_rows, key=key)):
        assert {k: Decimal(v) if k not in ("series", "date", "model") else v for k, v in page.items()} == \
               {k: Decimal(v) if k not in ("series", "date", "model") else v for k, v in command.items()}


def test_a_short_history_says_why_there_is_no_projection_or_backtest(chdb_client, fresh_caches):
    insert_rated(chdb_client, weekly_rows(20))
    chdb_client.insert("revguard.network_usage", [[
        "n1", "447900000001", "voice", datetime(2026, 11, 2, 9), 60, 0, "447911111111", "", "msc-01", ""]],
        column_names=["record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes", "destination",
                      "roaming_mccmnc", "element_id", "cell_id"])
    at = forecast_page()
    infos = [str(i.value) for i in at.info]
    assert any(i.startswith("No month-end projection: the store holds 20 days of revenue") for i in infos), infos
    assert any(i.startswith("No backtest: 20 points") for i in infos), infos
    assert any("No forecast run in the store yet" in i for i in infos), infos


# --- in a real browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def forecast_app(tmp_path_factory):
    from clickhouse.client import store_client
    from dashboards.launch import start_app, wait_until_serving
    from tests.fixtures.browser import free_port
    from tests.fixtures.store import start_endpoint, stop_endpoint

    root = tmp_path_factory.mktemp("forecast-app")
    endpoint_process, endpoint = start_endpoint(root / "home")
    app = None
    try:
        client = store_client(endpoint.url)
        seed_forecast_store(client)
        client.insert("revguard.network_usage", [[
            "n1", "447900000001", "voice", datetime(2026, 11, 2, 9), 60, 0, "447911111111", "", "msc-01", ""]],
            column_names=["record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes",
                          "destination", "roaming_mccmnc", "element_id", "cell_id"])
        run_forecast(client, horizon=30, by="service")
        port = free_port()
        app = start_app("127.0.0.1", port, endpoint.url, log=root / "streamlit.log")
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, app)
        yield url
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=15)
        stop_endpoint(endpoint_process)


def test_finance_sees_the_projection_bands_and_downloads_the_csv_in_a_browser(tab, forecast_app):
    from tests.fixtures.browser import SCREENSHOTS, rendered

    tab.goto(f"{forecast_app}/forecast")
    rendered(tab, timeout_ms=300_000)
    close = sum(day_total(d) for d in range(119, 150))
    tab.get_by_text("March 2027 closes at").wait_for()
    assert tab.get_by_text(money(close, "EUR")).count() >= 1
    assert tab.locator("[data-testid='stException']").count() == 0
    assert tab.locator("[data-testid='stVegaLiteChart']").count() == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / "forecast-projection.png"), full_page=True)
    with tab.expect_download() as download:
        tab.get_by_role("button", name="Download this run as CSV").click()
    rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8")))
    assert len(rows) == 4 * 30 and rows[0]["series"] == "total"

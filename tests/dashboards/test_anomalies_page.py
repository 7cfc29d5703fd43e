"""Anomalies page: events by kind, one selected shows its series against the expected band with
the flagged window, and its evidence; in AppTest on a hand-made store and in a real browser on
the seeded simulated store (scored here: the shared seeded app does not run the models)."""
from __future__ import annotations

import json

import pytest

from assurance.models.detection import score_anomalies
from dashboards.queries import anomalies as q
from tests.assurance.models import stores
from tests.dashboards.conftest import app_on, texts
from tests.fixtures.browser import SCREENSHOTS, rendered

PAGE = "views/anomalies.py"


def selected(*rows: int) -> dict:
    return {"selection": {"rows": list(rows), "columns": [], "cells": []}}


@pytest.fixture
def truncated_store(chdb_client, fresh_caches, tmp_path):
    """The hand-made truncation: pgw-03 keeps 30 % of its bytes from 2026-11-03 16:00."""
    stores.truncation_usage()[0].write(chdb_client, catalog=True)
    score_anomalies(chdb_client, tmp_path, retrain=True)
    return chdb_client


def test_an_empty_anomalies_table_says_how_to_fill_it(small_store):
    at = app_on(PAGE)
    assert not at.exception
    assert any("revguard score" in str(i.value) for i in at.info)


def test_events_are_counted_by_kind_and_listed(truncated_store):
    at = app_on(PAGE)
    assert not at.exception
    assert [m.label for m in at.metric] == ["volume_truncation"]
    assert at.metric[0].value == "1 events"
    listed = at.dataframe[0].value
    assert listed["element_id"].tolist() == [stores.CUT_ELEMENT]
    assert str(listed["window_start"].iloc[0])[:16] == "2026-11-03 16:00"


def test_a_selected_event_shows_its_band_its_window_and_evidence(truncated_store):
    at = app_on(PAGE)
    at.session_state["anomalies_table"] = selected(0)
    at.run()
    assert not at.exception
    assert f"volume_truncation on {stores.CUT_ELEMENT}" in texts(at.subheader)
    evidence = at.json[0].value
    assert json.loads(evidence)["kept_share"] == pytest.approx(stores.CUT_KEEP, abs=0.05)
    # The chart's data (AppTest does not expose charts): up to 48 h before the cut (the store
    # starts 40 h before it) and the 32 h of it.
    anomaly = q.anomalies().iloc[0]
    series = q.series(anomaly)
    assert len(series) == 40 + 32 and int(series["flagged"].sum()) == 32
    assert str(series[series["flagged"]]["time"].min())[:16] == "2026-11-03 16:00"
    before = series[~series["flagged"]]["observed"]
    after = series[series["flagged"]]["observed"]
    # the band is the hours before the cut; the cut hours sit below it
    assert before.median() >= series["low"].iloc[0] and after.median() < series["low"].iloc[0]


def test_in_a_browser_an_analyst_selects_an_anomaly_and_sees_the_band_and_evidence(tab, seeded_app, tmp_path):
    score_anomalies(seeded_app.client, tmp_path, retrain=True)
    found = seeded_app.client.query("SELECT count() FROM revguard.anomalies FINAL").result_rows[0][0]
    assert found > 0, "the seeded simulation at 2 % faults holds anomalies the models find"
    tab.goto(f"{seeded_app.url}/anomalies")
    rendered(tab)
    assert tab.locator("[data-testid='stException']").count() == 0
    tab.get_by_text("Select a row to see the series").wait_for()
    grid = tab.get_by_test_id("stDataFrame").first
    grid.wait_for()
    box = grid.bounding_box()
    tab.mouse.click(box["x"] + 16, box["y"] + 35 + 35 / 2)   # the first row's selection box
    rendered(tab)
    tab.get_by_text("Evidence the model recorded").wait_for()
    # the chart is drawn after the evidence text: wait for it (with the page's deadline)
    tab.locator("[data-testid='stVegaLiteChart']").first.wait_for()
    assert tab.locator("[data-testid='stException']").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / "anomalies-selected.png"), full_page=True)

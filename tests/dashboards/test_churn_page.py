"""Churn page: the latest scores, most likely leavers first, msisdns masked, the export."""
from datetime import datetime

from tests.dashboards.conftest import app_on

PAGE = "views/churn.py"
COLUMNS = ["msisdn", "as_of", "probability", "rank", "reasons", "model_version"]


def scores(client) -> None:
    old, new = datetime(2027, 2, 1), datetime(2027, 3, 1)
    client.insert("revguard.churn_scores", [
        ["447911110001", old, 0.99, 1, ["stale"], "m0"],                     # an earlier as-of date: not shown
        ["447911110002", new, 0.40, 1, ["data use down 62 % over 28 days", "no top-up for 40 days"], "m1"],
        ["447911110003", new, 0.10, 2, ["customer for only 30 days"], "m1"],
        ["447911110004", new, 0.02, 3, [], "m1"],
    ], column_names=COLUMNS)


def test_latest_scores_most_likely_first_masked(small_store):
    scores(small_store)
    at = app_on(PAGE)
    assert not at.exception
    table = at.dataframe[0].value
    assert table["msisdn"].tolist() == ["4479••••0002", "4479••••0003", "4479••••0004"]
    assert table["reasons"].iloc[0] == "data use down 62 % over 28 days; no top-up for 40 days"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Subscribers scored"] == "3"
    assert metrics["Expected leavers, next 30 days"] == "0.5"      # 0.40 + 0.10 + 0.02
    assert metrics["As of"] == "2027-03-01"


def test_without_scores_the_page_says_how_to_get_them(small_store):
    at = app_on(PAGE)
    assert not at.exception
    assert any("revguard score" in str(i.value) for i in at.info)

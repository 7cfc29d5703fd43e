"""An empty store, a store without findings and an unreachable store: one clear message on every
page, never a traceback."""
import pytest

from clickhouse.client import URL_ENV
from tests.dashboards.conftest import app_on, texts
from tests.dashboards.seed import seed_small_store

PAGES = [None, "views/findings.py", "views/cases.py", "views/subscriber.py", "views/stream_health.py"]


@pytest.mark.parametrize("page", PAGES)
def test_an_empty_store_says_how_to_fill_it(chdb_client, fresh_caches, page):
    at = app_on(page)
    assert not at.exception
    assert [text for text in texts(at.info) if text.startswith("The store is empty")]


@pytest.mark.parametrize("page", ["views/findings.py", "views/cases.py"])
def test_a_store_without_findings_says_to_reconcile(chdb_client, fresh_caches, page):
    seed_small_store(chdb_client)
    chdb_client.command("TRUNCATE TABLE revguard.discrepancies")
    at = app_on(page)
    assert not at.exception
    assert texts(at.info) == ["No findings in the store: run `revguard reconcile` to run the assurance controls."]


@pytest.mark.parametrize("page", PAGES)
def test_an_unreachable_store_is_one_message(monkeypatch, fresh_caches, page):
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9/")  # discard port: nothing listens
    at = app_on(page)
    assert not at.exception
    [message] = texts(at.error)
    assert message.startswith("The store cannot be reached: cannot reach ClickHouse at http://127.0.0.1:9/")

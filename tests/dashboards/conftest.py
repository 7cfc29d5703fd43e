"""The app's tests: AppTest on the shared chDB store (same process), caches cleared per test."""
from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.dashboards.seed import seed_small_store

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


@pytest.fixture
def fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def small_store(chdb_client, fresh_caches):
    seed_small_store(chdb_client)
    return chdb_client


def app_on(page: str | None = None, **state) -> AppTest:
    """The app, run once, then switched to `page` (a script under dashboards/) and run again."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def texts(elements) -> list[str]:
    return [str(element.value) for element in elements]

"""The app's one store client and its cached queries.

The client is created once per app process (`st.cache_resource`) through
`clickhouse.client.store_client`, which resolves the store as every revguard command does
(`REVGUARD_CLICKHOUSE_URL`, the embedded endpoint, or chDB in this process) and migrates
it, so the cases tables exist. Query results are cached for `TTL_S` seconds keyed by the
SQL, its bound parameters and the store; writes (cases) clear the cache so the analyst sees
their own change at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from clickhouse.client import resolve_target, store_client
from clickhouse.errors import StoreError
from clickhouse.migrations import migrate

TTL_S = 60


class StoreProblem(Exception):
    """The store could not answer; the message is one line for the analyst."""


@dataclass(frozen=True)
class StoreStatus:
    shown: str
    network_records: int
    billed_records: int
    findings: int

    @property
    def empty(self) -> bool:
        return self.network_records == 0 and self.billed_records == 0 and self.findings == 0


_STATUS = """
SELECT
    (SELECT count() FROM revguard.network_usage),
    (SELECT count() FROM revguard.billed_usage),
    (SELECT count() FROM revguard.discrepancies)
"""


def store_key() -> str:
    """The resolved store, as a cache key (never shown: it may carry a password)."""
    try:
        return resolve_target().url
    except StoreError as error:
        raise StoreProblem(str(error)) from error


@st.cache_resource(show_spinner=False)
def _client(key: str) -> Client:
    client = store_client(key)
    migrate(client)
    return client


def client() -> Client:
    """The migrated client for the resolved store; StoreProblem when it cannot be reached."""
    key = store_key()
    try:
        return _client(key)
    except (StoreError, ClickHouseError, OSError) as error:
        raise StoreProblem(_one_line(error)) from error


@st.cache_data(ttl=TTL_S, show_spinner=False)
def _frame(sql: str, parameters: dict, key: str) -> pd.DataFrame:
    return _client(key).query_df(sql, parameters=parameters)


def frame(sql: str, parameters: dict | None = None) -> pd.DataFrame:
    """The result of one bound query as a DataFrame, cached for TTL_S seconds."""
    client()  # connect (and migrate) first so a dead store is reported as such
    try:
        return _frame(sql, parameters or {}, store_key())
    except (StoreError, ClickHouseError, OSError) as error:
        raise StoreProblem(_one_line(error)) from error


def status() -> StoreStatus:
    counts = frame(_STATUS).iloc[0].tolist()
    return StoreStatus(resolve_target().shown, *(int(value) for value in counts))


def written() -> None:
    """After a write: later reads must see it."""
    _frame.clear()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] or type(error).__name__

"""A migrated store shared by the assurance tests, emptied before each test."""
from __future__ import annotations

import pytest

from clickhouse.client import store_client
from clickhouse.migrations import migrate

_TABLES = ("network_usage", "billed_usage", "rated_usage", "subscribers", "provisioning", "discrepancies")


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory):
    client = store_client(url=f"chdb://{tmp_path_factory.mktemp('assurance-store')}")
    migrate(client)
    return client


@pytest.fixture
def store(migrated_store):
    for table in _TABLES:
        migrated_store.command(f"TRUNCATE TABLE revguard.{table}")
    return migrated_store

"""The assurance tests' store: the shared chDB store, migrated and emptied per test.

Modules that must hold on every transport (reconcile's DELETE-then-insert, the export)
override `store` with the shared `store_client`, which runs them over chDB and HTTP."""
from __future__ import annotations

import pytest


@pytest.fixture
def store(chdb_client):
    return chdb_client

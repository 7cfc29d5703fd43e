"""Shared fixtures live in tests/fixtures/, one module per real component."""
import pytest  # noqa: F401

pytest_plugins = [
    "tests.fixtures.store",
    "tests.fixtures.browser",  # after store: it starts an endpoint with store's helpers
    "tests.fixtures.tansu",
]

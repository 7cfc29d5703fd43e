"""How the project is packaged: an install a newcomer reads without warnings of ours."""
from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_license_is_an_spdx_string_not_a_deprecated_table() -> None:
    # setuptools >= 77 warns three times per install about `license = { text = ... }`.
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert project["project"]["license"] == "Apache-2.0"


def test_build_backend_is_new_enough_for_spdx_license_strings() -> None:
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["build-system"]["requires"]
    assert "setuptools>=77" in requires

"""The `revguard` command line: every subcommand has help; user mistakes are one line, exit 2."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REVGUARD = str(Path(sys.executable).parent / "revguard")
SUBCOMMANDS = [
    [], ["demo"], ["simulate"], ["rate"], ["load"], ["run"], ["run", "rating"], ["reconcile"],
    ["export"], ["export", "discrepancies"], ["clickhouse"], ["clickhouse", "serve"], ["clickhouse", "migrate"],
    ["kafka"], ["kafka", "broker"], ["kafka", "produce"], ["kafka", "read"], ["export", "rejects"],
]


def revguard(*args: str, home: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVGUARD_")}
    if home is not None:
        env["REVGUARD_HOME"] = str(home)
    return subprocess.run([REVGUARD, *args], capture_output=True, text=True, env=env, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda w: " ".join(w) or "revguard")
def test_every_subcommand_has_help(words: list[str]) -> None:
    result = revguard(*words, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: revguard" in result.stdout


def test_unknown_option_is_one_line_and_exit_2() -> None:
    result = revguard("simulate", "--out", "x", "--nope")
    assert result.returncode == 2
    assert "--nope" in one_error_line(result)


def test_unknown_clickhouse_url_scheme_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = revguard("--clickhouse-url", "ftp://example/db", "clickhouse", "migrate", home=tmp_path)
    assert result.returncode == 2
    assert "ftp" in one_error_line(result)


def test_unreachable_clickhouse_server_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on: bound, never accepting
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        result = revguard("--clickhouse-url", f"http://127.0.0.1:{port}", "reconcile", home=tmp_path)
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in one_error_line(result)


def test_bad_reconcile_time_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = revguard("reconcile", "--from", "last tuesday", home=tmp_path)
    assert result.returncode == 2
    assert "--from" in one_error_line(result)


def test_catalog_missing_a_price_is_refused_naming_plan_and_price(small_dir: Path, tmp_path: Path) -> None:
    catalog = small_dir / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace(' premium: "2.00",', ""))
    result = revguard("rate", "--catalog", str(catalog), "--subscribers", str(small_dir / "subscribers.csv"),
                      "--input", str(small_dir / "network.ndjson"), "--output", str(tmp_path / "out.ndjson"))
    assert result.returncode == 2
    line = one_error_line(result)
    assert "PRE5" in line and "premium" in line


def test_rate_prints_counts_that_add_up(small_dir: Path, tmp_path: Path) -> None:
    result = revguard("rate", "--catalog", str(small_dir / "catalog.yaml"),
                      "--subscribers", str(small_dir / "subscribers.csv"),
                      "--input", str(small_dir / "network.ndjson"), "--output", str(tmp_path / "out.ndjson"))
    assert result.returncode == 0, result.stderr
    assert "in = rated + duplicate + rejected ✓" in result.stdout
    assert len((tmp_path / "out.ndjson").read_text().splitlines()) == 8

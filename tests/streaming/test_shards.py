"""The rating state's shard count belongs to its recovery directory: the first run fixes it
(one shard per worker by default), later runs keep it whatever their worker count, and asking
for another count is refused with one line instead of resuming state under the wrong keys."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flows.errors import InputError
from flows.streaming import DEFAULT_SHARDS, LAYOUT_FILE, recovery_shards
from tests.streaming.conftest import REPO


def test_a_new_directory_gets_one_shard_per_worker_and_keeps_it(tmp_path):
    recovery = tmp_path / "recovery"
    assert recovery_shards(recovery, None, 2) == 2
    assert json.loads((recovery / LAYOUT_FILE).read_text()) == {"shards": 2}
    # A restart with one worker still reads the state as two shards.
    assert recovery_shards(recovery, None, 1) == 2
    assert recovery_shards(recovery, 2, 4) == 2


def test_an_explicit_count_is_used_on_a_new_directory(tmp_path):
    assert recovery_shards(tmp_path / "recovery", 16, 1) == 16


def test_another_count_on_an_existing_directory_is_refused(tmp_path):
    recovery = tmp_path / "recovery"
    recovery_shards(recovery, None, 2)
    with pytest.raises(InputError, match="in 2 shards, not 3: run with --shards 2"):
        recovery_shards(recovery, 3, 1)


def test_a_directory_from_before_the_layout_file_holds_eight_shards(tmp_path):
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    (recovery / "part-0.sqlite3").write_bytes(b"")
    assert recovery_shards(recovery, None, 1) == DEFAULT_SHARDS == 8
    with pytest.raises(InputError):
        recovery_shards(recovery, 2, 2)


def test_the_cli_answers_a_wrong_shard_count_in_one_line_with_exit_2(tmp_path):
    home = tmp_path / "home"
    recovery_shards(home / "recovery", None, 2)
    # No broker or store is contacted before the check: the bootstrap is never dialled.
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--kafka-bootstrap", "127.0.0.1:9", "run", "rating", "--shards", "3"],
        cwd=REPO, env={"REVGUARD_HOME": str(home), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--shards 2" in lines[0], result.stderr

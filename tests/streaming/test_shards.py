"""The rating state's shard count and shard keys belong to its recovery directory: the first
run fixes them (one shard per worker by default, named to land one per worker), later runs
keep them whatever their worker count, and asking for another count is refused with one line
instead of resuming state under the wrong keys."""
from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.errors import InputError
from flows.rating_flow import shard_numbers
from flows.routing import routed_worker
from flows.streaming import DEFAULT_SHARDS, LAYOUT_FILE, recovery_layout
from tests.streaming.conftest import REPO


def test_a_new_directory_gets_one_shard_per_worker_and_keeps_it(tmp_path):
    recovery = tmp_path / "recovery"
    shards, keys = recovery_layout(recovery, None, 2)
    assert shards == 2
    assert json.loads((recovery / LAYOUT_FILE).read_text()) == {"shards": 2, "keys": list(keys)}
    # A restart with one worker (or four) still reads the state as two shards, same keys.
    assert recovery_layout(recovery, None, 1) == (2, keys)
    assert recovery_layout(recovery, 2, 4) == (2, keys)


def test_a_new_directory_names_its_shards_to_land_one_per_worker(tmp_path):
    # Shards named "0" and "1" both land on the same worker of two.
    assert routed_worker("0", 2) == routed_worker("1", 2)
    for workers in (2, 3, 4):
        _, keys = recovery_layout(tmp_path / f"recovery-{workers}", None, workers)
        assert sorted(routed_worker(k, workers) for k in keys) == list(range(workers))


def test_a_layout_from_before_the_keys_keeps_the_shard_numbers(tmp_path):
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    (recovery / LAYOUT_FILE).write_text('{"shards": 2}\n')
    assert recovery_layout(recovery, None, 2) == (2, ("0", "1"))
    assert recovery_layout(recovery, None, 2) == (2, ("0", "1"))


def test_an_explicit_count_is_used_on_a_new_directory(tmp_path):
    assert recovery_layout(tmp_path / "recovery", 16, 1)[0] == 16


def test_another_count_on_an_existing_directory_is_refused(tmp_path):
    recovery = tmp_path / "recovery"
    recovery_layout(recovery, None, 2)
    with pytest.raises(InputError, match="in 2 shards, not 3: run with --shards 2"):
        recovery_layout(recovery, 3, 1)


def test_a_directory_from_before_the_layout_file_holds_eight_shards(tmp_path):
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    (recovery / "part-0.sqlite3").write_bytes(b"")
    assert recovery_layout(recovery, None, 1) == (DEFAULT_SHARDS, tuple(str(s) for s in range(8)))
    assert DEFAULT_SHARDS == 8
    with pytest.raises(InputError):
        recovery_layout(recovery, 2, 2)


def test_the_cli_answers_a_wrong_shard_count_in_one_line_with_exit_2(tmp_path):
    home = tmp_path / "home"
    recovery_layout(home / "recovery", None, 2)
    # No broker or store is contacted before the check: the bootstrap is never dialled.
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--kafka-bootstrap", "127.0.0.1:9", "run", "rating", "--shards", "3"],
        cwd=REPO, env={"REVGUARD_HOME": str(home), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--shards 2" in lines[0], result.stderr


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.from_regex(r"[0-9]{1,18}", fullmatch=True), max_size=40),
       arrow_type=st.sampled_from([pa.string(), pa.large_string()]), skip=st.integers(0, 3), shards=st.integers(1, 9))
@example(values=["447900123456", "1", "000007", "1000000"], arrow_type=pa.string(), skip=0, shards=7)
def test_an_msisdn_belongs_to_the_shard_of_its_last_six_digits(values, arrow_type, skip, shards):
    # State is stored per shard in the recovery directory: this rule may never change.
    column = pa.array(["0"] * skip + values, arrow_type).slice(skip)
    assert shard_numbers(column, shards).tolist() == [int(v[-6:]) % shards for v in values]


def test_an_msisdn_that_is_not_digits_has_no_shard():
    with pytest.raises(ValueError, match="not digits"):
        shard_numbers(pa.array(["4479", "44x9"]), 2)

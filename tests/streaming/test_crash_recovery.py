"""A kill -9 at a known point of a run, then a restart, ends exactly as a run without the crash.

The uninterrupted run rates in this process into chDB; the crashed one is a `revguard run
rating` process against the HTTP endpoint, held by the test hooks of `flows.holds` at the
chosen point and killed with SIGKILL there, then started again (hooks off) on the same
REVGUARD_HOME. Nothing waits on a clock: the source hands over records only below an offset
the test sets, and the kill waits for the flow to report that it is held where the test
asked. Kill points:

- before the first snapshot: rows in the store, no snapshot of the run committed;
- between snapshots: a committed snapshot (holding rows the store does not have yet), and
  rows in the store past it;
- during a store flush: the flush's rated rows inserted, its other tables not.

Both runs read the same topics from the beginning: first the adjustments (each run consumes
them before any usage is produced, so arrival order is the same in both), then a simulated
day of usage.
"""
from __future__ import annotations

import pickle
import signal
import sqlite3
from pathlib import Path

import pytest

from flows.streaming import StreamOptions, run_rating_flow
from tests.streaming.conftest import (
    PARTITIONS, alerts_of_store, balances_of_store, flow_command, flow_process, load_reference, produce_file,
    rated_rows_of_store, wait_for, wait_until,
)

pytestmark = pytest.mark.kafka
SOURCE_STEP = "revguard_rating.kafka_in"
# Source limits, offsets per network partition. Records are keyed by msisdn, so the simulated
# day splits the same way every run: about 1,800-3,900 records a partition, more than HIGH.
# (Asking the broker for the sizes does not work: Tansu answers "latest offset" wrongly.)
LOW, HIGH = 600, 1200


def rated_count(client) -> int:
    return client.query("SELECT count() FROM revguard.rated_usage FINAL").result_rows[0][0]


def unflushed_tables_rows(client) -> int:
    """Rated records that should have a network_usage row (every status but duplicate) and have none."""
    rated = client.query("SELECT countIf(status != 'duplicate') FROM revguard.rated_usage FINAL").result_rows[0][0]
    network = client.query("SELECT count() FROM revguard.network_usage FINAL").result_rows[0][0]
    return rated - network


def committed(recovery: Path, topic: str) -> tuple[int | None, int]:
    """(the commit epoch, the sum of `topic`'s partitions' next offsets in the committed snapshot)."""
    epochs, latest = [], {}
    for part in sorted(recovery.glob("part-*.sqlite3")):
        with sqlite3.connect(f"file:{part}?mode=ro", uri=True) as db:
            [(epoch,)] = db.execute("SELECT max(commit_epoch) FROM commits").fetchall()
            epochs.append(epoch)
    if not epochs or None in epochs:
        return None, 0
    commit = min(epochs)
    for part in sorted(recovery.glob("part-*.sqlite3")):
        with sqlite3.connect(f"file:{part}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT state_key, ser_change FROM snaps WHERE step_id = ? AND snap_epoch <= ? "
                              "ORDER BY snap_epoch", (SOURCE_STEP, commit)).fetchall()
        for key, change in rows:
            if key.startswith(topic + ":"):
                latest[key] = pickle.loads(change) if change is not None else None
    return commit, sum(offset for offset in latest.values() if offset is not None)


def held(holds: Path, point: str, process, log: Path) -> int:
    """Waits for the flow to be held at `point`; returns the count it was held at."""
    def there() -> bool:
        assert process.poll() is None, f"the flow ended before it was held at {point}:\n{log.read_text()[-3000:]}"
        return (holds / f"held-{point}").exists()

    wait_until(there, timeout=120)
    return int((holds / f"held-{point}").read_text())


def arm(holds: Path, name: str, value: int) -> None:
    (holds / f"{name}.tmp").write_text(str(value))
    (holds / f"{name}.tmp").rename(holds / name)  # the flow reads it whole or not at all


KILL_POINTS = {
    # name: the crashed run's snapshot interval and store flush interval (seconds)
    "before the first snapshot": ("3600", "0.01"),
    "between snapshots": ("0.3", "60"),
    "during a store flush": ("0.3", "0.01"),
}


@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_kill_9_and_restart_end_with_the_totals_balances_and_alerts_of_an_uninterrupted_run(
    kill_point, chdb_url, chdb_client, http_store, http_endpoint, kafka_bootstrap, stream_topics, simulated_day,
    tmp_path
):
    day = simulated_day.directory
    load_reference(chdb_client, day)
    load_reference(http_store, day)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)
    home, log, holds = tmp_path / "crash-home", tmp_path / "flow.log", tmp_path / "holds"
    holds.mkdir()
    snapshot_interval, flush_interval = KILL_POINTS[kill_point]
    command = flow_command(kafka_bootstrap, stream_topics, "--until-idle", "1", "--snapshot-interval",
                           snapshot_interval, "--poll-records", "100", "--store-flush-interval", flush_interval)

    produce_file(kafka_bootstrap, day / "adjustments.ndjson", stream_topics.adjustments)
    run_rating_flow(chdb_url, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")
    wait_for(flow_process(command, home, http_endpoint.url, log), log)

    records = produce_file(kafka_bootstrap, day / "network.ndjson", stream_topics.network)
    run_rating_flow(chdb_url, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")
    recovery = home / "recovery"
    epoch_at_start, _ = committed(recovery, stream_topics.network)

    # Armed before the process starts: without a limit the source hands over everything.
    if kill_point == "before the first snapshot":
        arm(holds, "hold-rated-rows", PARTITIONS * LOW)
        arm(holds, "source-limit", LOW)
    elif kill_point == "between snapshots":
        arm(holds, "source-limit", LOW)
    else:
        arm(holds, "source-limit", HIGH)
        arm(holds, "hold-mid-flush", 3)  # the third flush: its rated rows in, the rest never
    crashed = flow_process(command, home, http_endpoint.url, log, {"REVGUARD_HOLDS": str(holds)})
    try:
        if kill_point == "before the first snapshot":
            # All LOW records of each partition rated, flushed, then held: no epoch of the run closed.
            assert held(holds, "rated-rows", crashed, log) == PARTITIONS * LOW
        elif kill_point == "between snapshots":
            wait_until(lambda: committed(recovery, stream_topics.network)[1] == PARTITIONS * LOW, timeout=120)
            # LOW more per partition's worth rated (past the commit), flushed, then held.
            arm(holds, "hold-rated-rows", PARTITIONS * LOW + LOW)
            arm(holds, "source-limit", HIGH)
            held(holds, "rated-rows", crashed, log)
        else:
            held(holds, "mid-flush", crashed, log)
        crashed.send_signal(signal.SIGKILL)
    finally:
        crashed.kill()
        crashed.wait()
    written_before_crash = rated_count(http_store)
    epoch_at_kill, committed_at_kill = committed(recovery, stream_topics.network)
    torn_flush = unflushed_tables_rows(http_store)
    wait_for(flow_process(command, home, http_endpoint.url, log), log)

    assert 0 < written_before_crash < records, "the kill did not land in the middle of the run"
    if kill_point == "before the first snapshot":
        assert written_before_crash == PARTITIONS * LOW
        assert epoch_at_kill == epoch_at_start, "a snapshot of the crashed run was committed"
        assert committed_at_kill == 0
    elif kill_point == "between snapshots":
        assert PARTITIONS * LOW <= committed_at_kill < written_before_crash
    else:
        assert torn_flush > 0, "every table of the flush was written: the kill was not mid-flush"
    assert rated_count(chdb_client) == records
    assert rated_rows_of_store(http_store) == rated_rows_of_store(chdb_client)
    assert balances_of_store(http_store) == balances_of_store(chdb_client)
    assert alerts_of_store(http_store) == alerts_of_store(chdb_client)
    assert unflushed_tables_rows(http_store) == unflushed_tables_rows(chdb_client) == 0

"""A kill -9 in the middle of a run, then a restart, ends exactly as a run without the crash.

The uninterrupted run rates in this process into chDB; the crashed one is a `revguard run
rating` process against the HTTP endpoint, killed with SIGKILL once its first epoch's rows
are in the store, then started again on the same REVGUARD_HOME. Both read the same topics
from the beginning: first the adjustments (each run consumes them before any usage is
produced, so arrival order is the same in both), then a simulated day of usage.
"""
from __future__ import annotations

import signal

import pytest

from flows.streaming import StreamOptions, run_rating_flow
from tests.streaming.conftest import (
    alerts_of_store, balances_of_store, flow_command, flow_process, load_reference, produce_file,
    rated_rows_of_store, wait_for, wait_until,
)

pytestmark = pytest.mark.kafka


def rated_count(client) -> int:
    return client.query("SELECT count() FROM revguard.rated_usage FINAL").result_rows[0][0]


def test_kill_9_midway_and_restart_end_with_the_totals_balances_and_alerts_of_an_uninterrupted_run(
    chdb_url, chdb_client, http_store, http_endpoint, kafka_bootstrap, stream_topics, simulated_day, tmp_path
):
    day = simulated_day.directory
    load_reference(chdb_client, day)
    load_reference(http_store, day)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)
    home = tmp_path / "crash-home"
    log = tmp_path / "flow.log"
    # Small polls, short epochs and a store insert at every snapshot spread the day over many
    # snapshots and inserts, so the kill lands mid-run.
    command = flow_command(kafka_bootstrap, stream_topics, "--until-idle", "1", "--snapshot-interval", "0.3",
                           "--poll-records", "100", "--store-flush-interval", "0")

    produce_file(kafka_bootstrap, day / "adjustments.ndjson", stream_topics.adjustments)
    run_rating_flow(chdb_url, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")
    wait_for(flow_process(command, home, http_endpoint.url, log), log)

    records = produce_file(kafka_bootstrap, day / "network.ndjson", stream_topics.network)
    run_rating_flow(chdb_url, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")
    crashed = flow_process(command, home, http_endpoint.url, log)
    wait_until(lambda: rated_count(http_store) > 0, timeout=60, every=0.02)
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()
    written_before_crash = rated_count(http_store)
    wait_for(flow_process(command, home, http_endpoint.url, log), log)

    assert 0 < written_before_crash < records, "the kill did not land in the middle of the run"
    assert rated_count(chdb_client) == records
    assert rated_rows_of_store(http_store) == rated_rows_of_store(chdb_client)
    assert balances_of_store(http_store) == balances_of_store(chdb_client)
    assert alerts_of_store(http_store) == alerts_of_store(chdb_client)

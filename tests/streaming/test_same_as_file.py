"""The streaming flow rates a day exactly as `revguard rate` rates the same file.

Per subscriber a Kafka partition keeps file order (messages keyed by msisdn), so every
record must get the same status, charge, total, unfunded and balance_after as the file
flow gives it, with one worker, two workers, and two processes.
"""
from __future__ import annotations

import pytest

from flows.kafka.broker import free_port
from flows.streaming import StreamOptions, run_rating_flow
from tests.streaming.conftest import (
    flow_command, flow_process, load_reference, produce_file, rated_rows_of_file, rated_rows_of_store, wait_for,
)

pytestmark = pytest.mark.kafka


def run_in_process(bootstrap, topics, tmp_path, workers):
    options = StreamOptions(topics=topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)
    return run_rating_flow(None, bootstrap, workers=workers, options=options, recovery_dir=tmp_path / "recovery")


@pytest.mark.parametrize("workers", [1, 2])
def test_stream_rates_every_record_as_the_file_flow_does(workers, chdb_client, kafka_bootstrap, stream_topics, simulated_day, tmp_path):
    load_reference(chdb_client, simulated_day.directory)
    produced = produce_file(kafka_bootstrap, simulated_day.directory / "network.ndjson", stream_topics.network)

    totals = run_in_process(kafka_bootstrap, stream_topics, tmp_path, workers)

    expected = rated_rows_of_file(simulated_day.rated_by_file)
    assert len(expected) == produced  # the file flow writes one line per input line
    assert totals["records_in"]["network"] == produced
    assert rated_rows_of_store(chdb_client) == expected


def test_two_processes_rate_every_record_as_the_file_flow_does(http_store, http_endpoint, kafka_bootstrap, stream_topics, simulated_day, tmp_path):
    load_reference(http_store, simulated_day.directory)
    produce_file(kafka_bootstrap, simulated_day.directory / "network.ndjson", stream_topics.network)
    addresses = f"127.0.0.1:{free_port()};127.0.0.1:{free_port()}"
    home = tmp_path / "home"
    log = tmp_path / "flow.log"

    processes = [
        flow_process(flow_command(kafka_bootstrap, stream_topics, "--until-idle", "1", "--snapshot-interval", "0.5",
                                  "-i", str(i), "-a", addresses), home, http_endpoint.url, log)
        for i in (0, 1)
    ]
    for process in processes:
        wait_for(process, log)

    assert rated_rows_of_store(http_store) == rated_rows_of_file(simulated_day.rated_by_file)

"""What operations rely on: SIGTERM stops the flow cleanly with its last epoch committed, and
/metrics shows throughput counters and consumer lag while it runs."""
from __future__ import annotations

import signal
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from flows.streaming import StreamOptions, run_rating_flow
from tests.flows.conftest import NETWORK_LINES
from tests.streaming.conftest import (
    flow_command, flow_process, free_port, load_reference, produce_file, produce_lines, read_topic, running_flow,
    wait_until,
)

pytestmark = pytest.mark.kafka


def metric_samples(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample of the flow's /metrics: (name, sorted labels) -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def polled_network_records(port: int) -> float:
    try:
        return metric_samples(port).get(("revguard_records_in_total", (("stream", "network"),)), 0)
    except OSError:  # not serving yet
        return 0


def test_sigterm_stops_the_flow_with_exit_0_and_its_last_epoch_committed(
    http_store, http_endpoint, kafka_bootstrap, stream_topics, simulated_day, tmp_path
):
    load_reference(http_store, simulated_day.directory)
    records = produce_file(kafka_bootstrap, simulated_day.directory / "network.ndjson", stream_topics.network)
    home, log, port = tmp_path / "home", tmp_path / "flow.log", free_port()
    # Epochs far longer than the test: only the stop itself can close and commit one.
    command = flow_command(kafka_bootstrap, stream_topics, "--snapshot-interval", "600", "--metrics-port", str(port))
    flow = flow_process(command, home, http_endpoint.url, log)
    wait_until(lambda: polled_network_records(port) == records, timeout=60, every=0.2)
    flow.send_signal(signal.SIGTERM)
    code = flow.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
    stored = http_store.query("SELECT count() FROM revguard.rated_usage FINAL").result_rows[0][0]

    # A restart on the same recovery resumes after the committed epoch: nothing is read again.
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, partitions=3)
    again = run_rating_flow(http_endpoint.url, kafka_bootstrap, options=options, recovery_dir=home / "recovery")

    assert stored == records
    assert sum(again["records_in"].values()) == 0
    assert len(read_topic(kafka_bootstrap, stream_topics.rated)) == records, "rated records published twice or lost"
    assert '"signal": "SIGTERM"' in log.read_text()


def test_metrics_count_records_by_stream_and_status_and_show_no_lag_once_caught_up(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path
):
    load_reference(chdb_client, reference_dir)
    port = free_port()
    options = StreamOptions(topics=stream_topics, snapshot_interval_s=0.2, partitions=3)
    # NETWORK_LINES: r1 r2 r3 r4 r6 rated, r1 again a duplicate, r5's msisdn has no
    # subscriber (rejected by rating), "not json" rejected unparsed (also a dead letter):
    # 8 in = 5 + 1 + 2.
    expected = {
        ("revguard_records_in_total", (("stream", "network"),)): 8,
        ("revguard_records_out_total", (("status", "rated"),)): 5,
        ("revguard_records_out_total", (("status", "duplicate"),)): 1,
        ("revguard_records_out_total", (("status", "rejected"),)): 2,
        ("revguard_dead_letters_total", (("stream", "network"),)): 1,
        ("revguard_consumer_lag_total", ()): 0,
    }
    with running_flow(None, kafka_bootstrap, options, tmp_path / "recovery", metrics_port=port):
        produce_lines(kafka_bootstrap, NETWORK_LINES, stream_topics.network, tmp_path)

        network_partitions = {(("partition", f"{stream_topics.network}:{p}"),) for p in range(3)}

        def lags(samples: dict) -> dict:
            return {labels: value for (name, labels), value in samples.items() if name == "revguard_consumer_lag"}

        def settled() -> bool:
            try:
                samples = metric_samples(port)
            except OSError:
                return False
            # A partition's lag is known from its first fetch response, which for a partition
            # without records may come after the others' records were counted.
            return all(samples.get(key) == value for key, value in expected.items()) and (
                network_partitions <= set(lags(samples))
            )

        wait_until(settled, timeout=30, every=0.1)
        samples = metric_samples(port)

    assert network_partitions <= set(lags(samples)), "lag is reported per partition"
    assert all(value == 0 for value in lags(samples).values())

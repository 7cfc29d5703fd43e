"""`revguard kafka broker | produce | read`: trying the stream from the command line alone."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.flows.test_cli import REVGUARD, one_error_line, revguard
from tests.kafka.reading import read_to_end

pytestmark = pytest.mark.kafka


def ndjson(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


RECORDS = [{"record_id": f"r{i}", "msisdn": f"4479000000{i % 3}", "n": i} for i in range(7)]


def test_produce_sends_every_line_in_file_order_keyed_by_msisdn(kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory("produce")
    source = ndjson(tmp_path / "in.ndjson", RECORDS)
    result = revguard("kafka", "produce", str(source), "--topic", topic, "--kafka-bootstrap", kafka_bootstrap)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"7 messages produced to {topic}"
    messages = read_to_end(kafka_bootstrap, topic)
    assert [json.loads(value) for _p, _o, _k, value in messages] == RECORDS
    assert [key.decode() for _p, _o, key, _v in messages] == [r["msisdn"] for r in RECORDS]


def test_produce_creates_a_missing_topic_with_the_partitions_asked(kafka_bootstrap, tmp_path):
    topic = f"created-{os.getpid()}-{tmp_path.name}"
    result = revguard("kafka", "produce", str(ndjson(tmp_path / "in.ndjson", RECORDS)), "--topic", topic,
                      "--partitions", "3", "--kafka-bootstrap", kafka_bootstrap)
    assert result.returncode == 0, result.stderr
    metadata = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10)
    assert len(metadata.topics[topic].partitions) == 3
    assert len(read_to_end(kafka_bootstrap, topic, partitions=3)) == 7


def test_read_from_beginning_to_end_prints_each_message_once_per_line(kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory("read")
    revguard("kafka", "produce", str(ndjson(tmp_path / "in.ndjson", RECORDS)), "--topic", topic,
             "--kafka-bootstrap", kafka_bootstrap)
    result = revguard("--kafka-bootstrap", kafka_bootstrap, "kafka", "read", "--topic", topic,
                      "--from-beginning", "--to-end", timeout=60)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == RECORDS


def test_read_stops_after_max_messages(kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory("read-max")
    revguard("kafka", "produce", str(ndjson(tmp_path / "in.ndjson", RECORDS)), "--topic", topic,
             "--kafka-bootstrap", kafka_bootstrap)
    result = revguard("kafka", "read", "--topic", topic, "--from-beginning", "--max", "2",
                      "--kafka-bootstrap", kafka_bootstrap, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["n"] for line in result.stdout.splitlines()] == [0, 1]


def test_read_of_a_missing_topic_is_one_line_naming_it_and_exit_2(kafka_bootstrap):
    result = revguard("kafka", "read", "--topic", "no.such.topic", "--kafka-bootstrap", kafka_bootstrap)
    assert result.returncode == 2
    assert "'no.such.topic'" in one_error_line(result)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_produce_to_an_unreachable_broker_is_one_line_and_exit_2(tmp_path):
    bootstrap = f"127.0.0.1:{unused_port()}"
    result = revguard("kafka", "produce", str(ndjson(tmp_path / "in.ndjson", RECORDS)), "--topic", "t",
                      "--kafka-bootstrap", bootstrap)
    assert result.returncode == 2
    assert bootstrap in one_error_line(result)


def test_kafka_commands_without_a_bootstrap_say_how_to_get_one(tmp_path):
    result = revguard("kafka", "read", "--topic", "t")
    assert result.returncode == 2
    assert "revguard kafka broker" in one_error_line(result)


def test_run_rating_takes_the_bootstrap_after_the_subcommand(kafka_bootstrap, tmp_path):
    # Accepted there, the flow gets as far as the store: a fresh home has no catalog yet.
    result = revguard("run", "rating", "--kafka-bootstrap", kafka_bootstrap, "--until-idle", "1", home=tmp_path)
    assert result.returncode == 2
    assert "no tariff catalog" in one_error_line(result)


def test_broker_prints_its_bootstrap_serves_kafka_and_stops_on_ctrl_c(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVGUARD_")}
    broker = subprocess.Popen([REVGUARD, "kafka", "broker", "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        bootstrap = broker.stdout.readline().strip()
        metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
        assert metadata.brokers, "the broker answers a metadata request"
        broker.send_signal(signal.SIGINT)
        assert broker.wait(timeout=20) == 0
        assert "broker stopped" in broker.stderr.read()
        host, port = bootstrap.rsplit(":", 1)
        with socket.socket() as s:  # nothing listens there any more: the Tansu process is gone
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past closed connections' TIME_WAIT
            s.bind((host, int(port)))
    finally:
        if broker.poll() is None:
            broker.kill()
            broker.wait()


def test_broker_on_a_port_in_use_is_one_line_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = revguard("kafka", "broker", "--port", str(port))
    assert result.returncode == 2
    assert f"port {port}" in one_error_line(result)

"""Fixtures for the streaming flow: a simulated day, topics under a unique prefix, store reads.

The day is small (300 subscribers, about 7,600 network records) so each run takes a few
seconds; every expectation is computed independently by `revguard rate` on the same file.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from flows.kafka.produce import produce_ndjson
from flows.kafka.topics import ensure_topics
from flows.load import load_directory
from flows.rate_file import rate_file
from flows.simulator import simulate
from flows.streaming import StreamOptions, StreamTopics, run_rating_flow
from tests.fixtures.threads import stopped_at_block_end

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 3


@dataclass(frozen=True)
class Day:
    directory: Path
    rated_by_file: Path  # `revguard rate` output for network.ndjson, no adjustments


@pytest.fixture(scope="session")
def simulated_day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    directory = tmp_path_factory.mktemp("day")
    simulate(directory, subscribers=300, days=1, seed=11)
    rated = directory / "rated.ndjson"
    rate_file(directory / "catalog.yaml", directory / "subscribers.csv", directory / "network.ndjson", rated)
    return Day(directory, rated)


@pytest.fixture
def stream_topics(kafka_bootstrap: str) -> StreamTopics:
    """Every topic of the flow under a prefix of its own, inputs created with 3 partitions."""
    topics = StreamTopics.with_prefix(f"t{uuid.uuid4().hex[:10]}.")
    ensure_topics({"bootstrap.servers": kafka_bootstrap}, PARTITIONS, topics.all())
    return topics


def produce_file(bootstrap: str, path: Path, topic: str) -> int:
    return produce_ndjson(path, topic, {"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})


def produce_lines(bootstrap: str, lines: list[str], topic: str, directory: Path) -> int:
    path = directory / f"lines-{uuid.uuid4().hex[:6]}.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return produce_file(bootstrap, path, topic)


def reference_files(directory: Path, catalog: str, subscribers: str) -> Path:
    """A directory holding just `catalog.yaml` and `subscribers.csv`, for `load_reference`."""
    directory.mkdir()
    (directory / "catalog.yaml").write_text(catalog)
    (directory / "subscribers.csv").write_text(subscribers)
    return directory


@pytest.fixture
def reference_dir(tmp_path: Path) -> Path:
    """The hand-rated test catalog and subscribers of `tests.flows.conftest`."""
    from tests.flows.conftest import CATALOG, SUBSCRIBERS

    return reference_files(tmp_path / "reference", CATALOG, SUBSCRIBERS)


def load_reference(client, directory: Path) -> None:
    load_directory(client, directory, reference_only=True)


def rated_rows_of_file(rated: Path) -> list[tuple]:
    """(record_id, status, charge, total, unfunded, balance_after) of each `revguard rate` line."""
    rows = []
    for line in rated.read_text().splitlines():
        r = json.loads(line)
        rows.append(_row(r["record_id"], r["status"], r.get("charge"), r.get("total"), r.get("unfunded"), r.get("balance_after")))
    return sorted(rows)


def rated_rows_of_store(client) -> list[tuple]:
    result = client.query(
        "SELECT record_id, status, toString(charge), toString(total), toString(unfunded), toString(balance_after) "
        "FROM revguard.rated_usage FINAL"
    ).result_rows
    return sorted(_row(*r) for r in result)


def _row(record_id, status, charge, total, unfunded, balance_after) -> tuple:
    def money(value):
        return Decimal(value) if value not in (None, "", "\\N") else None

    # The store keeps 0 where the engine leaves money null (duplicates, rejects).
    return (record_id, status, money(charge) or Decimal(0), money(total) or Decimal(0),
            money(unfunded) or Decimal(0), money(balance_after))


def balances_of_store(client) -> dict[str, tuple]:
    rows = client.query(
        "SELECT msisdn, toString(balance), blocked, toString(cycle_total) FROM revguard.balances FINAL"
    ).result_rows
    return {m: (b, blocked, total) for m, b, blocked, total in rows}


def alerts_of_store(client) -> list[str]:
    return sorted(r[0] for r in client.query("SELECT alert_id FROM revguard.alerts FINAL").result_rows)


def flow_command(bootstrap: str, topics: StreamTopics, *extra: str) -> list[str]:
    prefix = topics.network[: -len(StreamTopics().network)]
    return [
        sys.executable, "-m", "flows.cli", "--kafka-bootstrap", bootstrap, "run", "rating",
        "--topic-prefix", prefix, "--partitions", str(PARTITIONS), *extra,
    ]


def flow_process(command: list[str], home: Path, store_url: str, log: Path,
                 extra_environment: dict[str, str] | None = None) -> subprocess.Popen:
    environment = {**os.environ, "REVGUARD_HOME": str(home), "REVGUARD_CLICKHOUSE_URL": store_url,
                   **(extra_environment or {})}
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=REPO, env=environment, stdout=output, stderr=subprocess.STDOUT)


def wait_for(process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"flow did not stop within {timeout} s:\n{log.read_text()[-3000:]}")
    assert code == 0, f"flow exited with {code}:\n{log.read_text()[-3000:]}"


def wait_until(condition, timeout: float = 30.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)


def read_topic(bootstrap: str, topic: str, partitions: int = PARTITIONS, timeout: float = 20.0) -> list[dict]:
    """Every message of `topic` now, as parsed JSON values."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader", "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values, at_end, deadline = [], set(), time.monotonic() + timeout
    try:
        while len(at_end) < partitions and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                if message.error() is None:
                    values.append(json.loads(message.value()))
                elif message.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
    finally:
        consumer.close()
    assert len(at_end) == partitions, f"{topic}: end of every partition not reached"
    return values


@contextmanager
def running_flow(store_url: str | None, bootstrap: str, options: StreamOptions, recovery_dir: Path, **kwargs):
    """`run_rating_flow` in a thread until the block ends, then stopped as SIGTERM would; yields
    a dict that gets the flow's totals (or its error, raised when the block ends)."""
    with stopped_at_block_end(lambda stop: run_rating_flow(store_url, bootstrap, options=options,
                                                           recovery_dir=recovery_dir, stop=stop, **kwargs),
                              "the rating flow") as outcome:
        yield outcome


def rated_message(bootstrap: str, topic: str, record_id: str, timeout: float = 30.0) -> dict:
    """The first message of the rated topic for `record_id`, waiting for it to be published."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-waiter"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.2):
                if message.error() is None:
                    value = json.loads(message.value())
                    if value.get("record_id") == record_id:
                        return value
    finally:
        consumer.close()
    raise AssertionError(f"{record_id} not published to {topic} within {timeout} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

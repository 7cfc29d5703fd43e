"""Bytewax 0.21.1's Kafka connectors against the Tansu broker: the ground the rating flow stands on.

KafkaSource assigns partitions itself (no consumer group) and keeps each partition's next
offset in the recovery snapshot, so it needs from the broker only Metadata, Fetch with a
correct high watermark (for the non-tailing end-of-partition stop) and Produce.

Not usable with Tansu 0.6.0: `starting_offset=OFFSET_END`. Tansu answers ListOffsets(latest)
with the base offset of the last record batch plus one instead of the log end, so a source
starting "at the end" re-reads most of the last batch. Start from OFFSET_BEGINNING and let
the recovery snapshot carry the position instead.
"""
import pickle
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import bytewax.operators as op
import pytest
from bytewax.connectors.kafka import KafkaSink, KafkaSinkMessage, KafkaSource
from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import cluster_main, run_main
from confluent_kafka import Producer

from tests.kafka.reading import read_to_end as read_messages

pytestmark = pytest.mark.kafka

EPOCH = timedelta(milliseconds=100)


class Interrupted(Exception):
    """Stands in for a crash of the flow's process."""


def produce_numbered(bootstrap, topic, first, count, subscribers=37):
    """Messages first..first+count-1, value = the number, keyed by one of `subscribers` keys."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(first, first + count):
        producer.produce(topic, key=b"4479%08d" % (i % subscribers), value=b"%d" % i)
    assert producer.flush(15) == 0


def read_to_end(bootstrap, topic, partitions):
    """(partition, key, number) of every message: values are the numbers produce_numbered wrote."""
    return [(p, key, int(value)) for p, _offset, key, value in read_messages(bootstrap, topic, partitions)]


def copy_flow(bootstrap, source_topic, sink_topic, *, tail=False, crash_on=None):
    """source_topic -> sink_topic unchanged; raises Interrupted on the value `crash_on`."""

    def crash(_step, msg):
        if crash_on is not None and msg.value == crash_on:
            raise Interrupted()

    flow = Dataflow("copy")
    messages = op.input(
        "in", flow, KafkaSource([bootstrap], [source_topic], tail=tail, batch_size=250)
    )
    messages = op.inspect("crash", messages, crash)
    out = op.map("to_sink", messages, lambda m: KafkaSinkMessage(m.key, m.value))
    op.output("out", out, KafkaSink([bootstrap], sink_topic))
    return flow


def committed_offsets(recovery: Path, step_id: str = "copy.in") -> int:
    """The sum of the source partitions' next offsets in the last committed recovery snapshot
    (offsets start at 0, so: how many messages a resumed run would skip)."""
    with sqlite3.connect(recovery / "part-0.sqlite3") as db:
        [(commit,)] = db.execute("SELECT max(commit_epoch) FROM commits").fetchall()
        if commit is None:
            return 0
        rows = db.execute("SELECT state_key, ser_change FROM snaps WHERE step_id = ? AND snap_epoch <= ? "
                          "ORDER BY snap_epoch", (step_id, commit)).fetchall()
    latest = {key: pickle.loads(change) if change is not None else None for key, change in rows}
    return sum(offset for offset in latest.values() if offset is not None)


def wait_until(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def per_key_values(messages):
    values = {}
    for _partition, key, value in messages:
        values.setdefault(key, []).append(value)
    return values


def test_source_reads_all_partitions_and_sink_writes_every_message(kafka_bootstrap, topic_factory):
    source, sink = topic_factory("bw-in", partitions=3), topic_factory("bw-out", partitions=3)
    produce_numbered(kafka_bootstrap, source, 0, 3000)

    run_main(copy_flow(kafka_bootstrap, source, sink))

    out = read_to_end(kafka_bootstrap, sink, 3)
    assert sorted(value for _p, _k, value in out) == list(range(3000))
    # One subscriber's records keep their order through the flow: key k got k, k+37, ...
    assert per_key_values(out) == {
        b"4479%08d" % k: list(range(k, 3000, 37)) for k in range(37)
    }


def test_two_workers_share_the_partitions_and_read_each_message_once(
    kafka_bootstrap, topic_factory
):
    source, sink = topic_factory("bw2-in", partitions=3), topic_factory("bw2-out", partitions=1)
    produce_numbered(kafka_bootstrap, source, 0, 1500)

    cluster_main(copy_flow(kafka_bootstrap, source, sink), [], 0, worker_count_per_proc=2)

    assert sorted(value for _p, _k, value in read_to_end(kafka_bootstrap, sink, 1)) == list(
        range(1500)
    )


def test_rerun_resumes_from_the_recovery_snapshot_and_reads_only_new_messages(
    kafka_bootstrap, topic_factory, tmp_path
):
    source, sink = topic_factory("bwr-in", partitions=3), topic_factory("bwr-out", partitions=1)
    init_db_dir(tmp_path, 1)
    recovery = RecoveryConfig(str(tmp_path))
    produce_numbered(kafka_bootstrap, source, 0, 1000)
    run_main(copy_flow(kafka_bootstrap, source, sink), epoch_interval=EPOCH, recovery_config=recovery)

    produce_numbered(kafka_bootstrap, source, 1000, 200)
    run_main(copy_flow(kafka_bootstrap, source, sink), epoch_interval=EPOCH, recovery_config=recovery)

    # A clean end snapshots the final offsets: 1000 + 200 messages, each exactly once.
    assert sorted(value for _p, _k, value in read_to_end(kafka_bootstrap, sink, 1)) == list(
        range(1200)
    )


def test_tailing_flow_interrupted_midway_resumes_from_its_snapshot_and_loses_nothing(
    kafka_bootstrap, topic_factory, tmp_path
):
    source, sink = topic_factory("bwc-in", partitions=3), topic_factory("bwc-out", partitions=1)
    init_db_dir(tmp_path, 1)
    recovery = RecoveryConfig(str(tmp_path))
    produce_numbered(kafka_bootstrap, source, 0, 1000)
    crashes = []

    def first_run():
        try:
            run_main(
                copy_flow(kafka_bootstrap, source, sink, tail=True, crash_on=b"-1"),
                epoch_interval=EPOCH,
                recovery_config=recovery,
            )
        except Exception as exc:  # noqa: BLE001 - the crash is what this run is for
            crashes.append(exc)

    runner = threading.Thread(target=first_run)
    runner.start()
    wait_until(lambda: len(read_to_end(kafka_bootstrap, sink, 1)) >= 1000, "the first 1000 copied")
    # Idle epochs close: a committed snapshot holds offsets past all 1000 (waited for, not
    # slept on: a fixed sleep raced the epochs on a loaded machine).
    wait_until(lambda: committed_offsets(tmp_path) == 1000, "offsets 1000 committed")
    produce_numbered(kafka_bootstrap, source, -1, 1)  # the message that "crashes" the process
    runner.join(20)
    assert not runner.is_alive() and isinstance(crashes[0].__cause__, Interrupted)
    produce_numbered(kafka_bootstrap, source, 1000, 1000)

    run_main(copy_flow(kafka_bootstrap, source, sink), epoch_interval=EPOCH, recovery_config=recovery)

    out = [value for _p, _k, value in read_to_end(kafka_bootstrap, sink, 1)]
    # Nothing missing: 0..1999, and -1, which the resumed run copies like any other.
    assert set(out) == set(range(-1, 2000))
    # Resumed from the snapshot: the first 1000 were not copied a second time.
    assert len(out) == 1000 + 1 + 1000

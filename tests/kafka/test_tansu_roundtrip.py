"""Produce and consume through the Tansu broker with confluent-kafka, as the flows will."""
import socket
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from flows.kafka.broker import BrokerStartError, LocalBroker
from flows.kafka.settings import consumer_config, producer_config
from flows.kafka.topics import ALL_TOPICS, ensure_topics
from tests.kafka.reading import read_to_end

pytestmark = pytest.mark.kafka

# Tansu answers a JoinGroup after about half the session timeout; librdkafka's default of
# 45 s would make every group test wait ~23 s.
FAST_GROUP = {"session.timeout.ms": "2000", "heartbeat.interval.ms": "500"}


def env_for(bootstrap):
    return {"REVGUARD_KAFKA_BOOTSTRAP": bootstrap}


def produce_all(bootstrap, topic, pairs):
    producer = Producer(producer_config(env_for(bootstrap)))
    failures = []
    for key, value in pairs:
        producer.produce(topic, key=key, value=value, on_delivery=lambda e, m: e and failures.append(e))
    assert producer.flush(15) == 0
    assert failures == []


def test_each_key_stays_in_one_partition_in_production_order(kafka_bootstrap, topic_factory):
    topic = topic_factory("order", partitions=3)
    # 12 subscribers, 25 records each, interleaved the way network events arrive.
    pairs = [(b"4479000000%02d" % (i % 12), b"%d" % i) for i in range(300)]
    produce_all(kafka_bootstrap, topic, pairs)

    messages = read_to_end(kafka_bootstrap, topic, 3)

    assert len(messages) == 300
    partitions_of_key, values_of_key = {}, {}
    for partition, _offset, key, value in sorted(messages):  # partition, then offset order
        partitions_of_key.setdefault(key, set()).add(partition)
        values_of_key.setdefault(key, []).append(int(value))
    assert all(len(parts) == 1 for parts in partitions_of_key.values())
    # Key k was given values k, k+12, k+24, ... : the same list in the same order.
    assert values_of_key == {b"4479000000%02d" % k: list(range(k, 300, 12)) for k in range(12)}
    # 12 keys over 3 partitions: the keys really were spread (not all in one partition).
    assert len({p for parts in partitions_of_key.values() for p in parts}) > 1


def test_consumer_group_resumes_after_its_committed_offset(kafka_bootstrap, topic_factory):
    topic = topic_factory("resume", partitions=1)
    produce_all(kafka_bootstrap, topic, [(b"k", b"%d" % i) for i in range(10)])
    config = {**consumer_config("resume-group", env_for(kafka_bootstrap)), **FAST_GROUP}

    first = Consumer(config)
    first.subscribe([topic])
    read = []
    deadline = time.monotonic() + 20
    while len(read) < 4 and time.monotonic() < deadline:
        read += [m for m in first.consume(4 - len(read), 0.5) if m.error() is None]
    # Commit after the 4th message (offset 3): the next one to read is offset 4.
    first.commit(offsets=[TopicPartition(topic, 0, read[-1].offset() + 1)], asynchronous=False)
    first.close()

    second = Consumer(config)
    second.subscribe([topic])
    rest = []
    deadline = time.monotonic() + 20
    while len(rest) < 6 and time.monotonic() < deadline:
        rest += [m.value() for m in second.consume(10, 0.5) if m.error() is None]
    committed = second.committed([TopicPartition(topic, 0)], timeout=10)
    second.close()

    assert [m.value() for m in read] == [b"0", b"1", b"2", b"3"]
    assert rest == [b"4", b"5", b"6", b"7", b"8", b"9"]
    assert committed[0].offset == 4


def test_partition_end_is_reported_after_the_last_message_of_several_batches(
    kafka_bootstrap, topic_factory
):
    # Bytewax's non-tailing KafkaSource stops at partition EOF; it must not come early.
    topic = topic_factory("eof", partitions=1)
    for batch in (10, 5, 1, 7):
        produce_all(kafka_bootstrap, topic, [(b"k", b"v")] * batch)
    # 10 + 5 + 1 + 7 = 23 messages, offsets 0..22.
    messages = read_to_end(kafka_bootstrap, topic, 1)
    assert [offset for _p, offset, _k, _v in messages] == list(range(23))


def test_ensure_topics_creates_only_the_missing_ones(kafka_bootstrap, topic_factory):
    existing = topic_factory("existing", partitions=2)
    fresh = f"fresh-{existing}"
    conf = {"bootstrap.servers": kafka_bootstrap}

    created = ensure_topics(conf, 4, [existing, fresh])

    assert created == [fresh]
    topics = AdminClient(conf).list_topics(timeout=10).topics
    assert len(topics[existing].partitions) == 2  # left as it was
    assert len(topics[fresh].partitions) == 4
    assert ensure_topics(conf, 4, [existing, fresh]) == []


def test_spec_topic_names():
    assert ALL_TOPICS == (
        "revguard.usage.network",
        "revguard.usage.billed",
        "revguard.balance.adjustments",
        "revguard.usage.rated",
        "revguard.rejects",
        "revguard.alerts",
    )


def test_broker_that_exits_at_once_fails_with_its_output(tmp_path):
    fake = tmp_path / "tansu"
    fake.write_text("#!/bin/sh\necho 'address already in use' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerStartError, match=r"exited with status 3[\s\S]*address already in use"):
        LocalBroker(binary=str(fake)).start()


def test_stopped_broker_no_longer_accepts_connections():
    with LocalBroker() as broker:
        host, port = broker.bootstrap.split(":")
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()

"""Reading a topic for a person (`revguard kafka read`): messages in arrival order per partition.

The reader assigns itself every partition of the topic instead of joining a consumer group.
It commits nothing and needs no coordinator, and it avoids a delay of Tansu 0.6 (the local
broker): a new group member's JoinGroup request is held for half its `session.timeout.ms`
before the broker answers (measured: 5.0 s at 10 s, ~23 s at librdkafka's default 45 s),
so a consumer that subscribed and gave up sooner got nothing, and its LeaveGroup request,
queued behind the held join, timed out. The rating flow reads its partitions the same way
(Bytewax's Kafka source assigns partitions and keeps offsets in its own snapshots).
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

# librdkafka's own log lines ("Connect to ... failed") would otherwise go to stderr beside
# the command's one-line error; failures reach the command as exceptions instead.
_quiet = logging.getLogger("revguard.kafka.client")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


class TopicUnavailable(ValueError):
    """The broker cannot be reached, or it has no such topic."""


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def quiet(conf: Mapping[str, str]) -> dict:
    """A client config whose librdkafka log lines go nowhere (errors still raise)."""
    return {**conf, "logger": _quiet}


def topic_partitions(conf: Mapping[str, str], topic: str, timeout_s: float = 10.0) -> list[int]:
    """The partition numbers of `topic`; TopicUnavailable if the broker or the topic is missing."""
    admin = AdminClient(quiet(conf))
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise TopicUnavailable(f"cannot reach Kafka at {conf.get('bootstrap.servers')}: {exc.args[0].str()}") from None
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        known = ", ".join(sorted(name for name in metadata.topics if not name.startswith("__"))) or "none"
        raise TopicUnavailable(f"no topic {topic!r} at {conf.get('bootstrap.servers')} (topics there: {known})")
    return sorted(found.partitions)


def topic_messages(
    conf: Mapping[str, str],
    topic: str,
    *,
    from_beginning: bool = False,
    to_end: bool = False,
    max_messages: int | None = None,
    poll_s: float = 0.5,
) -> Iterator[Message]:
    """Messages of every partition of `topic` as they come: until `max_messages`, or with
    `to_end` until the end of every partition has been reached, else until the caller stops
    iterating. Starts at each partition's first message, or at its current end."""
    partitions = topic_partitions(conf, topic)
    consumer = Consumer(quiet({**conf, "group.id": "revguard-read", "enable.auto.commit": False,
                               "enable.partition.eof": True}))
    start = OFFSET_BEGINNING if from_beginning else OFFSET_END
    consumer.assign([TopicPartition(topic, p, start) for p in partitions])
    at_end: set[int] = set()
    count = 0
    try:
        while max_messages is None or count < max_messages:
            if to_end and len(at_end) == len(partitions):
                return
            for msg in consumer.consume(500, poll_s):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(msg.partition())
                        continue
                    raise TopicUnavailable(f"reading {topic!r}: {error.str()}")
                yield Message(msg.partition(), msg.offset(), msg.key(), msg.value())
                count += 1
                if max_messages is not None and count >= max_messages:
                    return
    finally:
        consumer.close()


"""Reading a test topic back: every message of every partition, up to the end."""
from __future__ import annotations

import time

from confluent_kafka import Consumer, KafkaError, TopicPartition


def read_to_end(bootstrap: str, topic: str, partitions: int = 1) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """Every message as (partition, offset, key, value), in partition order; fails if the end
    of some partition is not reached within 20 s."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "reader", "enable.partition.eof": True}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    messages, at_end, deadline = [], set(), time.monotonic() + 20
    try:
        while len(at_end) < partitions and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is None:
                    messages.append((msg.partition(), msg.offset(), msg.key(), msg.value()))
                elif msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                else:
                    raise AssertionError(msg.error())
    finally:
        consumer.close()
    assert len(at_end) == partitions, "timed out before the end of every partition"
    return messages

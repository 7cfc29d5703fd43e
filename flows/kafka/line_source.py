"""Kafka topics as a Bytewax source of `LineBatch`es: one batch of raw values per poll.

One source partition per Kafka partition (`topic:partition`), each with its own consumer
assigned to it (no consumer group: the recovery snapshot holds the next offset, so a
resumed flow reads exactly what its last committed epoch had not). A fresh partition
starts at the beginning; Tansu answers "latest offset" requests wrongly, and a rating
flow must not skip records anyway.

Polls never block a worker: `consume` takes what librdkafka has prefetched, and a poll
that hands nothing over asks Bytewax to come back a few milliseconds later
(`next_awake`), so the worker keeps rating in between. A batch is handed over when it
holds `batch_size` records or at the first tick of a `linger_s` grid after its first
record: every batch costs each step a fixed few milliseconds (a call into Arrow costs tens of
microseconds, and a step makes dozens), so a trickle of records must not become a trickle of
one-record batches. The grid is shared by every partition of the process, so the partitions'
batches are handed over in the same activation and the steps downstream rate and encode them
together, in one call per tick instead of one per partition.

Stopping: `stop` (an Event, set on SIGTERM) ends every partition at its next poll;
`until_idle_s` ends a partition once it has reached the end of its log and seen nothing
new for that long (tests and benchmarks); by default a partition reads forever.
"""
from __future__ import annotations

import datetime as dt
import gc
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from flows import holds
from flows.batches import LineBatch

_EMPTY_POLL_BACKOFF = dt.timedelta(milliseconds=5)


@dataclass(frozen=True)
class PartitionProgress:
    """What a partition reports after each poll (for metrics and logs)."""

    stream: str
    origin: str  # topic:partition
    records: int  # values in this poll
    next_offset: int
    high_watermark: int  # -1 when not known yet


def next_tick(now: float, linger_s: float) -> float:
    """The first multiple of `linger_s` after `now` (the same grid for every partition)."""
    if linger_s <= 0:
        return now
    return (now // linger_s + 1) * linger_s


class _LinePartition(StatefulSourcePartition[LineBatch, int]):
    def __init__(
        self,
        conf: Mapping[str, str],
        stream: str,
        topic: str,
        partition: int,
        resume_offset: int | None,
        batch_size: int,
        until_idle_s: float | None,
        stop: threading.Event,
        on_poll: Callable[[PartitionProgress], None] | None,
        linger_s: float,
    ) -> None:
        self._consumer = Consumer(
            {
                **conf,
                # librdkafka wants a group id even for assigned partitions; nothing is committed.
                "group.id": conf.get("group.id", "revguard-rating"),
                "enable.auto.commit": "false",
                "enable.auto.offset.store": "false",
                "enable.partition.eof": "true",
                # The broker holds an empty fetch this long: every partition has its own
                # consumer, and at 20 ms the idle ones kept a Tansu broker 21 % busy (3 % at 200).
                "fetch.wait.max.ms": conf.get("fetch.wait.max.ms", "50"),
            }
        )
        self._tp = TopicPartition(topic, partition, OFFSET_BEGINNING if resume_offset is None else resume_offset)
        self._consumer.assign([self._tp])
        self._stream = stream
        self._origin = f"{topic}:{partition}"
        self._next = resume_offset if resume_offset is not None else 0
        self._batch_size = batch_size
        self._until_idle_s = until_idle_s
        self._stop = stop
        self._on_poll = on_poll
        self._at_end = False
        self._last_data = time.monotonic()
        self._awake: dt.datetime | None = None
        self._linger_s = linger_s
        # Polled but not handed over yet (a batch fills up for at most linger_s).
        self._values: list[bytes] = []
        self._offsets: list[int] = []
        self._release_at = 0.0  # monotonic time of the tick that hands the buffered batch over

    def next_batch(self) -> list[LineBatch]:
        if self._stop.is_set():
            raise StopIteration()
        polled = self._poll()
        now = time.monotonic()
        if polled:
            self._last_data = now
        ready = len(self._values) >= self._batch_size or (
            self._values and now >= self._release_at
        )
        idle = self._until_idle_s is not None and self._at_end and now - self._last_data >= self._until_idle_s
        if idle and not self._values:
            raise StopIteration()
        batches: list[LineBatch] = []
        if ready or idle:
            batches = contiguous_batches(self._stream, self._origin, self._offsets, self._values)
            self._next = self._offsets[-1] + 1
            self._values, self._offsets = [], []
            self._awake = None
        elif self._values:
            wait = max(self._release_at - now, 0.0)
            self._awake = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=wait)
        else:
            self._awake = dt.datetime.now(dt.timezone.utc) + _EMPTY_POLL_BACKOFF
        if self._on_poll is not None:
            records = sum(len(b.lines) for b in batches)
            self._on_poll(PartitionProgress(self._stream, self._origin, records, self._next, self._high_watermark()))
        return batches

    def _poll(self) -> int:
        """Moves what the consumer has fetched into the batch buffer; returns how many messages
        (records and events) the poll gave.

        The cycle collector is paused meanwhile: a poll creates a Message object per record,
        garbage a moment later and freed by reference counting, and young collections walking
        thousands of them took about a tenth of the stream's time under load.
        """
        wanted = self._batch_size - len(self._values)
        if holds.ACTIVE and self._stream == "network" and (limit := holds.source_limit()) is not None:
            wanted = min(wanted, limit - self._next - len(self._values))  # a test holds the source here
            if wanted <= 0:
                return 0
        enabled = gc.isenabled()
        gc.disable()
        try:
            messages = self._consumer.consume(wanted, 0)
            if messages:
                errors = [message.error() for message in messages]
                if not [error for error in errors if error is not None]:  # (KafkaError == None raises)
                    # The usual poll, all records: taken whole (a loop per message cost ~1 us each).
                    if not self._values:
                        self._release_at = next_tick(time.monotonic(), self._linger_s)
                    self._values.extend([message.value() or b"" for message in messages])
                    self._offsets.extend([message.offset() for message in messages])
                    self._at_end = False
                else:
                    self._take_one_by_one(messages, errors)
            polled = len(messages)
            del messages  # freed before collections resume, so none of them walks these
        finally:
            if enabled:
                gc.enable()
        return polled

    def _take_one_by_one(self, messages: list, errors: list) -> None:
        """A poll with events among its records (end of partition, errors)."""
        for message, error in zip(messages, errors):
            if error is None:
                if not self._values:
                    self._release_at = next_tick(time.monotonic(), self._linger_s)
                self._values.append(message.value() or b"")
                self._offsets.append(message.offset())
                self._at_end = False
            elif error.code() == KafkaError._PARTITION_EOF:
                self._at_end = True
            elif error.fatal() or not error.retriable():
                raise KafkaException(error)

    def next_awake(self) -> dt.datetime | None:
        return self._awake

    def snapshot(self) -> int:
        return self._next

    def close(self) -> None:
        self._consumer.close()

    def _high_watermark(self) -> int:
        try:
            # From the last fetch response: no request to the broker.
            return int(self._consumer.get_watermark_offsets(self._tp, cached=True)[1])
        except KafkaException:
            return -1


def contiguous_batches(stream: str, origin: str, offsets: list[int], values: list[bytes]) -> list[LineBatch]:
    """`LineBatch`es of consecutive offsets: a gap (compaction, transaction markers) starts a new one."""
    if not values:
        return []
    if offsets[-1] - offsets[0] == len(offsets) - 1:
        return [LineBatch(stream, origin, offsets[0], tuple(values))]
    batches, start = [], 0
    for i in range(1, len(offsets) + 1):
        if i == len(offsets) or offsets[i] != offsets[i - 1] + 1:
            batches.append(LineBatch(stream, origin, offsets[start], tuple(values[start:i])))
            start = i
    return batches


class KafkaLineSource(FixedPartitionedSource[LineBatch, int]):
    """Every partition of `topics` (stream name -> topic) as `LineBatch`es of raw values."""

    def __init__(
        self,
        conf: Mapping[str, str],
        topics: Mapping[str, str],
        *,
        batch_size: int = 10_000,
        until_idle_s: float | None = None,
        stop: threading.Event | None = None,
        on_poll: Callable[[PartitionProgress], None] | None = None,
        linger_s: float = 0.2,
    ) -> None:
        self._conf = dict(conf)
        self._linger_s = linger_s
        self._streams = {topic: stream for stream, topic in topics.items()}
        self._batch_size = batch_size
        self._until_idle_s = until_idle_s
        self._stop = stop or threading.Event()
        self._on_poll = on_poll

    def list_parts(self) -> list[str]:
        metadata = AdminClient(self._conf).list_topics(timeout=30)
        parts = []
        for topic in self._streams:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                raise RuntimeError(f"Kafka topic {topic!r} is not available: {found.error if found else 'missing'}")
            parts.extend(f"{topic}:{p}" for p in sorted(found.partitions))
        return parts

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _LinePartition:
        topic, _, partition = for_part.rpartition(":")
        return _LinePartition(
            self._conf, self._streams[topic], topic, int(partition), resume_state,
            self._batch_size, self._until_idle_s, self._stop, self._on_poll, self._linger_s,
        )

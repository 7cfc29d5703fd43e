"""`revguard replay DIR [--speed X]`: a simulated (or exported) directory into Kafka, in event time.

The three streams of SPEC section 1 are merged into one event-time order (network records by
`start_time`, adjustments by `time`, billed records by `billed_at`; an adjustment first on a
tie, as `revguard rate` orders them) and produced to their topics, keyed by msisdn. With
`--speed X` an event-time second takes 1/X wall seconds (`--speed 60`: a simulated hour a
minute), so the stream sees traffic arrive as an operator's would, only faster; without it
everything is produced as fast as the broker takes it. A line whose time cannot be read is
produced where it was read (the flow rejects it with a reason; it is never left out).

`--as-delivered` keeps network records in the file's order instead: the simulator writes
them as mediation delivered them, some late (minutes after their start), and the stream's
network alerts have to live with that lateness. They are paced by the latest start time read.
The simulator writes one chunk of subscribers after the other, each in delivery order: a
step back in time of hours starts a new run, and runs are merged by their latest start time.
"""
from __future__ import annotations

import heapq
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException, Producer

from flows.errors import InputError
from flows.kafka import topics as names
from flows.kafka.produce import DeliveryError, record_key

# file name, topic, event-time field, rank on a tie (adjustments first)
STREAMS = (
    ("adjustments.ndjson", names.BALANCE_ADJUSTMENTS, "time", 0),
    ("network.ndjson", names.NETWORK_USAGE, "start_time", 1),
    ("billed.ndjson", names.BILLED_USAGE, "billed_at", 2),
)
SEGMENT_BREAK_S = 6 * 3600  # lateness is minutes; a step back this large starts a new delivery-ordered run
_MSISDN = re.compile(rb'"msisdn"\s*:\s*"([^"\\]*)"')


@dataclass(frozen=True)
class ReplaySummary:
    produced: Mapping[str, int]  # topic -> messages
    event_span_s: float  # first to last event time
    wall_s: float


def _timestamps(path: Path, field: str, rank: int, running_max: bool = False) -> Iterator[tuple[float, int, int, bytes]]:
    """(event time as epoch seconds, rank, line number, line) of each line, in file order;
    with `running_max`, the latest event time so far (file order is then event-time order)."""
    import datetime as dt

    pattern = re.compile(rb'"' + field.encode() + rb'"\s*:\s*"([^"\\]*)"')
    last = float("-inf")
    segment = 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines):
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            found = pattern.search(line)
            try:
                moment = dt.datetime.fromisoformat(found.group(1).decode().replace("Z", "+00:00")).timestamp() if found else last
            except ValueError:
                moment = last
            if running_max and moment != float("-inf") and moment < last - SEGMENT_BREAK_S:
                segment += 1  # the file starts over in time: a new segment (the simulator writes a chunk of
                last = moment  # subscribers at a time, each chunk in delivery order)
            last = max(last, moment) if running_max else moment
            moment = last if running_max else moment
            yield moment, rank, (segment, number) if running_max else number, line


def replay_directory(directory: Path, conf: Mapping[str, str], *, speed: float | None = None, topic_prefix: str = "",
                     progress: bool = False, as_delivered: bool = False) -> ReplaySummary:
    """Produces the directory's streams in event-time order; returns what went where."""
    directory = Path(directory)
    present = [(directory / f, topic_prefix + t, field, rank) for f, t, field, rank in STREAMS if (directory / f).exists()]
    if not any(f.name == "network.ndjson" for f, *_ in present):
        raise InputError(f"{directory}: no network.ndjson to replay")
    # Each file is sorted on its own (the simulator writes them nearly in order), then merged.
    sorted_streams = []
    for path, topic, field, rank in present:
        delivered = as_delivered and path.name == "network.ndjson"
        rows = sorted(_timestamps(path, field, rank, delivered), key=lambda r: (r[0], r[2]))
        sorted_streams.append([(moment, rank, number, line, topic) for moment, rank, number, line in rows])
    total = sum(len(s) for s in sorted_streams)
    producer = Producer({**conf, "partitioner": "murmur2_random", "linger.ms": "5"})
    failures: list[str] = []
    produced: dict[str, int] = {}

    def delivered(error, _message) -> None:
        if error is not None:
            failures.append(str(error))

    first_event = last_event = None
    began = time.monotonic()
    bar = _progress_bar(total) if progress else None
    try:
        for count, (moment, _rank, _number, line, topic) in enumerate(heapq.merge(*sorted_streams, key=lambda r: (r[0], r[1], r[2]))):
            if moment != float("-inf"):
                first_event = moment if first_event is None else first_event
                last_event = moment
                if speed:
                    due = began + (moment - first_event) / speed
                    while (wait := due - time.monotonic()) > 0:
                        producer.poll(min(wait, 0.05))
            while True:
                try:
                    producer.produce(topic, line, record_key(line, "msisdn", _MSISDN), on_delivery=delivered)
                    break
                except BufferError:
                    producer.poll(0.1)
                except KafkaException as exc:
                    raise DeliveryError(f"cannot produce to {topic!r}: {exc}") from exc
            produced[topic] = produced.get(topic, 0) + 1
            producer.poll(0)
            if bar is not None and count % 1000 == 0:
                bar[0].update(bar[1], completed=count)
        if producer.flush(60) or failures:
            raise DeliveryError(f"replay not acknowledged by the broker: {failures[0] if failures else 'time-out'}")
    finally:
        if bar is not None:
            bar[0].update(bar[1], completed=total)
            bar[0].stop()
    span = (last_event - first_event) if first_event is not None else 0.0
    return ReplaySummary(produced, span, time.monotonic() - began)


def _progress_bar(total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False)
    progress.start()
    return progress, progress.add_task("replay", total=total)

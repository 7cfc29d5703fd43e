"""Baseline: how fast can one Python process pull usage records out of a Kafka topic?

Starts its own in-memory Tansu broker, produces N network usage records (~300 bytes of
JSON each, keyed by msisdn) and times, over the whole topic:

  produce          producer.produce per record, lz4, idempotent (the project's producer config)
  consume          confluent-kafka consume(num_messages=10000) batches, values touched only
  consume+json     ... + json.loads of every value (a per-record Python parse)
  consume+arrow    ... + pyarrow.json.read_json of each batch joined by newlines, with the
                   network record schema (the columnar path the rating flow will take)

Usage: python -m bench.kafka_baseline [N] [--partitions P]     (N defaults to 1,000,000)
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable, Iterator

import pyarrow.json as pa_json
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from flows.kafka.broker import LocalBroker
from flows.kafka.settings import producer_config
from rating.records import NETWORK_SCHEMA  # the baseline parses exactly what the flow parses

TOPIC = "bench.usage.network"
CONSUME_BATCH = 10_000



def network_records(count: int, subscribers: int = 50_000) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs of plausible network usage records, deterministic."""
    services = ("voice", "sms", "data")
    for i in range(count):
        msisdn = "4479%08d" % (i * 7919 % subscribers)
        service = services[i % 3]
        record = {
            "record_id": "mediation-msc-cdr-2026-11-02-%016d" % i,
            "msisdn": msisdn,
            "service": service,
            "start_time": "2026-11-02T%02d:%02d:%02dZ" % (i // 3600 % 24, i // 60 % 60, i % 60),
            "duration_s": (i * 37 % 900) if service == "voice" else 0,
            "volume_bytes": (i * 104_729 % 50_000_000) if service == "data" else 0,
            "destination": "" if service == "data" else "4479%08d" % (i * 31 % 10**8),
            "roaming_mccmnc": "20801" if i % 50 == 0 else "",
            "element_id": ("pgw-%02d" if service == "data" else "msc-%02d") % (i % 12),
            "cell_id": "234-15-%05d-%05d" % (i % 65_000, i * 13 % 65_000),
        }
        yield msisdn.encode(), json.dumps(record).encode()


def produce(bootstrap: str, count: int) -> tuple[float, int]:
    """Seconds to produce and acknowledge `count` records, and the bytes of their values.

    The records are generated before the clock starts: json.dumps is not the producer's cost.
    """
    records = list(network_records(count))
    payload = sum(len(value) for _key, value in records)
    producer = Producer(producer_config({"REVGUARD_KAFKA_BOOTSTRAP": bootstrap}))
    started = time.perf_counter()
    for n, (key, value) in enumerate(records, 1):
        while True:
            try:
                producer.produce(TOPIC, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
        if n % 10_000 == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    if remaining:
        sys.exit(f"{remaining} records were not acknowledged")
    return time.perf_counter() - started, payload


def consume_all(
    bootstrap: str, partitions: int, expected: int, handle: Callable[[list], int]
) -> tuple[float, float, int]:
    """Wall and CPU seconds to read `expected` messages applying `handle`, and its rows.

    CPU time is this process's, librdkafka's threads included: on a shared machine it says
    more about the cost per record than the wall clock does.

    The clock stops at the last message, not at end-of-partition: a fetch at the end of
    a partition waits fetch.wait.max.ms for more data, which is idle time, not throughput.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(partitions)])
    at_end: set[int] = set()
    messages = rows = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while messages < expected:
        if len(at_end) == partitions:
            sys.exit(f"topic ended after {messages:,} of {expected:,} messages")
        # consume() blocks until it has num_messages or the timeout passes; a short timeout
        # keeps the last, partial batch from idling (Bytewax itself polls with 1 ms).
        batch = consumer.consume(num_messages=CONSUME_BATCH, timeout=0.05)
        good = []
        for msg in batch:
            err = msg.error()
            if err is None:
                good.append(msg)
            elif err.code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
            else:
                sys.exit(f"consume failed: {err}")
        messages += len(good)
        rows += handle(good)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    consumer.close()
    if messages != expected or rows != expected:
        sys.exit(f"read {messages:,} messages / {rows:,} rows, expected {expected:,}")
    return elapsed, cpu, rows


def values_only(batch: list) -> int:
    return len([msg.value() for msg in batch])


def parse_json(batch: list) -> int:
    return len([json.loads(msg.value()) for msg in batch])


_ARROW_OPTIONS = pa_json.ParseOptions(
    explicit_schema=NETWORK_SCHEMA, unexpected_field_behavior="ignore"
)


def parse_arrow(batch: list) -> int:
    if not batch:
        return 0
    data = b"\n".join(msg.value() for msg in batch)
    table = pa_json.read_json(io.BytesIO(data), parse_options=_ARROW_OPTIONS)
    return table.num_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args(argv)
    if args.count < 1 or args.partitions < 1:
        parser.error("count and partitions must be positive")

    with LocalBroker() as broker:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.create_topics([NewTopic(TOPIC, args.partitions, 1)])[TOPIC].result(timeout=30)

        seconds, payload = produce(broker.bootstrap, args.count)
        print(
            f"records {args.count:,}, partitions {args.partitions}, "
            f"mean value {payload / args.count:.0f} bytes"
        )
        print(f"{'produce':<15} {args.count / seconds:>12,.0f} records/s  ({seconds:.2f} s)")
        for name, handle in (
            ("consume", values_only),
            ("consume+json", parse_json),
            ("consume+arrow", parse_arrow),
        ):
            seconds, cpu, rows = consume_all(broker.bootstrap, args.partitions, args.count, handle)
            mb_s = payload / seconds / 1e6
            print(
                f"{name:<15} {rows / seconds:>12,.0f} records/s  "
                f"({seconds:.2f} s, {mb_s:.0f} MB/s of JSON; "
                f"CPU {cpu * 1e6 / rows:.2f} us/record = {rows / cpu:,.0f} records/CPU-s)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

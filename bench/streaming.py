"""Benchmark of `revguard run rating`: throughput, end-to-end latency, memory with large state.

Starts its own Tansu broker and runs the flow as a separate process (`revguard run rating`,
one worker, embedded chDB store in a temporary REVGUARD_HOME), exactly as an operator would.

1. throughput   N records (default 1,000,000; msisdns from 50,000 subscribers) produced to the
                network topic (4 partitions), then, in this process, raw confluent-kafka
                consume + pyarrow.json parse of the whole topic (the baseline); then the flow
                rates the same topic into ClickHouse (Kafka outputs off: Kafka -> ClickHouse).
                Flow records/s = N / (time of the flow's `stopped` log line - its `first
                records` line - its idle wait), i.e. sustained: from the first records polled
                to the last snapshot, store inserts included; the start-up before the first
                records (imports, dataflow, connections) is reported apart.
2. latency      the flow tails fresh topics with Kafka outputs on; this process produces at a
                steady R records/s (default 20,000) for W + D seconds and reads the rated topic;
                latency = receive time of the rated record - produce call time of its input,
                over the D seconds after a warm-up of W (default 5; its worst case is reported
                too: the first records wait for the flow's connections to start). The load's
                producer lingers L ms (default 25; its produce calls are the start of the
                measured latency, so the linger counts against the flow): at librdkafka's 5 ms
                the broker, which shares this machine's two cores, took 0.7-0.85 of a core
                instead of 0.35, and the flow waited for CPU.
3. state RSS    M records for M distinct subscribers (default 1,000,000), rated by the flow;
                peak RSS of the flow process (sampled every 0.2 s) and its RSS once its
                /metrics count every record rated.

Usage: python -m bench.streaming [--records N] [--rate R] [--seconds D] [--warmup W] [--state-subscribers M]
                                 [--producer-linger-ms L]
                                 [--only throughput|latency|memory] [--pin]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.json as pa_json
from confluent_kafka import Consumer, Producer, TopicPartition

from bench.kafka_baseline import NETWORK_SCHEMA, network_records
from flows.kafka.broker import LocalBroker
from flows.kafka.settings import producer_config
from flows.kafka.topics import ensure_topics
from flows.simulator import simulate
from flows.streaming import StreamTopics
from rating.catalog import load_catalog

PARTITIONS = 4
# `--pin`: the flow gets these CPUs, and this process and the broker the others.
FLOW_CPUS: set[int] | None = None


def _on_cpus(cpus: set[int] | None):
    """A preexec_fn moving the child onto `cpus` (None: leave it where it is)."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)
IDLE_S = 2.0
_ARROW = pa_json.ParseOptions(explicit_schema=NETWORK_SCHEMA, unexpected_field_behavior="ignore")


def reference_directory(root: Path, subscribers: int) -> Path:
    """The simulator's catalog, and `subscribers` msisdns 4479%08d spread over its plans."""
    directory = root / f"reference-{subscribers}"
    simulate(directory, subscribers=20, days=1, seed=1)
    catalog = load_catalog(directory / "catalog.yaml")
    plans = [(p.id, p.payment) for p in catalog.plans.values()]
    with (directory / "subscribers.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["msisdn", "account_id", "plan_id", "payment", "status", "activated_at", "cycle_day",
                         "balance", "credit_limit", "segment"])
        for k in range(subscribers):
            plan, payment = plans[k % len(plans)]
            writer.writerow(["4479%08d" % k, f"A{k}", plan, payment, "active", "2026-01-01T00:00:00Z", 1 + k % 28,
                             "20.00" if payment == "prepaid" else "", "" if payment == "prepaid" else "80.00", "consumer"])
    for name in ("network.ndjson", "billed.ndjson", "adjustments.ndjson", "provisioning.csv"):
        (directory / name).unlink(missing_ok=True)
    return directory


def produce(bootstrap: str, topic: str, count: int, subscribers: int) -> None:
    records = list(network_records(count, subscribers))
    producer = Producer(producer_config({"REVGUARD_KAFKA_BOOTSTRAP": bootstrap}))
    for n, (key, value) in enumerate(records, 1):
        while True:
            try:
                producer.produce(topic, value=value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
        if n % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120):
        sys.exit("records not acknowledged")


def raw_consume_parse(bootstrap: str, topic: str, expected: int) -> float:
    """Records/s of consume(10,000) + pyarrow.json parse per batch over the whole topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench", "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    rows, started = 0, time.perf_counter()
    while rows < expected:
        good = [m for m in consumer.consume(10_000, 0.05) if m.error() is None]
        if good:
            rows += pa_json.read_json(io.BytesIO(b"\n".join(m.value() for m in good)), parse_options=_ARROW).num_rows
    elapsed = time.perf_counter() - started
    consumer.close()
    return expected / elapsed


class FlowProcess:
    """`revguard run rating` in its own REVGUARD_HOME, with the reference loaded first."""

    def __init__(self, root: Path, name: str, bootstrap: str, reference: Path, prefix: str, *extra: str) -> None:
        self.home = root / name
        self.log = root / f"{name}.log"
        self.env = {**os.environ, "REVGUARD_HOME": str(self.home)}
        self.env.pop("REVGUARD_CLICKHOUSE_URL", None)
        subprocess.run([sys.executable, "-m", "flows.cli", "load", str(reference), "--only", "reference"],
                       env=self.env, check=True, capture_output=True)
        command = [sys.executable, "-m", "flows.cli", "--kafka-bootstrap", bootstrap, "run", "rating",
                   "--topic-prefix", prefix, "--partitions", str(PARTITIONS), *extra]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL, stderr=out,
                                            preexec_fn=_on_cpus(FLOW_CPUS))
        self.peak_rss = 0
        self._watch = threading.Thread(target=self._watch_rss, daemon=True)
        self._watch.start()

    def _watch_rss(self) -> None:
        while self.process.poll() is None:
            self.peak_rss = max(self.peak_rss, self.rss())
            time.sleep(0.2)

    def rss(self) -> int:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def wait(self, timeout: float = 1800) -> None:
        if self.process.wait(timeout=timeout) != 0:
            sys.exit(f"flow failed:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def _time(event: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


def flow_seconds(flow: FlowProcess) -> tuple[float, float]:
    """(seconds from the first records polled to the stop, less the idle wait; seconds of
    start-up before the first records). Sustained throughput leaves start-up out; the last
    snapshot and ClickHouse insert are in."""
    events = flow.events()
    started = next(e for e in events if e["event"] == "started")
    first = next(e for e in events if e["event"] == "first records")
    stopped = next(e for e in events if e["event"] == "stopped")
    return _time(stopped) - _time(first) - IDLE_S, _time(first) - _time(started)


def throughput(root: Path, bootstrap: str, count: int) -> dict:
    topics = StreamTopics.with_prefix("tp.")
    ensure_topics({"bootstrap.servers": bootstrap}, PARTITIONS, topics.all())
    reference = reference_directory(root, 50_000)
    produce(bootstrap, topics.network, count, 50_000)
    raw = raw_consume_parse(bootstrap, topics.network, count)
    flow = FlowProcess(root, "throughput", bootstrap, reference, "tp.", "--until-idle", str(IDLE_S), "--no-kafka-output")
    flow.wait()
    seconds, start_up = flow_seconds(flow)
    return {"records": count, "raw_consume_parse_per_s": round(raw), "flow_per_s": round(count / seconds),
            "ratio": round(count / seconds / raw, 3), "flow_start_up_s": round(start_up, 2),
            "flow_peak_rss_mb": round(flow.peak_rss / 2**20)}


def latency(root: Path, bootstrap: str, rate: int, seconds: float, epoch_s: float, flow_args: list[str],
            warmup_s: float = 5.0, producer_linger_ms: int = 25) -> dict:
    topics = StreamTopics.with_prefix("lat.")
    ensure_topics({"bootstrap.servers": bootstrap}, PARTITIONS, topics.all())
    reference = reference_directory(root, 50_000)
    flow = FlowProcess(root, "latency", bootstrap, reference, "lat.", "--snapshot-interval", str(epoch_s), *flow_args)
    # The first `warmup_s` of load are offered but not measured: the first records wait while
    # the flow's consumers, producer and store connections start (about two seconds here).
    warm = int(rate * warmup_s)
    records = list(network_records(warm + int(rate * seconds) + 10, 50_000))
    # The harness shares the machine's cores with the flow and the broker, so it does as little
    # as it can per message: times go into arrays indexed by record number (the number is the
    # tail of the record id), no regular expression or dict per message.
    sent = np.full(len(records), np.nan)
    received = np.full(len(records), np.nan)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-latency", "fetch.wait.max.ms": 10})
    consumer.assign([TopicPartition(topics.rated, p, 0) for p in range(PARTITIONS)])
    done = threading.Event()
    deadline = float("inf")

    def receive() -> None:
        count = 0
        while count < len(records) and not (done.is_set() and time.time() > deadline):
            for message in consumer.consume(5000, 0.05):
                if message.error() is None:
                    number = record_number(message.value())
                    if number >= 0 and np.isnan(received[number]):
                        received[number] = time.time()
                        count += 1

    time.sleep(8)  # the flow process starts (imports, reference) before load is offered
    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    producer = Producer({**producer_config({"REVGUARD_KAFKA_BOOTSTRAP": bootstrap}), "linger.ms": str(producer_linger_ms)})
    tick, per_tick = 0.01, max(1, int(rate * 0.01))
    start = time.time()
    i = 0
    while i < len(records):
        for j in range(i, min(i + per_tick, len(records))):
            key, value = records[j]
            sent[j] = time.time()
            producer.produce(topics.network, value=value, key=key)
        producer.poll(0)
        i += per_tick
        pause = start + (i / per_tick) * tick - time.time()
        if pause > 0:
            time.sleep(pause)
    producer.flush(30)
    offered = len(records) / (time.time() - start)
    deadline = time.time() + 30
    done.set()
    receiver.join()
    flow.stop()
    consumer.close()
    got = ~np.isnan(received)
    measured = got.copy()
    measured[:warm] = False
    delays = received[measured] - sent[measured]
    if os.environ.get("BENCH_TIMELINE"):
        every = received[got] - sent[got]
        begun = sent[got] - start
        for second in range(int(begun.max()) + 1):
            window = every[(begun >= second) & (begun < second + 1)]
            if window.size:
                print(f"  {second:3d}s  p50 {np.percentile(window, 50) * 1000:6.0f} ms  max {window.max() * 1000:6.0f} ms",
                      file=sys.stderr)
    warm_delays = received[:warm][got[:warm]] - sent[:warm][got[:warm]]
    return {"snapshot_interval_s": epoch_s, "flow_args": flow_args, "load_average_1m": os.getloadavg()[0],
            "offered_per_s": round(offered), "producer_linger_ms": producer_linger_ms, "warmup_s": warmup_s, "records": len(records) - warm,
            "received": int(measured.sum()),
            "p50_ms": round(float(np.percentile(delays, 50)) * 1000, 1),
            "p99_ms": round(float(np.percentile(delays, 99)) * 1000, 1),
            "max_ms": round(float(delays.max()) * 1000, 1),
            "warmup_max_ms": round(float(warm_delays.max()) * 1000, 1) if warm_delays.size else None}


_ID_PREFIX = b"cdr-2026-11-02-"


def record_number(value: bytes) -> int:
    """The number at the end of a `network_records` record id, found in any JSON that holds it."""
    at = value.find(_ID_PREFIX)
    return int(value[at + len(_ID_PREFIX): at + len(_ID_PREFIX) + 16]) if at >= 0 else -1


def rated_so_far(port: int) -> float:
    """Rows the flow has rated (every status), from its /metrics; 0 while it is not serving."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "revguard_records_out_total")


def state_memory(root: Path, bootstrap: str, subscribers: int) -> dict:
    """RSS once every record is rated (read from /metrics; the flow runs until stopped), then SIGTERM."""
    import socket

    topics = StreamTopics.with_prefix("mem.")
    ensure_topics({"bootstrap.servers": bootstrap}, PARTITIONS, topics.all())
    reference = reference_directory(root, subscribers)
    produce(bootstrap, topics.network, subscribers, subscribers)  # one record per subscriber
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    flow = FlowProcess(root, "memory", bootstrap, reference, "mem.", "--metrics-port", str(port))
    while rated_so_far(port) < subscribers:
        if flow.process.poll() is not None:
            sys.exit(f"flow failed:\n{flow.log.read_text()[-3000:]}")
        time.sleep(0.5)
    time.sleep(1)  # the sinks finish the last epoch's writes
    caught_up_rss = flow.rss()
    flow.stop()
    return {"subscribers_in_state": subscribers, "rss_caught_up_mb": round(caught_up_rss / 2**20),
            "peak_rss_mb": round(flow.peak_rss / 2**20)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--state-subscribers", type=int, default=1_000_000)
    parser.add_argument("--latency-snapshot-interval", type=float, default=5.0,
                        help="The flow's --snapshot-interval in the latency run (its default).")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="Seconds of load offered before the latency is measured.")
    parser.add_argument("--producer-linger-ms", type=int, default=25,
                        help="linger.ms of the load's producer (inside the measured latency). At 5 ms its "
                             "~800 produce requests/s kept the broker on this machine twice as busy.")
    parser.add_argument("--pin", action="store_true",
                        help="Run the flow on the last CPU and this process and the broker on the others.")
    parser.add_argument("--flow-arg", action="append", default=[], metavar="ARG",
                        help="Extra argument for the latency run's `revguard run rating` (repeatable), "
                             "e.g. --flow-arg=--store-flush-interval --flow-arg=0")
    parser.add_argument("--only", choices=["throughput", "latency", "memory"], default=None)
    args = parser.parse_args(argv)
    if args.pin:
        global FLOW_CPUS
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs at least two CPUs")
        FLOW_CPUS = {cpus[-1]}
        os.sched_setaffinity(0, set(cpus[:-1]))  # the broker, started below, inherits this
    with tempfile.TemporaryDirectory(prefix="revguard-bench-") as tmp, LocalBroker() as broker:
        root = Path(tmp)
        results = {}
        if args.only in (None, "throughput"):
            results["throughput"] = throughput(root, broker.bootstrap, args.records)
            print(json.dumps(results["throughput"]), flush=True)
        if args.only in (None, "latency"):
            results["latency"] = latency(root, broker.bootstrap, args.rate, args.seconds, args.latency_snapshot_interval,
                                         args.flow_arg, args.warmup, args.producer_linger_ms)
            print(json.dumps(results["latency"]), flush=True)
        if args.only in (None, "memory"):
            results["memory"] = state_memory(root, broker.bootstrap, args.state_subscribers)
            print(json.dumps(results["memory"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

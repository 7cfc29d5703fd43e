"""Alert delivery: latency from an alert on Kafka to Alertmanager's API, and a burst.

Starts its own Tansu broker, a real Alertmanager (Debian's `prometheus-alertmanager`), local
HTTP receivers and an embedded chDB store, then runs `run_alert_delivery` in a thread:

  steady   RATE alerts/s for SECONDS: per alert, produce time to Alertmanager's 200
           (the `time` of its `delivered` row in alert_deliveries). Baseline in the same
           run: produce time to a plain consumer assigned to the same topic (Kafka alone).
  burst    BURST alerts produced at once; routed to Alertmanager and a webhook (all of them)
           and a Slack-compatible hook paced at 1 post/s (the critical twentieth, 20 per post):
           when each receiver had everything, and that nothing was lost or doubled.

Usage: python -m bench.alerts [--rate 100] [--seconds 20] [--burst 10000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from clickhouse.client import store_client
from clickhouse.migrations import migrate
from flows.alerting.config import parsed_config
from flows.alerting.service import AlertOptions, run_alert_delivery
from flows.kafka.broker import LocalBroker
from flows.kafka.topics import ensure_topics
from tests.alerting.receiver_server import ScriptedReceiver
from tests.fixtures.alertmanager import start_alertmanager

PARTITIONS = 4


def alert(n: int, run: str, kind: str = "low_balance") -> dict:
    msisdn = f"4479{n:08d}"
    return {"alert_id": f"{kind}:{msisdn}:{run}{n}", "kind": kind, "msisdn": msisdn, "record_id": f"{run}{n}",
            "time": "2026-11-02T08:15:00.000Z", "balance": "1.500000", "threshold": "2.000000"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def kafka_arrivals(bootstrap: str, topic: str, wanted: int, arrived: dict[str, float], done: threading.Event) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-baseline"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    while len(arrived) < wanted and not done.is_set():
        for message in consumer.consume(500, 0.05):
            if message.error() is None:
                arrived[json.loads(message.value())["alert_id"]] = time.time()
    consumer.close()


def steady(bootstrap: str, am_url: str, store_url: str, rate: int, seconds: int) -> None:
    options = AlertOptions(alerts_topic="steady.revguard.alerts", rejects_topic="steady.revguard.rejects", partitions=PARTITIONS)
    ensure_topics({"bootstrap.servers": bootstrap}, PARTITIONS, [options.alerts_topic, options.rejects_topic])
    config = parsed_config({"receivers": [{"name": "am", "type": "alertmanager", "url": am_url}],
                            "routes": [{"receivers": ["am"]}]})
    client = store_client(store_url)
    migrate(client)  # before the service starts: the bench reads the ledger while it runs
    stop = threading.Event()
    service = threading.Thread(target=run_alert_delivery, args=(config, store_url, bootstrap, options), kwargs={"stop": stop})
    service.start()
    # Start-up (migrations, assignment, first connections) is not part of an alert's latency:
    # one warm-up alert is delivered before the measured ones are produced.
    warm = alert(0, "w")
    warm_producer = Producer({"bootstrap.servers": bootstrap})
    warm_producer.produce(options.alerts_topic, json.dumps(warm).encode(), warm["msisdn"].encode())
    warm_producer.flush(30)
    deadline = time.monotonic() + 120
    while not client.query("SELECT count() FROM revguard.alert_deliveries WHERE alert_id = {a:String}",
                           parameters={"a": warm["alert_id"]}).result_rows[0][0]:
        assert time.monotonic() < deadline, "the delivery service did not start"
        time.sleep(0.2)
    total = rate * seconds
    arrived: dict[str, float] = {}
    baseline_done = threading.Event()
    baseline = threading.Thread(target=kafka_arrivals, args=(bootstrap, options.alerts_topic, total, arrived, baseline_done))
    baseline.start()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1, "partitioner": "murmur2_random"})
    produced: dict[str, float] = {}
    began = time.monotonic()
    for n in range(total):
        due = began + n / rate
        while (wait := due - time.monotonic()) > 0:
            producer.poll(min(wait, 0.005))
        value = alert(n, "s")
        produced[value["alert_id"]] = time.time()
        producer.produce(options.alerts_topic, json.dumps(value).encode(), value["msisdn"].encode())
        producer.poll(0)
    producer.flush(30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1)
        count = client.query("SELECT count() FROM revguard.alert_deliveries WHERE receiver = 'am' AND status = 'delivered' "
                             "AND alert_id LIKE '%:s%'").result_rows[0][0]
        if count >= total:
            break
    stop.set()
    service.join()
    baseline_done.set()
    baseline.join()
    rows = client.query("SELECT alert_id, toUnixTimestamp64Milli(time) FROM revguard.alert_deliveries "
                        "WHERE receiver = 'am' AND status = 'delivered' AND alert_id LIKE '%:s%'").result_rows
    delivered = [ms / 1000 - produced[a] for a, ms in rows if a in produced]
    failed = client.query("SELECT count(), groupUniqArray(error) FROM revguard.alert_deliveries "
                          "WHERE receiver = 'am' AND status = 'failed' AND alert_id LIKE '%:s%'").result_rows[0]
    kafka = [arrived[a] - produced[a] for a in produced if a in arrived]
    by_order = sorted((produced[a], ms / 1000 - produced[a]) for a, ms in rows if a in produced)
    slow = [i for i, (_t, lat) in enumerate(by_order) if lat > 1.0]
    if slow:
        print(f"  {len(slow)} alerts over 1 s, produced as numbers {slow[0]}..{slow[-1]} of {len(by_order)}")
    print(f"steady {rate}/s for {seconds} s: {len(delivered)}/{total} delivered to Alertmanager, "
          f"{failed[0]} failed attempts on the way {failed[1][:3]}")
    for name, values in (("Kafka to Alertmanager 200", delivered), ("baseline: Kafka to a plain consumer", kafka)):
        print(f"  {name:38s} p50 {statistics.median(values) * 1000:7.1f} ms  p99 {percentile(values, 0.99) * 1000:7.1f} ms"
              f"  max {max(values) * 1000:7.1f} ms")


def burst(bootstrap: str, am, store_url: str, count: int) -> None:
    options = AlertOptions(alerts_topic="burst.revguard.alerts", rejects_topic="burst.revguard.rejects",
                           partitions=PARTITIONS, until_idle_s=2.0)
    ensure_topics({"bootstrap.servers": bootstrap}, PARTITIONS, [options.alerts_topic, options.rejects_topic])
    hook, slack = ScriptedReceiver(), ScriptedReceiver()
    config = parsed_config({
        "receivers": [{"name": "am", "type": "alertmanager", "url": am.url},
                      {"name": "hook", "type": "webhook", "url": hook.url, "secret": "bench"},
                      {"name": "chat", "type": "slack", "url": slack.url, "max_alerts_per_post": 20}],
        "routes": [{"receivers": ["am", "hook"]}, {"receivers": ["chat"], "min_severity": "critical"}]})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "partitioner": "murmur2_random"})
    values = [alert(n, "b", "prepaid_cutoff" if n % 20 == 0 else "low_balance") for n in range(count)]
    for value in values:
        producer.produce(options.alerts_topic, json.dumps(value).encode(), value["msisdn"].encode())
    producer.flush(30)
    began = time.time()
    totals = run_alert_delivery(config, store_url, bootstrap, options)
    ended = time.time()
    client = store_client(store_url)
    last = dict(client.query("SELECT receiver, toUnixTimestamp64Milli(max(time)) FROM revguard.alert_deliveries "
                             "WHERE status = 'delivered' AND alert_id LIKE '%:b%' GROUP BY receiver").result_rows)
    critical = sum(1 for v in values if v["kind"] == "prepaid_cutoff")
    listed_slack = sum(len(r.document["blocks"]) - 1 for r in slack.accepted())
    ids = {v["alert_id"] for v in values}
    at_am = sum(1 for a in am.active_alerts() if a["labels"]["alert_id"] in ids)
    print(f"burst of {count} alerts ({critical} critical to the paced Slack hook), totals {totals}")
    print(f"  Alertmanager  {at_am}/{count} listed by its API, all delivered {last['am'] / 1000 - began:6.1f} s after the start")
    print(f"  webhook       {len(hook.unique)}/{count} unique keys in {len(hook.accepted())} posts, "
          f"all delivered {last['hook'] / 1000 - began:6.1f} s after the start")
    print(f"  Slack         {listed_slack}/{critical} alerts in {len(slack.accepted())} posts, "
          f"all delivered {last['chat'] / 1000 - began:6.1f} s after the start")
    print(f"  service ran {ended - began:.1f} s (it ends when the slowest receiver has everything)")
    hook.stop(), slack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--burst", type=int, default=10_000)
    args = parser.parse_args(argv)
    broker = LocalBroker()
    bootstrap = broker.start()
    with tempfile.TemporaryDirectory() as scratch:
        am = start_alertmanager(Path(scratch) / "alertmanager")
        store_url = f"chdb://{Path(scratch) / 'chdb'}"
        try:
            steady(bootstrap, am.url, store_url, args.rate, args.seconds)
            burst(bootstrap, am, store_url, args.burst)
        finally:
            am.process.terminate()
            am.process.wait(10)
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

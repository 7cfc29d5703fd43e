"""How well and how soon the stream's network alerts find the simulator's element outages.

    .venv/bin/python -m bench.network_alerts [--runs SUBSCRIBERSxDAYSxSEEDxRATE ...] [--history-days N] [--speed X]

Each run simulates, loads the first `--history-days` into a fresh embedded store (the
baseline's history), then `revguard replay --as-delivered` plays the remaining days into a
Tansu broker at `--speed` times event time (records as mediation delivered them, late ones
late) while the rating flow runs on them. Scored against truth.ndjson's `element_gap`
silences that start in the replayed days (after the first hour: the stream learns how late
records come): an `element_silent` alert matches a silence of its element when their
intervals overlap. Detection delay = event-time clock when the alert fired minus the
silence's start. Quality, not speed: the baseline is the ground truth.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from clickhouse.client import store_client
from clickhouse.migrations import migrate
from flows.kafka.broker import LocalBroker
from flows.load import load_directory
from flows.replay import replay_directory
from flows.simulator import simulate
from flows.streaming import StreamOptions, StreamTopics, run_rating_flow

# Seeds and sizes no test uses.
DEFAULT_RUNS = ("6000x5x43x0.3", "6000x5x44x0.3")
REFERENCE = ("catalog.yaml", "subscribers.csv", "provisioning.csv")


def _time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def split(out: Path, history_days: int, root: Path) -> tuple[Path, Path, float]:
    """History and live directories; the moment between them."""
    first = None
    history, live = root / "history", root / "live"
    for d in (history, live):
        d.mkdir()
        for name in REFERENCE:
            if (out / name).exists():
                shutil.copy(out / name, d / name)
    with (out / "network.ndjson").open() as lines, (history / "network.ndjson").open("w") as h, \
            (live / "network.ndjson").open("w") as live_out:
        for line in lines:
            start = _time(json.loads(line)["start_time"])
            if first is None:
                first = dt.datetime.fromtimestamp(start, dt.timezone.utc).replace(hour=0, minute=0, second=0).timestamp()
            (h if start < first + history_days * 86400 else live_out).write(line)
    return history, live, first + history_days * 86400


def read_alerts(bootstrap: str, topic: str) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    out, idle = [], 0
    while idle < 5:
        message = consumer.poll(1.0)
        if message is None:
            idle += 1
            continue
        if message.error() is None:
            out.append(json.loads(message.value()))
    consumer.close()
    return out


def scored_run(spec: str, history_days: int, speed: float, root: Path, bootstrap: str) -> dict:
    subscribers, days, seed, rate = spec.split("x")
    out = root / "sim"
    simulate(out, subscribers=int(subscribers), days=int(days), seed=int(seed), start=date(2026, 11, 2),
             fault_rate=float(rate), progress=False)
    history, live, cut = split(out, history_days, root)
    url = f"chdb://{root}/chdb"
    client = store_client(url)
    migrate(client)
    load_directory(client, history)
    prefix = f"b{uuid.uuid4().hex[:8]}."
    topics = StreamTopics.with_prefix(prefix)
    from flows.kafka.topics import ensure_topics

    ensure_topics({"bootstrap.servers": bootstrap}, 4, topics.all())
    # The flow first, the replay once it polls: a flow that starts late catches up in large
    # batches, and the alerts would measure the catching up, not the stream.
    flow = threading.Thread(target=run_rating_flow, args=(url, bootstrap), kwargs={
        "options": StreamOptions(topics=topics, network_alerts=True, until_idle_s=30.0, snapshot_interval_s=2.0),
        "recovery_dir": root / "recovery"})
    flow.start()
    while not any((root / "recovery").glob("part-*.sqlite3")):
        time.sleep(0.5)
    time.sleep(10)
    replay_directory(live, {"bootstrap.servers": bootstrap}, speed=speed, topic_prefix=prefix, as_delivered=True)
    flow.join()
    alerts = [a for a in read_alerts(bootstrap, topics.alerts) if "status" in a]  # network alerts only
    Path(tempfile.gettempdir(), f"network-alerts-{spec}.json").write_text(json.dumps(alerts))
    truth = [json.loads(line) for line in (out / "truth.ndjson").read_text().splitlines()]
    silences = [t for t in truth if t["kind"] == "element_gap" and t.get("outage") == "silence"
                and _time(t["interval_start"]) >= cut + 3600]
    fired = [a for a in alerts if a["kind"] == "element_silent" and a["status"] == "firing"]
    resolved = {a["alert_id"]: a for a in alerts if a["status"] == "resolved"}
    considered = [a for a in fired if _time(a["detected_at_event_time"]) >= cut + 3600]

    def overlaps(a: dict, t: dict) -> bool:
        end = _time(resolved[a["alert_id"]]["ends_at"]) if a["alert_id"] in resolved else float("inf")
        return a["element_id"] == t["element_id"] and _time(a["starts_at"]) < _time(t["interval_end"]) \
            and end > _time(t["interval_start"])

    matched_alerts = [a for a in considered if any(overlaps(a, t) for t in truth if t["kind"] == "element_gap")]
    delays = []
    for t in silences:
        hits = [a for a in considered if overlaps(a, t)]
        if hits:
            delays.append(min(_time(a["detected_at_event_time"]) for a in hits) - _time(t["interval_start"]))
    kinds = {k: sum(1 for a in alerts if a["kind"] == k and a["status"] == "firing")
             for k in ("element_silent", "traffic_drop", "premium_surge")}
    return {"run": spec, "alerts": len(considered), "true_alerts": len(matched_alerts), "silences": len(silences),
            "found": len(delays), "delays_s": delays, "kinds": kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=list(DEFAULT_RUNS))
    parser.add_argument("--history-days", type=int, default=3)
    parser.add_argument("--speed", type=float, default=600.0)
    args = parser.parse_args()
    broker = LocalBroker()
    bootstrap = broker.start()
    pooled = {"alerts": 0, "true_alerts": 0, "silences": 0, "found": 0, "delays_s": []}
    try:
        for spec in args.runs:
            root = Path(tempfile.mkdtemp(prefix="revguard-bench-netalerts-"))
            try:
                result = scored_run(spec, args.history_days, args.speed, root, bootstrap)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            for key in ("alerts", "true_alerts", "silences", "found"):
                pooled[key] += result[key]
            pooled["delays_s"] += result["delays_s"]
            print(_line(result["run"], result), "fired:", result["kinds"], flush=True)
        print(_line("pooled", pooled))
    finally:
        from flows.kafka.rated_sink import release_shared_producers

        release_shared_producers()
        broker.stop()


def _line(name: str, r: dict) -> str:
    precision = r["true_alerts"] / r["alerts"] if r["alerts"] else float("nan")
    recall = r["found"] / r["silences"] if r["silences"] else float("nan")
    delays = sorted(r["delays_s"])
    median = statistics.median(delays) / 60 if delays else float("nan")
    worst = delays[-1] / 60 if delays else float("nan")
    return (f"{name:<18} element_silent alerts {r['alerts']:>3} (true {r['true_alerts']:>3})  silences {r['silences']:>3}"
            f" (found {r['found']:>3})  P {precision:.3f}  R {recall:.3f}  delay median {median:.1f} min, max {worst:.1f} min")


if __name__ == "__main__":
    main()

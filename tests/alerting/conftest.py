"""Fixtures for alert delivery: alerts on a topic of their own, the service in a thread."""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from confluent_kafka import Producer

from flows.alerting.config import parsed_config
from flows.alerting.service import AlertOptions, run_alert_delivery
from flows.kafka.topics import ensure_topics
from tests.fixtures.alertmanager import alertmanager  # noqa: F401 - a fixture
from tests.fixtures.threads import stopped_at_block_end

PARTITIONS = 2


def balance_alert(n: int, kind: str = "low_balance", msisdn: str | None = None) -> dict:
    """A balance alert as the rating flow writes it to `revguard.alerts`."""
    msisdn = msisdn or f"4479{n:08d}"
    return {"alert_id": f"{kind}:{msisdn}:r{n}", "kind": kind, "msisdn": msisdn, "record_id": f"r{n}",
            "time": "2026-11-02T08:15:00.000Z", "balance": "1.500000", "cycle_total": None, "threshold": "2.000000"}


def element_alert(element: str, status: str, *, ends_at: str | None = None) -> dict:
    """A network alert with a lifetime (opens, is held, resolves)."""
    alert = {"alert_id": f"element_silent:{element}:voice:2026-11-02T08:00", "kind": "element_silent",
             "element_id": element, "service": "voice", "status": status, "starts_at": "2026-11-02T08:00:00Z",
             "expected": "420", "observed": "0"}
    if ends_at:
        alert["ends_at"] = ends_at
    return alert


@pytest.fixture
def alert_topics(kafka_bootstrap: str) -> AlertOptions:
    prefix = f"a{uuid.uuid4().hex[:10]}."
    options = AlertOptions(alerts_topic=prefix + "revguard.alerts", rejects_topic=prefix + "revguard.rejects",
                           until_idle_s=1.0, ledger_flush_s=0.1)
    ensure_topics({"bootstrap.servers": kafka_bootstrap}, PARTITIONS, [options.alerts_topic, options.rejects_topic])
    return options


def produce(bootstrap: str, topic: str, values: list[dict | bytes], key_of=lambda v: None) -> None:
    """Each value as one message (dicts as JSON), keyed by msisdn or element so one alert stays in one partition."""
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random"})
    for value in values:
        if isinstance(value, dict):
            key = (value.get("msisdn") or value.get("element_id") or "").encode() or None
            producer.produce(topic, json.dumps(value).encode(), key)
        else:
            producer.produce(topic, value)
    assert producer.flush(15) == 0


def config_of(document: dict):
    return parsed_config(document)


def write_config(directory: Path, document: dict) -> Path:
    path = directory / "alerts.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@contextmanager
def delivering(config, store_url: str, bootstrap: str, options: AlertOptions):
    """The delivery service in a thread for the block; stopped (as SIGTERM would) when it ends."""
    with stopped_at_block_end(lambda stop: run_alert_delivery(config, store_url, bootstrap, options, stop=stop),
                              "alert delivery") as outcome:
        yield outcome


def deliver_until_idle(config, store_url: str, bootstrap: str, options: AlertOptions) -> dict:
    return run_alert_delivery(config, store_url, bootstrap, options)

"""Delivery behaviours on a real broker and store: dead letters, pacing, parking, resuming."""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import replace

import pytest

from flows.alerting.service import run_alert_delivery
from tests.alerting.conftest import PARTITIONS, balance_alert, config_of, deliver_until_idle, produce
from tests.alerting.receiver_server import ScriptedReceiver
from tests.fixtures.alertmanager import free_port
from tests.kafka.reading import read_to_end

pytestmark = pytest.mark.kafka


@pytest.fixture
def receivers():
    started: list[ScriptedReceiver] = []

    def start(**kwargs) -> ScriptedReceiver:
        started.append(ScriptedReceiver(**kwargs))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


def hook(name: str, url: str) -> dict:
    return {"name": name, "type": "webhook", "url": url, "secret": "k"}


def test_malformed_messages_go_to_the_rejects_topic_with_their_reason(receivers, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    receiver = receivers()
    no_kind = {k: v for k, v in balance_alert(2).items() if k != "kind"}
    produce(kafka_bootstrap, alert_topics.alerts_topic, [b"{not json", no_kind, balance_alert(3)])

    totals = deliver_until_idle(config_of({"receivers": [hook("h", receiver.url)], "routes": [{"receivers": ["h"]}]}),
                                chdb_url, kafka_bootstrap, alert_topics)

    dead = [json.loads(v) for _p, _o, _k, v in read_to_end(kafka_bootstrap, alert_topics.rejects_topic, PARTITIONS)]
    assert sorted((d["stream"], d["reason"]) for d in dead) == [("alerts", "bad_json"), ("alerts", "missing_kind")]
    assert sorted(d["raw"] for d in dead) == sorted(["{not json", json.dumps(no_kind)])
    assert [r.document["alert_id"] for r in receiver.accepted()] == ["low_balance:447900000003:r3"]
    assert totals["messages_rejected"] == 2 and totals["messages_routed"] == 1


def test_malformed_messages_are_kept_in_the_rejects_table_too(receivers, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    receiver = receivers()
    produce(kafka_bootstrap, alert_topics.alerts_topic, [b'{"alert_id": "x", "kind": "low_balance", "time": "yesterday"}'])

    deliver_until_idle(config_of({"receivers": [hook("h", receiver.url)], "routes": [{"receivers": ["h"]}]}),
                       chdb_url, kafka_bootstrap, alert_topics)

    rows = chdb_client.query("SELECT stream, reason, raw FROM revguard.rejects").result_rows
    assert rows == [("alerts", "bad_time", '{"alert_id": "x", "kind": "low_balance", "time": "yesterday"}')]
    assert receiver.accepted() == []


def test_a_paced_slack_hook_posts_at_most_once_a_second_and_holds_back_no_other_receiver(
        receivers, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    slack, other = receivers(), receivers()
    config = config_of({"receivers": [{"name": "chat", "type": "slack", "url": slack.url, "max_alerts_per_post": 2},
                                      hook("h", other.url)],
                        "routes": [{"receivers": ["chat", "h"]}]})
    produce(kafka_bootstrap, alert_topics.alerts_topic, [balance_alert(n) for n in range(8)])

    deliver_until_idle(config, chdb_url, kafka_bootstrap, alert_topics)

    posts = slack.accepted()
    listed = sorted(line for p in posts for line in p.document["text"].removeprefix("revguard: ").split("; "))
    assert listed == sorted(f"info: low_balance (msisdn 4479{n:08d})" for n in range(8))
    gaps = [b.at - a.at for a, b in zip(posts, posts[1:])]
    assert len(posts) >= 4 and min(gaps) >= 0.95
    # All 8 webhooks were answered before the paced hook's third post (2 s after its first).
    assert len(other.accepted()) == 8 and other.accepted()[-1].at < posts[2].at


def test_an_answer_that_cannot_improve_parks_the_alert_and_moves_on(receivers, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    receiver = receivers(answers=[400])
    config = config_of({"receivers": [hook("h", receiver.url)], "routes": [{"receivers": ["h"]}]})
    produce(kafka_bootstrap, alert_topics.alerts_topic, [balance_alert(1), balance_alert(2)])

    totals = deliver_until_idle(config, chdb_url, kafka_bootstrap, alert_topics)

    rows = chdb_client.query("SELECT status, response_code, attempt FROM revguard.alert_deliveries ORDER BY time").result_rows
    assert rows == [("parked", 400, 1), ("delivered", 200, 1)]
    assert totals["parked"] == 1 and totals["delivered"] == 1


def test_a_restart_resumes_after_what_was_delivered_and_sends_nothing_again(receivers, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    receiver = receivers()
    config = config_of({"receivers": [hook("h", receiver.url)], "routes": [{"receivers": ["h"]}]})
    produce(kafka_bootstrap, alert_topics.alerts_topic, [balance_alert(1), balance_alert(2)])
    deliver_until_idle(config, chdb_url, kafka_bootstrap, alert_topics)
    produce(kafka_bootstrap, alert_topics.alerts_topic, [balance_alert(3)])

    totals = deliver_until_idle(config, chdb_url, kafka_bootstrap, alert_topics)

    assert [r.document["alert_id"] for r in receiver.accepted()][2:] == ["low_balance:447900000003:r3"]
    assert len(receiver.accepted()) == 3
    assert totals == {"messages_routed": 1, "delivered": 1}


def test_a_copy_of_an_alert_already_delivered_is_not_sent_again(receivers, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    receiver = receivers()
    config = config_of({"receivers": [hook("h", receiver.url)], "routes": [{"receivers": ["h"]}]})
    produce(kafka_bootstrap, alert_topics.alerts_topic, [balance_alert(1), balance_alert(1)])

    totals = deliver_until_idle(config, chdb_url, kafka_bootstrap, alert_topics)

    assert len(receiver.accepted()) == 1
    assert totals["skipped"] == 1


def test_metrics_count_deliveries_by_receiver_and_status(receivers, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    receiver = receivers(answers=[503])
    config = config_of({"retry": {"initial_backoff_s": 0.1, "max_backoff_s": 0.2},
                        "receivers": [hook("h", receiver.url)], "routes": [{"receivers": ["h"]}]})
    produce(kafka_bootstrap, alert_topics.alerts_topic, [balance_alert(1), balance_alert(2)])
    port = free_port()

    stop = threading.Event()
    thread = threading.Thread(target=run_alert_delivery, args=(config, chdb_url, kafka_bootstrap,
                                                               replace(alert_topics, until_idle_s=None)),
                              kwargs={"metrics_port": port, "stop": stop}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while len(receiver.accepted()) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # The counters move once the ledger's flush settles both: waited for, not slept on.
        while not all(line in (text := metrics_text(port)) for line in EXPECTED_METRICS):
            assert time.monotonic() < deadline, f"metrics not as expected within 30 s:\n{text}"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    for line in EXPECTED_METRICS:
        assert line in text


EXPECTED_METRICS = (
    'revguard_alert_deliveries_total{receiver="h",status="delivered"} 2.0',
    'revguard_alert_deliveries_total{receiver="h",status="failed"} 1.0',
    'revguard_alert_delivery_seconds_count{receiver="h"} 2.0',
    'revguard_alert_queue_depth{receiver="h"} 0.0',
    'revguard_alert_messages_total{outcome="routed"} 2.0',
)


def metrics_text(port: int) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()

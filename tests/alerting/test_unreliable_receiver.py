"""A webhook receiver that is down for 30 s, then answers 500 twice, then 200."""
from __future__ import annotations

import threading
import time

import pytest

from tests.alerting.conftest import balance_alert, config_of, deliver_until_idle, element_alert, produce
from tests.alerting.receiver_server import ScriptedReceiver
from tests.fixtures.alertmanager import free_port

pytestmark = pytest.mark.kafka
DOWN_S = 30.0


def webhook_config(url: str) -> dict:
    return {"retry": {"initial_backoff_s": 0.2, "max_backoff_s": 2.0, "give_up_after_s": 600},
            "receivers": [{"name": "hook", "type": "webhook", "url": url, "secret": "s3cret"}],
            "routes": [{"receivers": ["hook"]}]}


@pytest.fixture
def receiver_down_then_failing():
    """The receiver's port refuses connections for DOWN_S, then it answers 500, 500, then 200."""
    port = free_port()
    started: dict = {}

    def come_up() -> None:
        started["receiver"] = ScriptedReceiver(port, answers=[500, 500])
        started["at"] = time.monotonic()

    timer = threading.Timer(DOWN_S, come_up)
    began = time.monotonic()
    timer.start()
    yield f"http://127.0.0.1:{port}/hook", started, began
    timer.cancel()
    if "receiver" in started:
        started["receiver"].stop()


def test_every_alert_reaches_an_unreliable_receiver_exactly_once_in_order(
        receiver_down_then_failing, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    url, started, began = receiver_down_then_failing
    events = [balance_alert(n) for n in range(1, 6)]
    events += [element_alert("msc-07", "firing"), element_alert("msc-07", "resolved", ends_at="2026-11-02T08:20:00Z")]
    produce(kafka_bootstrap, alert_topics.alerts_topic, events)

    deliver_until_idle(config_of(webhook_config(url)), chdb_url, kafka_bootstrap, alert_topics)

    receiver = started["receiver"]
    accepted = receiver.accepted()
    assert sorted((r.document["alert_id"], r.document["status"]) for r in accepted) == sorted(
        (e["alert_id"], e.get("status", "firing")) for e in events)
    assert len({r.headers["idempotency-key"] for r in accepted}) == len(events)
    element_events = [r.document["status"] for r in accepted if r.document["kind"] == "element_silent"]
    assert element_events == ["firing", "resolved"]
    assert [r.code for r in receiver.requests][:3] == [500, 500, 200]
    assert started["at"] - began >= DOWN_S

    attempts = chdb_client.query(
        "SELECT idempotency_key, groupArray(status), groupArray(response_code), groupArray(attempt) FROM "
        "(SELECT * FROM revguard.alert_deliveries ORDER BY idempotency_key, attempt) GROUP BY idempotency_key"
    ).result_rows
    assert len(attempts) == len(events)
    retried = [a for a in attempts if len(a[1]) > 1]
    (first,) = retried  # the one in flight while the receiver was away; the others got through at once
    _key, statuses, codes, numbers = first
    assert statuses[-1] == "delivered" and statuses[:-1] == ["failed"] * (len(statuses) - 1)
    assert codes[-3:] == [500, 500, 200] and set(codes[:-3]) == {0}
    assert numbers == list(range(1, len(numbers) + 1))
    # Backoff 0.2 s doubling to 2 s, jittered: at least 5 tries in 30 s, at most about 30/0.1.
    assert 5 <= len(numbers) - 3 <= 300
    assert all(s == ["delivered"] and c == [200] for _k, s, c, _n in attempts if len(s) == 1)

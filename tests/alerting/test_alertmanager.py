"""Delivery to a real Alertmanager process: listed by its own API, grouped, resolved."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from tests.alerting.conftest import balance_alert, config_of, deliver_until_idle, delivering, element_alert, produce

pytestmark = pytest.mark.kafka


def am_config(url: str, resend_interval_s: float = 60.0) -> dict:
    return {"app_url": "http://analysts.example:8501",
            "receivers": [{"name": "ops", "type": "alertmanager", "url": url, "resend_interval_s": resend_interval_s}],
            "routes": [{"receivers": ["ops"]}]}


def wait_for(condition, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_balance_alert_is_listed_by_alertmanager_with_its_identity_labels(alertmanager, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    produce(kafka_bootstrap, alert_topics.alerts_topic, [balance_alert(1, "prepaid_cutoff", "447900000001")])

    deliver_until_idle(config_of(am_config(alertmanager.url)), chdb_url, kafka_bootstrap, alert_topics)

    (listed,) = alertmanager.active_alerts()
    assert listed["labels"] == {"alertname": "prepaid_cutoff", "alert_id": "prepaid_cutoff:447900000001:r1",
                                "severity": "critical", "msisdn": "447900000001"}
    assert listed["startsAt"].startswith("2026-11-02T08:15:00")
    assert listed["annotations"]["link"] == "http://analysts.example:8501/alerts?alert_id=prepaid_cutoff%3A447900000001%3Ar1"
    assert '"balance": "1.500000"' in listed["annotations"]["evidence"]


def test_alerts_of_one_kind_are_grouped_together_by_alertmanager(alertmanager, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    produce(kafka_bootstrap, alert_topics.alerts_topic,
            [balance_alert(1, "low_balance"), balance_alert(2, "low_balance"), balance_alert(3, "prepaid_cutoff")])

    deliver_until_idle(config_of(am_config(alertmanager.url)), chdb_url, kafka_bootstrap, alert_topics)

    groups = {g["labels"]["alertname"]: sorted(a["labels"]["alert_id"] for a in g["alerts"]) for g in alertmanager.groups()}
    assert groups == {"low_balance": ["low_balance:447900000001:r1", "low_balance:447900000002:r2"],
                      "prepaid_cutoff": ["prepaid_cutoff:447900000003:r3"]}


def test_an_alert_that_clears_is_resolved_at_alertmanager(alertmanager, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    config = config_of(am_config(alertmanager.url))
    with delivering(config, chdb_url, kafka_bootstrap, replace(alert_topics, until_idle_s=None)):
        produce(kafka_bootstrap, alert_topics.alerts_topic, [element_alert("msc-01", "firing")])
        (listed,) = wait_for(alertmanager.active_alerts)
        assert listed["labels"]["alertname"] == "element_silent"
        assert listed["labels"]["element_id"] == "msc-01"

        produce(kafka_bootstrap, alert_topics.alerts_topic,
                [element_alert("msc-01", "resolved", ends_at="2026-11-02T08:25:00Z")])
        wait_for(lambda: alertmanager.active_alerts() == [] or None)


def test_an_open_alert_is_posted_again_with_its_end_moved_ahead(alertmanager, alert_topics, kafka_bootstrap, chdb_url, chdb_client):
    options = replace(alert_topics, until_idle_s=None)
    with delivering(config_of(am_config(alertmanager.url, resend_interval_s=1.0)), chdb_url, kafka_bootstrap, options):
        produce(kafka_bootstrap, alert_topics.alerts_topic, [element_alert("pgw-02", "firing")])
        (first,) = wait_for(alertmanager.active_alerts)
        later = wait_for(lambda: [a for a in alertmanager.active_alerts() if a["endsAt"] > first["endsAt"]])

    # Posted once more at least, each time 4 re-send intervals (4 s) ahead of the post.
    assert later[0]["labels"] == first["labels"]
    assert later[0]["updatedAt"] > first["updatedAt"]

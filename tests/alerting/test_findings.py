"""New findings (reconcile) and anomalies (score) above the money threshold reach the receivers once."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal

import pytest

from flows.alerting.config import ConfigError
from tests.alerting.conftest import config_of, deliver_until_idle
from tests.alerting.receiver_server import ScriptedReceiver

pytestmark = pytest.mark.kafka
UTC = dt.timezone.utc
DETECTED = dt.datetime(2026, 11, 5, 6, 0, tzinfo=UTC)


def finding(finding_id: str, kind: str, amount: str, evidence: dict | None = None, element: str = "") -> list:
    return [finding_id, kind, "", "", "447900000001", element, Decimal(amount), dt.datetime(2026, 11, 4, 9, 0, tzinfo=UTC),
            DETECTED, json.dumps(evidence or {})]


def anomaly(anomaly_id: str, amount: str) -> list:
    start = dt.datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    return [anomaly_id, "usage_spike", "447900000002", "", start, start + dt.timedelta(hours=3), 9.5, 1.0, 40.0,
            Decimal(amount), "m1", DETECTED, "{}"]


def insert(client, findings: list, anomalies: list) -> None:
    client.insert("revguard.discrepancies", findings, column_names=[
        "finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id", "amount", "event_time",
        "detected_at", "evidence"])
    client.insert("revguard.anomalies", anomalies, column_names=[
        "anomaly_id", "kind", "msisdn", "element_id", "window_start", "window_end", "score", "expected", "observed",
        "amount", "model_version", "detected_at", "evidence"])


def test_findings_and_anomalies_at_or_above_the_threshold_are_delivered_once(alert_topics, kafka_bootstrap, chdb_url,
                                                                            chdb_client):
    receiver = ScriptedReceiver()
    try:
        config = config_of({"receivers": [{"name": "h", "type": "webhook", "url": receiver.url, "secret": "k"}],
                            "routes": [{"receivers": ["h"]}], "findings": {"min_amount": "50.00", "every_s": 0.2}})
        insert(chdb_client, [
            finding("f-big", "unbilled", "120.00"),
            finding("f-under-billed-credit", "usage_mismatch", "-75.50"),  # money at stake of either sign
            finding("f-small", "unbilled", "49.99"),
            finding("f-gap", "element_gap", "0", {"estimated_missing_revenue": "310.000000"}, element="msc-02"),
            finding("f-gap-small", "element_gap", "0", {"estimated_missing_revenue": "3.000000"}, element="msc-01"),
        ], [anomaly("a-big", "50.00"), anomaly("a-small", "10.00")])

        deliver_until_idle(config, chdb_url, kafka_bootstrap, replace(alert_topics, until_idle_s=3.0))
        first = sorted(r.document["alert_id"] for r in receiver.accepted())
        deliver_until_idle(config, chdb_url, kafka_bootstrap, replace(alert_topics, until_idle_s=3.0))  # a restart
        again = sorted(r.document["alert_id"] for r in receiver.accepted())
    finally:
        receiver.stop()
    assert first == ["anomaly:a-big", "finding:f-big", "finding:f-gap", "finding:f-under-billed-credit"]
    assert again == first


def test_a_threshold_that_is_no_amount_is_one_clear_line():
    with pytest.raises(ConfigError, match="findings: min_amount must be an amount"):
        config_of({"receivers": [{"name": "h", "type": "webhook", "url": "http://127.0.0.1:1/", "secret": "k"}],
                   "routes": [{"receivers": ["h"]}], "findings": {"min_amount": "lots"}})

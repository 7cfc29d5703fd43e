"""What receivers are sent: stable Alertmanager labels, signed webhooks, Slack posts."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from flows.alerting.alert import parsed_alert
from flows.alerting.payloads import alertmanager_alert, slack_message, webhook_request
from tests.alerting.conftest import balance_alert, element_alert

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.timezone.utc)


def alert_of(document: dict, source: str = "revguard.alerts:0:7"):
    return parsed_alert(json.dumps(document).encode(), source)


def test_alertmanager_labels_stay_the_same_from_firing_to_resolved():
    firing = alertmanager_alert(alert_of(element_alert("msc-01", "firing")), "http://app", NOW, 60)
    resolved = alertmanager_alert(alert_of(element_alert("msc-01", "resolved", ends_at="2026-11-02T08:40:00Z")),
                                  "http://app", NOW, 60)
    assert firing["labels"] == resolved["labels"] == {
        "alertname": "element_silent", "alert_id": "element_silent:msc-01:voice:2026-11-02T08:00",
        "severity": "critical", "element_id": "msc-01", "service": "voice"}


def test_an_open_alert_ends_four_resend_intervals_ahead_and_a_resolved_one_when_it_cleared():
    firing = alertmanager_alert(alert_of(element_alert("msc-01", "firing")), "http://app", NOW, 60)
    resolved = alertmanager_alert(alert_of(element_alert("msc-01", "resolved", ends_at="2026-11-02T08:40:00Z")),
                                  "http://app", NOW, 60)
    assert firing["endsAt"] == "2026-11-02T09:04:00.000Z"
    assert resolved["endsAt"] == "2026-11-02T08:40:00.000Z"


def test_a_one_off_balance_alert_leaves_its_end_to_alertmanager():
    assert "endsAt" not in alertmanager_alert(alert_of(balance_alert(1)), "http://app", NOW, 60)


def test_webhook_signature_is_hmac_sha256_of_timestamp_dot_body():
    body, headers = webhook_request(alert_of(balance_alert(1)), "http://app", "key-1", "s3cret", NOW)
    expected = hmac.new(b"s3cret", b"1793610000." + body, hashlib.sha256).hexdigest()
    assert headers["X-Revguard-Timestamp"] == "1793610000"  # 2026-11-02T09:00:00Z
    assert headers["X-Revguard-Signature"] == f"sha256={expected}"
    assert headers["Idempotency-Key"] == "key-1" == json.loads(body)["idempotency_key"]


def test_idempotency_keys_differ_by_receiver_and_by_event_but_not_by_copy():
    firing = alert_of(element_alert("msc-01", "firing"), "revguard.alerts:0:1")
    copy = alert_of(element_alert("msc-01", "firing"), "revguard.alerts:1:9")
    resolved = alert_of(element_alert("msc-01", "resolved", ends_at="2026-11-02T08:40:00Z"))
    assert firing.idempotency_key("hook") == copy.idempotency_key("hook")
    assert len({firing.idempotency_key("hook"), firing.idempotency_key("am"), resolved.idempotency_key("hook")}) == 3


def test_slack_post_has_a_text_fallback_and_a_section_block_per_alert():
    message = slack_message([alert_of(balance_alert(1)), alert_of(balance_alert(2, "prepaid_cutoff"))], "http://app")
    assert message["text"].startswith("revguard: info: low_balance (msisdn 447900000001); critical: prepaid_cutoff")
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert len(sections) == 2
    assert "<http://app/alerts?alert_id=prepaid_cutoff%3A447900000002%3Ar2|open in revguard>" in sections[1]["text"]["text"]

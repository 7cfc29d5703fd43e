"""What each kind of receiver is sent for an alert: request bodies and headers.

- Alertmanager, API v2 (`POST /api/v2/alerts`, a list): labels identify the alert and never
  change while it lives (`alertname` = kind, `alert_id`, `severity`, the keys it concerns);
  annotations carry the evidence and a link into the analysts' app. An alert with a lifetime
  is posted with `endsAt` a few re-send intervals ahead while it is open, as Prometheus does,
  so that it resolves by itself if revguard stops re-sending; on resolve `endsAt` is the
  moment it cleared. A one-off event (balance alerts) has no `endsAt`: Alertmanager resolves
  it after its own `resolve_timeout`.
- Generic webhook: one JSON object per alert; `Idempotency-Key` (the same for every copy of
  one event to one receiver) and `X-Revguard-Signature: sha256=<hex>`, the HMAC-SHA256 of
  `<X-Revguard-Timestamp>.<body>` under the shared secret.
- Slack-compatible incoming webhook: `text` (the fallback and the notification) and `blocks`,
  one section per alert, several alerts a post.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from urllib.parse import quote

from flows.alerting.alert import Alert, rfc3339

# Prometheus keeps an alert alive for 4 re-send intervals at Alertmanager; the same margin here.
RESEND_MARGIN = 4


def alert_link(alert: Alert, app_url: str) -> str:
    """Where an analyst sees the alert in the app."""
    return f"{app_url}/alerts?alert_id={quote(alert.alert_id, safe='')}"


def summary(alert: Alert) -> str:
    keys = ", ".join(f"{k} {v}" for k, v in alert.identity)
    state = " resolved" if alert.event == "resolved" else ""
    return f"{alert.kind}{state}" + (f" ({keys})" if keys else "")


def alertmanager_labels(alert: Alert) -> dict[str, str]:
    return {"alertname": alert.kind, "alert_id": alert.alert_id, "severity": alert.severity, **dict(alert.identity)}


def alertmanager_alert(alert: Alert, app_url: str, now: dt.datetime, resend_interval_s: float) -> dict:
    """One element of the `POST /api/v2/alerts` list, as of `now`."""
    body = {
        "labels": alertmanager_labels(alert),
        "annotations": {
            "summary": summary(alert),
            "evidence": json.dumps(dict(alert.evidence), sort_keys=True),
            "link": alert_link(alert, app_url),
            "source": alert.source,
        },
        "startsAt": rfc3339(alert.starts_at),
        "generatorURL": alert_link(alert, app_url),
    }
    if alert.event == "resolved":
        body["endsAt"] = rfc3339(alert.ends_at or now)
    elif alert.lifetime:
        body["endsAt"] = rfc3339(now + dt.timedelta(seconds=RESEND_MARGIN * resend_interval_s))
    return body


def refreshed(posted: dict, now: dt.datetime, resend_interval_s: float) -> dict:
    """An open alert as posted before, with its `endsAt` moved ahead for a re-send."""
    return {**posted, "endsAt": rfc3339(now + dt.timedelta(seconds=RESEND_MARGIN * resend_interval_s))}


def webhook_document(alert: Alert, app_url: str, idempotency_key: str) -> dict:
    return {
        "idempotency_key": idempotency_key,
        "alert_id": alert.alert_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "status": alert.event,
        "starts_at": rfc3339(alert.starts_at),
        "ends_at": rfc3339(alert.ends_at) if alert.ends_at else None,
        "keys": dict(alert.identity),
        "evidence": dict(alert.evidence),
        "link": alert_link(alert, app_url),
        "source": alert.source,
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `<timestamp>.<body>`; the timestamp lets a receiver refuse replays."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_request(alert: Alert, app_url: str, idempotency_key: str, secret: str, now: dt.datetime) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the webhook post for one alert."""
    body = json.dumps(webhook_document(alert, app_url, idempotency_key), sort_keys=True).encode()
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        "X-Revguard-Timestamp": timestamp,
        "X-Revguard-Signature": signature(secret, timestamp, body),
    }
    return body, headers


def slack_message(alerts: Sequence[Alert], app_url: str) -> dict:
    """One incoming-webhook post listing `alerts` (text for notifications, a block each)."""
    icon = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
    lines = []
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": f"revguard: {len(alerts)} alert{'s' if len(alerts) > 1 else ''}"}}]
    for alert in alerts:
        mark = ":white_check_mark:" if alert.event == "resolved" else icon[alert.severity]
        evidence = ", ".join(f"{k} {v}" for k, v in alert.evidence)
        lines.append(f"{alert.severity}: {summary(alert)}")
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{mark} *{summary(alert)}* ({alert.severity}) since {rfc3339(alert.starts_at)}\n{evidence}\n<{alert_link(alert, app_url)}|open in revguard>"},
        })
    return {"text": "revguard: " + "; ".join(lines), "blocks": blocks}

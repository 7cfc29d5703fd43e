"""An alert as `revguard.alerts` carries it, and the reasons a message is not one.

Two shapes arrive on the topic:

- balance alerts of the rating flow (`low_balance`, `prepaid_cutoff`, `credit_warning`,
  `credit_limit_reached`): `{alert_id, kind, msisdn, record_id, time, balance, cycle_total,
  threshold}`, each an event that happens once;
- alerts with a lifetime (the network alerts): the same plus `status` (`firing` |
  `resolved`), `starts_at` and, once resolved, `ends_at`; one `alert_id` opens, is held, resolves.

What identifies an alert (its labels at Alertmanager) is `alert_id`, `kind` and the keys
it concerns; everything else is evidence.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

# What a kind means to operations when the message does not say (`severity` field).
DEFAULT_SEVERITY = {
    "prepaid_cutoff": "critical",
    "credit_limit_reached": "warning",
    "credit_warning": "info",
    "low_balance": "info",
    "element_silent": "critical",
    "traffic_drop": "warning",
    "premium_surge": "critical",
}
IDENTITY_KEYS = ("msisdn", "element_id", "service")
EVENTS = ("firing", "resolved")
_SEVERITIES = ("info", "warning", "critical")


class MalformedAlert(ValueError):
    """The message is not an alert; `reason` is the dead letter's reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str
    severity: str
    event: str  # firing | resolved
    lifetime: bool  # True: opens, is held and resolves (re-sent to Alertmanager while open)
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    identity: tuple[tuple[str, str], ...]  # (key, value) of IDENTITY_KEYS present
    evidence: tuple[tuple[str, str], ...]  # every other field, as text, in message order
    source: str  # topic:partition:offset

    def idempotency_key(self, receiver: str) -> str:
        """The same for every copy of this event for this receiver, whatever process sends it."""
        return hashlib.sha256(f"{self.alert_id}\x1f{self.event}\x1f{receiver}".encode()).hexdigest()[:32]


def parsed_alert(value: bytes | None, source: str) -> Alert:
    """The alert in a message value, or `MalformedAlert` with the reason."""
    if value is None:
        raise MalformedAlert("bad_json", "empty message")
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedAlert("bad_json", str(exc)) from None
    if not isinstance(raw, dict):
        raise MalformedAlert("bad_json", "not a JSON object")
    for key in ("alert_id", "kind"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise MalformedAlert(f"missing_{key}", f"{key} must be a non-empty string")
    status = raw.get("status")
    if status is not None and status not in EVENTS:
        raise MalformedAlert("bad_status", f"status must be firing or resolved, got {status!r}")
    started = raw.get("starts_at", raw.get("time"))
    if started is None:
        raise MalformedAlert("missing_time", "time or starts_at is required")
    starts_at = _timestamp(started, "starts_at" if "starts_at" in raw else "time")
    ends_at = _timestamp(raw["ends_at"], "ends_at") if raw.get("ends_at") is not None else None
    if status == "resolved" and ends_at is None:
        raise MalformedAlert("missing_ends_at", "a resolved alert needs ends_at")
    severity = raw.get("severity", DEFAULT_SEVERITY.get(raw["kind"], "warning"))
    if severity not in _SEVERITIES:
        raise MalformedAlert("bad_severity", f"severity must be one of {', '.join(_SEVERITIES)}, got {severity!r}")
    plain = {"alert_id", "kind", "status", "starts_at", "ends_at", "time", "severity"}
    identity = tuple((k, str(raw[k])) for k in IDENTITY_KEYS if raw.get(k) not in (None, ""))
    evidence = tuple((k, _text(v)) for k, v in raw.items() if k not in plain and k not in IDENTITY_KEYS and v is not None)
    return Alert(
        alert_id=raw["alert_id"], kind=raw["kind"], severity=severity, event=status or "firing",
        lifetime=status is not None, starts_at=starts_at, ends_at=ends_at, identity=identity,
        evidence=evidence, source=source,
    )


def _timestamp(value: object, key: str) -> dt.datetime:
    if not isinstance(value, str):
        raise MalformedAlert("bad_time", f"{key} must be an RFC 3339 timestamp")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedAlert("bad_time", f"{key} is not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise MalformedAlert("bad_time", f"{key} has no UTC offset: {value!r}")
    return parsed.astimezone(dt.timezone.utc)


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def rfc3339(moment: dt.datetime) -> str:
    """UTC, millisecond precision, `Z`: what Alertmanager and the other receivers are sent."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

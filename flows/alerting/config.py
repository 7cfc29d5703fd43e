"""The delivery configuration (`alerts.yaml`): receivers, the routes to them, the retry budget.

    app_url: http://127.0.0.1:8501          # links in annotations and posts point into the analysts' app
    retry: {initial_backoff_s: 0.5, max_backoff_s: 30, give_up_after_s: 3600}
    receivers:
      - {name: ops-am, type: alertmanager, url: http://127.0.0.1:9093, resend_interval_s: 60}
      - {name: hook, type: webhook, url: https://example.net/revguard, secret_env: REVGUARD_HOOK_SECRET}
      - {name: chat, type: slack, url: https://hooks.slack.com/services/..., max_posts_per_s: 1}
    routes:                                  # every matching route applies; receivers are unioned
      - {receivers: [ops-am, hook]}
      - {receivers: [chat], kinds: [prepaid_cutoff, element_silent], min_severity: critical}

It is checked whole at start: an unknown key, type or receiver, a missing field or a bad
value is one `ConfigError` naming where it is, before anything is read from Kafka.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import yaml

from flows.errors import InputError

if TYPE_CHECKING:  # findings imports the store client; config is read before any store
    from flows.alerting.findings import FindingsOptions

SEVERITIES = ("info", "warning", "critical")
RECEIVER_TYPES = ("alertmanager", "webhook", "slack")


class ConfigError(InputError):
    """The delivery configuration is wrong; the message says where."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff doubles from `initial_backoff_s` up to `max_backoff_s`, each wait drawn with
    jitter in [half, whole]; after `give_up_after_s` since the first attempt the delivery is
    parked. Answers 4xx other than 408 and 429 are parked at once (sending again cannot help)."""

    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    give_up_after_s: float = 3600.0


@dataclass(frozen=True)
class Receiver:
    name: str
    type: str
    url: str
    timeout_s: float = 10.0
    secret: str | None = field(default=None, repr=False)  # webhook: HMAC-SHA256 key
    resend_interval_s: float = 60.0  # alertmanager: open alerts are posted again this often
    max_posts_per_s: float = 1.0  # slack
    max_alerts_per_post: int = 20  # slack: alerts listed in one post (a block each)


@dataclass(frozen=True)
class Route:
    receivers: tuple[str, ...]
    kinds: frozenset[str] | None = None  # None: every kind
    min_severity: str = "info"

    def matches(self, kind: str, severity: str) -> bool:
        return (self.kinds is None or kind in self.kinds) and SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity)


@dataclass(frozen=True)
class DeliveryConfig:
    receivers: tuple[Receiver, ...]
    routes: tuple[Route, ...]
    retry: RetryPolicy = RetryPolicy()
    app_url: str = "http://127.0.0.1:8501"
    findings: FindingsOptions | None = None  # new findings/anomalies from the store (flows.alerting.findings)

    def receivers_for(self, kind: str, severity: str) -> tuple[Receiver, ...]:
        """The receivers an alert of `kind` and `severity` goes to, in configuration order."""
        wanted = {name for route in self.routes if route.matches(kind, severity) for name in route.receivers}
        return tuple(r for r in self.receivers if r.name in wanted)


_TOP_KEYS = {"app_url", "retry", "receivers", "routes", "findings"}
_FINDINGS_KEYS = {"min_amount", "every_s"}
_RETRY_KEYS = {"initial_backoff_s", "max_backoff_s", "give_up_after_s"}
_RECEIVER_KEYS = {
    "alertmanager": {"name", "type", "url", "timeout_s", "resend_interval_s"},
    "webhook": {"name", "type", "url", "timeout_s", "secret", "secret_env"},
    "slack": {"name", "type", "url", "timeout_s", "max_posts_per_s", "max_alerts_per_post"},
}
_ROUTE_KEYS = {"receivers", "kinds", "min_severity"}


def load_config(path: Path) -> DeliveryConfig:
    """The configuration in `path`, checked whole."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such alert delivery configuration") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML: {' '.join(str(exc).split())}") from None
    return parsed_config(document, str(path))


def parsed_config(document: object, where: str = "config") -> DeliveryConfig:
    """A `DeliveryConfig` from the parsed YAML document; `where` prefixes error messages."""
    top = _mapping(document, where, _TOP_KEYS)
    retry = _retry(top.get("retry", {}), f"{where}: retry")
    raw_receivers = top.get("receivers")
    if not isinstance(raw_receivers, list) or not raw_receivers:
        raise ConfigError(f"{where}: receivers: a non-empty list is required")
    receivers = tuple(_receiver(r, f"{where}: receivers[{i}]") for i, r in enumerate(raw_receivers))
    names = [r.name for r in receivers]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"{where}: receivers: the name {name!r} is used twice")
    raw_routes = top.get("routes")
    if not isinstance(raw_routes, list) or not raw_routes:
        raise ConfigError(f"{where}: routes: a non-empty list is required")
    routes = tuple(_route(r, f"{where}: routes[{i}]", set(names)) for i, r in enumerate(raw_routes))
    app_url = top.get("app_url", DeliveryConfig.app_url)
    _url(app_url, f"{where}: app_url")
    findings = _findings(top["findings"], f"{where}: findings") if "findings" in top else None
    return DeliveryConfig(receivers=receivers, routes=routes, retry=retry, app_url=app_url.rstrip("/"), findings=findings)


def _findings(value: object, where: str):
    from decimal import Decimal, InvalidOperation

    from flows.alerting.findings import FindingsOptions

    raw = _mapping(value, where, _FINDINGS_KEYS)
    if "min_amount" not in raw:
        raise ConfigError(f"{where}: min_amount is required (money at stake, e.g. \"50.00\")")
    try:
        amount = Decimal(str(raw["min_amount"]))
    except InvalidOperation:
        raise ConfigError(f"{where}: min_amount must be an amount, got {raw['min_amount']!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{where}: min_amount must be an amount of at least 0, got {raw['min_amount']!r}")
    every = _positive(raw.get("every_s", 30), f"{where}: every_s")
    return FindingsOptions(min_amount=amount, every_s=every)


def _mapping(value: object, where: str, allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: a mapping is required")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    return value


def _positive(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: a positive number is required, got {value!r}")
    return float(value)


def _url(value: object, where: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: an http(s) URL is required, got {value!r}")
    return value


def _retry(value: object, where: str) -> RetryPolicy:
    raw = _mapping(value, where, _RETRY_KEYS)
    policy = RetryPolicy(**{k: _positive(v, f"{where}: {k}") for k, v in raw.items()})
    if policy.max_backoff_s < policy.initial_backoff_s:
        raise ConfigError(f"{where}: max_backoff_s is below initial_backoff_s")
    return policy


def _receiver(value: object, where: str) -> Receiver:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: a mapping is required")
    kind = value.get("type")
    if kind not in RECEIVER_TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(RECEIVER_TYPES)}, got {kind!r}")
    raw = _mapping(value, f"{where} ({kind})", _RECEIVER_KEYS[kind])
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: name: a non-empty string is required")
    where = f"{where} ({name})"
    url = _url(raw.get("url"), f"{where}: url")
    fields: dict = {"name": name, "type": kind, "url": url.rstrip("/") if kind == "alertmanager" else url}
    for key in ("timeout_s", "resend_interval_s", "max_posts_per_s"):
        if key in raw:
            fields[key] = _positive(raw[key], f"{where}: {key}")
    if "max_alerts_per_post" in raw:
        count = raw["max_alerts_per_post"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 45:
            raise ConfigError(f"{where}: max_alerts_per_post: a whole number from 1 to 45 is required (Slack allows 50 blocks)")
        fields["max_alerts_per_post"] = count
    if kind == "webhook":
        fields["secret"] = _secret(raw, where)
    return Receiver(**fields)


def _secret(raw: dict, where: str) -> str:
    if ("secret" in raw) == ("secret_env" in raw):
        raise ConfigError(f"{where}: give exactly one of secret and secret_env (the HMAC-SHA256 key)")
    if "secret" in raw:
        secret = raw["secret"]
    else:
        secret = os.environ.get(str(raw["secret_env"]))
        if secret is None:
            raise ConfigError(f"{where}: secret_env: the environment variable {raw['secret_env']} is not set")
    if not isinstance(secret, str) or not secret:
        raise ConfigError(f"{where}: the secret must be a non-empty string")
    return secret


def _route(value: object, where: str, names: set[str]) -> Route:
    raw = _mapping(value, where, _ROUTE_KEYS)
    receivers = raw.get("receivers")
    if not isinstance(receivers, list) or not receivers or not all(isinstance(r, str) for r in receivers):
        raise ConfigError(f"{where}: receivers: a non-empty list of receiver names is required")
    for name in receivers:
        if name not in names:
            raise ConfigError(f"{where}: unknown receiver {name!r} (defined: {', '.join(sorted(names))})")
    kinds = raw.get("kinds")
    if kinds is not None and (not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds)):
        raise ConfigError(f"{where}: kinds: a non-empty list of alert kinds is required")
    severity = raw.get("min_severity", "info")
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}: min_severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return Route(tuple(dict.fromkeys(receivers)), frozenset(kinds) if kinds else None, severity)

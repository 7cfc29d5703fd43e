"""Kafka client settings from command-line flags and the environment, as librdkafka dicts.

Environment (flags given to the functions win over it):

    REVGUARD_KAFKA_BOOTSTRAP           host:port[,host:port...]            (required)
    REVGUARD_KAFKA_SECURITY_PROTOCOL   plaintext | ssl | sasl_plaintext | sasl_ssl
    REVGUARD_KAFKA_SASL_MECHANISM      PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | ...
    REVGUARD_KAFKA_SASL_USERNAME / REVGUARD_KAFKA_SASL_PASSWORD
    REVGUARD_KAFKA_SSL_CA_LOCATION     path of the CA bundle
    REVGUARD_KAFKA_CONFIG_<KEY>        any librdkafka property: <KEY> lowercased with `_`
                                       read as `.` (REVGUARD_KAFKA_CONFIG_SOCKET_TIMEOUT_MS=30000
                                       sets socket.timeout.ms)

The named settings win over a generic one that spells the same librdkafka key.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

ENV_BOOTSTRAP = "REVGUARD_KAFKA_BOOTSTRAP"
ENV_SECURITY_PROTOCOL = "REVGUARD_KAFKA_SECURITY_PROTOCOL"
ENV_SASL_MECHANISM = "REVGUARD_KAFKA_SASL_MECHANISM"
ENV_SASL_USERNAME = "REVGUARD_KAFKA_SASL_USERNAME"
ENV_SASL_PASSWORD = "REVGUARD_KAFKA_SASL_PASSWORD"
ENV_SSL_CA_LOCATION = "REVGUARD_KAFKA_SSL_CA_LOCATION"
ENV_CONFIG_PREFIX = "REVGUARD_KAFKA_CONFIG_"

SECURITY_PROTOCOLS = ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl")

# Java clients hash keys with murmur2; using the same partitioner keeps one msisdn in the
# same partition whichever client produced it (librdkafka's default is CRC32-based).
PRODUCER_DEFAULTS: Mapping[str, str | bool] = {
    "partitioner": "murmur2_random",
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "20",
    "batch.num.messages": "10000",
    "queue.buffering.max.messages": "500000",
    "compression.type": "lz4",
    # Delivery callbacks only for failures: a Python call per acknowledged message cost
    # ~1 µs each (measured), a fifth of producing one.
    "delivery.report.only.error": True,
}


@dataclass(frozen=True)
class KafkaSettings:
    """Connection settings shared by every Kafka client of the application."""

    bootstrap: str
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_ca_location: str | None = None
    # librdkafka key -> value, from REVGUARD_KAFKA_CONFIG_*; a tuple keeps the value frozen.
    extra: tuple[tuple[str, str], ...] = ()

    def client_config(self) -> dict[str, str]:
        """librdkafka properties every client type accepts (admin, producer, consumer)."""
        conf = dict(self.extra)
        named = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password,
            "ssl.ca.location": self.ssl_ca_location,
        }
        conf.update({key: value for key, value in named.items() if value is not None})
        return conf

    def brokers(self) -> list[str]:
        """The bootstrap as a list of `host:port`, as Bytewax's Kafka connectors take it."""
        return [broker.strip() for broker in self.bootstrap.split(",") if broker.strip()]

    def bytewax_add_config(self) -> dict[str, str]:
        """The client config without `bootstrap.servers`, for Bytewax's `add_config`."""
        conf = self.client_config()
        del conf["bootstrap.servers"]
        return conf


def kafka_settings(
    environ: Mapping[str, str] | None = None,
    *,
    bootstrap: str | None = None,
    security_protocol: str | None = None,
    sasl_mechanism: str | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
    ssl_ca_location: str | None = None,
) -> KafkaSettings:
    """Settings from flags (keyword arguments) over the environment; ValueError if unusable."""
    env = os.environ if environ is None else environ

    def pick(flag: str | None, name: str) -> str | None:
        if flag is not None and flag.strip():
            return flag.strip()
        value = env.get(name, "").strip()
        return value or None

    chosen_bootstrap = pick(bootstrap, ENV_BOOTSTRAP)
    if chosen_bootstrap is None:
        raise ValueError(
            f"no Kafka bootstrap servers: set {ENV_BOOTSTRAP}=host:port or pass --bootstrap"
        )
    protocol = pick(security_protocol, ENV_SECURITY_PROTOCOL)
    if protocol is not None and protocol.lower() not in SECURITY_PROTOCOLS:
        raise ValueError(
            f"unknown Kafka security protocol {protocol!r}: "
            f"expected one of {', '.join(SECURITY_PROTOCOLS)}"
        )
    return KafkaSettings(
        bootstrap=chosen_bootstrap,
        security_protocol=None if protocol is None else protocol.lower(),
        sasl_mechanism=pick(sasl_mechanism, ENV_SASL_MECHANISM),
        sasl_username=pick(sasl_username, ENV_SASL_USERNAME),
        sasl_password=pick(sasl_password, ENV_SASL_PASSWORD),
        ssl_ca_location=pick(ssl_ca_location, ENV_SSL_CA_LOCATION),
        extra=pass_through_config(env),
    )


def pass_through_config(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """librdkafka properties named by REVGUARD_KAFKA_CONFIG_<KEY> variables, sorted by key."""
    pairs = {}
    for name, value in environ.items():
        if not name.startswith(ENV_CONFIG_PREFIX) or name == ENV_CONFIG_PREFIX:
            continue
        key = name[len(ENV_CONFIG_PREFIX):].lower().replace("_", ".")
        pairs[key] = value
    return tuple(sorted(pairs.items()))


def client_config(environ: Mapping[str, str] | None = None, **flags: str | None) -> dict[str, str]:
    """The librdkafka dict for admin clients (and the base of the other two)."""
    return kafka_settings(environ, **flags).client_config()


def producer_config(environ: Mapping[str, str] | None = None, **flags: str | None) -> dict[str, str]:
    """The librdkafka dict for producers: throughput defaults, then the user's settings."""
    return {**PRODUCER_DEFAULTS, **client_config(environ, **flags)}


def consumer_config(
    group_id: str, environ: Mapping[str, str] | None = None, **flags: str | None
) -> dict[str, str]:
    """The librdkafka dict for a consumer in `group_id` that commits offsets itself."""
    defaults = {
        "group.id": group_id,
        "enable.auto.commit": "false",
        "auto.offset.reset": "earliest",
    }
    return {**defaults, **client_config(environ, **flags)}

"""The topic names of SPEC section 1 and the one call that makes sure they exist."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

NETWORK_USAGE = "revguard.usage.network"
BILLED_USAGE = "revguard.usage.billed"
BALANCE_ADJUSTMENTS = "revguard.balance.adjustments"
RATED_USAGE = "revguard.usage.rated"
REJECTS = "revguard.rejects"
ALERTS = "revguard.alerts"

ALL_TOPICS: tuple[str, ...] = (
    NETWORK_USAGE,
    BILLED_USAGE,
    BALANCE_ADJUSTMENTS,
    RATED_USAGE,
    REJECTS,
    ALERTS,
)


def ensure_topics(
    bootstrap_conf: Mapping[str, str],
    partitions: int,
    topics: Iterable[str] = ALL_TOPICS,
    *,
    replication_factor: int = -1,
    timeout_s: float = 30.0,
) -> list[str]:
    """Create the topics that do not exist yet; return the names it created.

    Existing topics are left as they are (their partition count is not changed: that would
    move keys to other partitions and break per-subscriber order). A replication factor
    of -1 takes the broker's default.
    """
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    admin = AdminClient(dict(bootstrap_conf))
    wanted = list(dict.fromkeys(topics))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    missing = [name for name in wanted if name not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(name, partitions, replication_factor) for name in missing],
        operation_timeout=timeout_s,
        request_timeout=timeout_s,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout_s)
            created.append(name)
        except KafkaException as exc:
            # Someone else created it between our listing and our request: that is fine.
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return sorted(created, key=wanted.index)

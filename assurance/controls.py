"""The reconciliation controls: one SQL file per finding kind, run inside ClickHouse.

Each file is an `INSERT INTO revguard.discrepancies ... SELECT` whose parameters are
bound by clickhouse-connect (`{name:Type}`), so nothing from the caller is ever
formatted into SQL text. Every finding a control writes has its `event_time` inside
[since, until): that is what lets a re-run replace exactly the findings of its range.
"""
from __future__ import annotations

from functools import cache
from importlib import resources

# Order matters only for reading the summary: usage-to-bill matching, shadow rating,
# subscribers, prepaid, network elements.
CONTROLS: tuple[str, ...] = (
    "unbilled",
    "duplicate_billing",
    "phantom_billing",
    "usage_mismatch",
    "misrated",
    "unbilled_subscriber",
    "ghost_subscriber",
    "unfunded_usage",
    "element_gap",
)

# Kinds whose positive amounts are revenue the operator failed to collect.
LEAKAGE_KINDS: frozenset[str] = frozenset(
    {"unbilled", "usage_mismatch", "misrated", "unfunded_usage"}
)


@cache
def control_sql(kind: str) -> str:
    """The INSERT ... SELECT statement of one control."""
    if kind not in CONTROLS:
        raise KeyError(f"no control named {kind!r}")
    return resources.files("assurance").joinpath("sql", f"{kind}.sql").read_text()

"""The reconciliation controls: SQL statements run inside ClickHouse, each writing findings
of one or more kinds.

Each file is an `INSERT INTO revguard.discrepancies ... SELECT` whose parameters are
bound by clickhouse-connect (element_gap alone scans SQL aggregates in Python and inserts
its findings: `assurance/element_gaps.py`) (`{name:Type}`), so nothing from the caller is ever
formatted into SQL text. Every finding a control writes has its `event_time` inside
[since, until): that is what lets a re-run replace exactly the findings of its range.
"""
from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from assurance.element_gaps import write_element_gaps

# Order matters only for reading the summary: usage-to-bill matching, shadow rating,
# subscribers, prepaid, network elements.
CONTROLS: tuple[str, ...] = (
    "unbilled",
    "duplicate_billing",
    "phantom_billing",
    "usage_mismatch",
    "misrated",
    "bill_rejected",
    "unbilled_subscriber",
    "ghost_subscriber",
    "unfunded_usage",
    "element_gap",
)

# The statements that write them, in the order they run, with the kinds each one writes.
# unbilled, usage_mismatch and misrated all judge one network record against its bills
# and its shadow charge, so one aggregation by record_id finds all three: string-keyed
# passes over the usage tables are what a reconcile run costs.
STATEMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("record_matching", ("unbilled", "usage_mismatch", "misrated", "bill_rejected")),
    ("duplicate_billing", ("duplicate_billing",)),
    ("phantom_billing", ("phantom_billing",)),
    ("unbilled_subscriber", ("unbilled_subscriber",)),
    ("ghost_subscriber", ("ghost_subscriber",)),
    ("unfunded_usage", ("unfunded_usage",)),
    ("element_gap", ("element_gap",)),
)

# Kinds whose positive amounts are revenue the operator failed to collect. `bill_rejected`
# (a bill that arrived but was refused at load) is not among them: that money was billed, as
# far as anyone can tell, and no refused input ever counts as leakage.
LEAKAGE_KINDS: frozenset[str] = frozenset(
    {"unbilled", "usage_mismatch", "misrated", "unfunded_usage"}
)


def run_control(client: Any, statement: str, parameters: dict[str, Any]) -> None:
    """Runs one statement of STATEMENTS with reconcile's bound `parameters`."""
    if statement == "element_gap":
        write_element_gaps(client, parameters)
    else:
        client.command(control_sql(statement), parameters=parameters)


@cache
def control_sql(statement: str) -> str:
    """The INSERT ... SELECT text of one statement of STATEMENTS."""
    if statement not in dict(STATEMENTS) or statement == "element_gap":
        raise KeyError(f"no control statement named {statement!r}")
    return resources.files("assurance").joinpath("sql", f"{statement}.sql").read_text()

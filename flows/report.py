"""What commands print when they finish: short rich tables on stdout."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

# Piped output (CI logs, `| less`) gets a width that keeps the tables whole.
stdout = Console() if Console().is_terminal else Console(width=120)


def counts_table(title: str, rows: Iterable[tuple[str, Any]]) -> Table:
    # At least as wide as its title: a narrow table wrapped its title over several lines.
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False,
                  min_width=len(title))
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in rows:
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    return table


def print_counts(counts: dict[str, int]) -> None:
    """`in = rated + duplicate + rejected`, printed so the sum can be checked by eye."""
    stdout.print(counts_table("records", counts.items()))
    balanced = counts.get("in", 0) == sum(counts.get(k, 0) for k in ("rated", "duplicate", "rejected"))
    stdout.print("in = rated + duplicate + rejected" + (" ✓" if balanced else "  ✗ counts do not add up"))


def print_simulation(summary: Any, out_dir: Path) -> None:
    rows = summary.as_rows() if hasattr(summary, "as_rows") else vars(summary).items()
    stdout.print(counts_table(f"simulated into {out_dir}", rows))


def print_load(summary: dict[str, int]) -> None:
    stdout.print(counts_table("loaded into ClickHouse (database revguard)", summary.items()))


def print_reconcile(summary: Any) -> None:
    if hasattr(summary, "render"):
        stdout.print(summary.render())
    else:
        stdout.print(summary)

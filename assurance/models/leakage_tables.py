"""What `revguard score` and `revguard demo` print about leakage risk, as rich tables."""
from __future__ import annotations

from decimal import Decimal

from rich.table import Table

from assurance.models.leakage_scoring import LeakageRun

TOP_CELLS = 12


def leakage_table(run: LeakageRun) -> Table:
    """Money at risk per element, service and day for the records still inside the SLA,
    largest first, with the total."""
    table = Table(title=f"Leakage risk: records inside the billing SLA at {run.as_of:%Y-%m-%dT%H:%MZ} "
                        f"(from {run.scored_from:%Y-%m-%dT%H:%MZ})", title_justify="left")
    for column in ("element", "service", "day", "records", "expected faults", "money at risk"):
        table.add_column(column, justify="left" if column in ("element", "service", "day") else "right",
                         no_wrap=True)
    cells = sorted(run.cells, key=lambda c: c.money_at_risk, reverse=True)
    for c in cells[:TOP_CELLS]:
        table.add_row(c.element_id, c.service, c.day, f"{c.records:,}", f"{c.expected_faults:,.1f}",
                      f"{c.money_at_risk:,.2f}")
    if len(cells) > TOP_CELLS:
        rest = cells[TOP_CELLS:]
        table.add_row(f"{len(rest)} more", "", "", f"{sum(c.records for c in rest):,}",
                      f"{sum(c.expected_faults for c in rest):,.1f}",
                      f"{sum((c.money_at_risk for c in rest), Decimal(0)):,.2f}")
    table.add_row("total", "", "", f"{run.records:,}", f"{sum(c.expected_faults for c in run.cells):,.1f}",
                  f"{run.money_at_risk:,.2f}", style="bold")
    table.caption = (f"model {run.model_version} ({'fitted now' if run.trained else 'loaded'}); "
                     "money at risk: ex tax, probability x expected under-billing, in leakage_scores")
    if run.records == 0:
        table.caption += (f". No rated record started in the 24 h before the billing clock {run.as_of:%Y-%m-%dT%H:%MZ}: "
                          "the controls have judged them all; `revguard score --to T` scores as of an earlier time T")
    return table

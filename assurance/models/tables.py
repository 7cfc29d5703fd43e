"""What `revguard score` and `revguard demo` print about anomalies, as rich tables."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from rich.table import Table

from assurance.models.detection import DetectionRun
from assurance.models.measure import score_events


def anomalies_table(run: DetectionRun) -> Table:
    """Events and money per kind written for the range, and the model that found them."""
    table = Table(title=f"Anomalies, event time {run.since:%Y-%m-%dT%H:%MZ} to {run.until:%Y-%m-%dT%H:%MZ}",
                  title_justify="left")
    for column in ("kind", "events", "amount", "rows", "model version", "model", "rule"):
        table.add_column(column, justify="left" if column in ("kind", "model version", "model") else "right",
                         no_wrap=True)
    for k in run.kinds:
        amount = sum((a.amount for a in k.events), Decimal(0))
        table.add_row(k.kind, f"{len(k.events):,}", f"{amount:,.2f}", f"{k.rows_scored:,}", k.model_version,
                      "fitted now" if k.trained else "loaded", f"{len(k.baseline):,}")
    table.caption = "amount: ex tax; rows: feature rows scored; rule: events of the kind's simple baseline rule"
    return table


def anomaly_quality_table(run: DetectionRun, truth: Iterable[Mapping[str, Any]]) -> Table:
    """Event-level precision and recall per kind, model beside its baseline, money against
    money injected, and the truncations' detection delay."""
    truth = list(truth)
    table = Table(title="anomaly detection against truth.ndjson (events: keys agree, windows overlap)",
                  title_justify="left")
    for column in ("kind", "method", "found", "injected", "precision", "recall", "money estimated",
                   "money injected", "delay"):
        table.add_column(column, justify="left" if column in ("kind", "method") else "right", no_wrap=True)
    for k in run.kinds:
        for method, events in (("model", k.events), ("baseline", k.baseline)):
            s = score_events(events, truth)[k.kind]
            delay = "-"
            if s.delays_s and method == "model":
                worst = max(s.delays_s, key=abs)
                delay = f"worst {worst / 3600:+.1f} h"
            table.add_row(
                k.kind if method == "model" else "", method, f"{s.found:,}", f"{s.injected:,}",
                "-" if s.precision is None else f"{s.precision:.3f}",
                "-" if s.recall is None else f"{s.recall:.3f}",
                f"{s.money_estimated:,.2f}" if method == "model" else "",
                f"{s.money_injected:,.2f}" if method == "model" else "", delay)
    return table

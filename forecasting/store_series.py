"""Revenue series read from the store: daily rated revenue ex tax, total or by a grouping.

Days are calendar days in the catalog's time zone (where finance closes its months), from
the first to the last day with rated usage; a day with none is 0. Money is summed exactly
in ClickHouse (Decimal) and becomes a float only as a model's input.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from forecasting.errors import ForecastInputError
from forecasting.series import Series

GROUPINGS = ("total", "service", "plan", "segment", "zone")
# The grouping key of each `--by`: fixed expressions, never user input.
_KEYS = {
    "total": "'all'",
    "service": "r.service",
    "plan": "r.plan_id",
    "segment": "if(s.segment = '', 'unknown', s.segment)",
    "zone": "if(r.roaming_zone = '', 'home', r.roaming_zone)",
}
_TEMPLATE = (Path(__file__).parent / "sql" / "daily_revenue.sql").read_text()
DAILY_REVENUE = {by: _TEMPLATE.replace("{key}", expression) for by, expression in _KEYS.items()}
CATALOG_YAML = "SELECT yaml FROM revguard.catalog FINAL ORDER BY loaded_at DESC LIMIT 1"


@dataclass(frozen=True)
class RevenueHistory:
    """Daily revenue per group on one calendar, exact (Decimal) and as model series."""

    by: str
    timezone: str
    days: pd.DatetimeIndex
    exact: dict[str, list[Decimal]]    # series name -> revenue per day
    series: dict[str, Series]          # the same as float series, season 7

    @property
    def total(self) -> list[Decimal]:
        return [sum(day, Decimal(0)) for day in zip(*self.exact.values())]


def series_name(by: str, key: str) -> str:
    return "total" if by == "total" else f"{by}={key}"


def catalog_timezone(client) -> str:
    """The loaded catalog's time zone, UTC when no catalog is loaded."""
    rows = client.query(CATALOG_YAML).result_rows
    if not rows:
        return "UTC"
    return str((yaml.safe_load(rows[0][0]) or {}).get("timezone") or "UTC")


def revenue_history(client, by: str = "service") -> RevenueHistory:
    """Daily revenue by `by` from `rated_usage`; ForecastInputError when there is none."""
    if by not in DAILY_REVENUE:
        raise ForecastInputError(f"cannot group revenue by {by!r}; one of {', '.join(GROUPINGS)}")
    timezone = catalog_timezone(client)
    rows = client.query(DAILY_REVENUE[by], parameters={"timezone": timezone}).result_rows
    if not rows:
        raise ForecastInputError("no rated usage in the store: load some first (revguard load DIR)")
    days = pd.date_range(min(r[0] for r in rows), max(r[0] for r in rows), freq="D")
    position = {day.date(): i for i, day in enumerate(days)}
    exact: dict[str, list[Decimal]] = {}
    for day, key, revenue in rows:
        values = exact.setdefault(series_name(by, str(key)), [Decimal(0)] * len(days))
        values[position[day]] = Decimal(revenue)
    exact = dict(sorted(exact.items()))
    series = {name: Series(name=name, times=days, values=np.array([float(v) for v in values]), freq="D", season=7)
              for name, values in exact.items()}
    return RevenueHistory(by=by, timezone=timezone, days=days, exact=exact, series=series)

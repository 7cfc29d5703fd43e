"""Reference data every page needs: the catalog currency and the values filters offer."""
from __future__ import annotations

import yaml

from dashboards.store import frame

CURRENT_CATALOG = "SELECT yaml FROM revguard.catalog ORDER BY loaded_at DESC LIMIT 1"
ELEMENTS = "SELECT DISTINCT toString(element_id) AS element_id FROM revguard.network_usage ORDER BY element_id"
PLANS = "SELECT DISTINCT toString(plan_id) AS plan_id FROM revguard.subscribers ORDER BY plan_id"
DAYS = "SELECT min(toDate(event_time)) AS first, max(toDate(event_time)) AS last FROM revguard.discrepancies"
USAGE_DAYS = "SELECT min(toDate(start_time)) AS first, max(toDate(start_time)) AS last FROM revguard.network_usage"


def currency() -> str:
    """The currency of the newest loaded catalog ('' when none is loaded)."""
    catalog = frame(CURRENT_CATALOG)
    if catalog.empty:
        return ""
    try:
        return str((yaml.safe_load(catalog.iloc[0]["yaml"]) or {}).get("currency", ""))
    except yaml.YAMLError:
        return ""


def elements() -> list[str]:
    return frame(ELEMENTS)["element_id"].tolist()


def plans() -> list[str]:
    return frame(PLANS)["plan_id"].tolist()


def usage_days() -> tuple:
    """(first, last) day of network usage or of findings, whichever reach further (a phantom bill
    can fall after the last network record); (None, None) for an empty store."""
    days = []
    for sql in (USAGE_DAYS, DAYS):
        row = frame(sql).iloc[0]
        if str(row["first"]) != "1970-01-01":
            days += [row["first"], row["last"]]
    if not days:
        return None, None
    return min(days), max(days)

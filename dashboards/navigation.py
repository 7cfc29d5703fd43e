"""The app's pages, in the order the sidebar lists them, grouped in sections.

A feature adds its page here with one entry: its script under `dashboards/views/` (not
`pages/`, which Streamlit would turn into a second, automatic navigation) and its
queries in a module of the same name under `dashboards/queries/`. Sections: "Revenue
assurance" (the controls' work), "Operations", "Models" (anomalies, scores) and "Finance".
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    script: str  # relative to dashboards/app.py
    title: str
    icon: str
    section: str
    url_path: str


PAGES: tuple[PageEntry, ...] = (
    PageEntry("views/overview.py", "Overview", ":material/dashboard:", "Revenue assurance", "overview"),
    PageEntry("views/findings.py", "Findings", ":material/search:", "Revenue assurance", "findings"),
    PageEntry("views/cases.py", "Cases", ":material/assignment:", "Revenue assurance", "cases"),
    PageEntry("views/subscriber.py", "Subscriber", ":material/person:", "Revenue assurance", "subscriber"),
    PageEntry("views/stream_health.py", "Stream health", ":material/monitor_heart:", "Operations", "stream-health"),
    PageEntry("views/anomalies.py", "Anomalies", ":material/troubleshoot:", "Models", "anomalies"),
    PageEntry("views/leakage_risk.py", "Leakage risk", ":material/savings:", "Models", "leakage-risk"),
    PageEntry("views/churn.py", "Churn", ":material/person_remove:", "Models", "churn"),
    PageEntry("views/forecast.py", "Forecast", ":material/query_stats:", "Finance", "forecast"),
)

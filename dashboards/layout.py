"""What every page shares: the store check that stops a page with one clear message, the
sidebar settings (analyst name, msisdn unmasking) and money as a person reads it."""
from __future__ import annotations

import getpass
import os
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import streamlit as st

from dashboards import masking, store
from dashboards.queries import reference

ANALYST_ENV = "REVGUARD_ANALYST"


def require_store(*, findings: bool = False) -> store.StoreStatus:
    """The store's status; the page stops with one message when the store cannot be used."""
    try:
        status = store.status()
    except store.StoreProblem as problem:
        st.error(f"The store cannot be reached: {problem}", icon=":material/cloud_off:")
        st.caption("Start it with `revguard clickhouse serve`, or point REVGUARD_CLICKHOUSE_URL at a ClickHouse server, then reload.")
        st.stop()
    if status.empty:
        st.info(
            "The store is empty: no network records, bills or findings yet. "
            "Run `revguard demo`, or `revguard load DIR` then `revguard reconcile`.",
            icon=":material/inventory_2:",
        )
        st.stop()
    if findings and status.findings == 0:
        st.info("No findings in the store: run `revguard reconcile` to run the assurance controls.", icon=":material/task_alt:")
        st.stop()
    return status


def page_header(title: str) -> None:
    """The page's title and the shared sidebar settings."""
    sidebar_settings()
    st.title(title)


def sidebar_settings() -> None:
    """Analyst name and the unmask switch, kept in session state for every page."""
    with st.sidebar:
        st.text_input("Analyst", value=_default_analyst(), key="analyst", help="Recorded in the case audit trail.")
        if st.button("Refresh data", key="refresh_data", icon=":material/refresh:",
                     help=f"Figures are read from the store at most every {store.TTL_S} s; this reads it again now."):
            store.written()
        if masking.unmask_allowed():
            st.toggle("Show full msisdn", value=False, key="unmask", help="msisdns are masked unless this is on.")
        else:
            st.session_state["unmask"] = False
            st.caption("Full msisdns are disabled by the operator.")


def analyst() -> str:
    return str(st.session_state.get("analyst") or "").strip()


def unmasked() -> bool:
    return bool(st.session_state.get("unmask")) and masking.unmask_allowed()


def currency() -> str:
    try:
        return reference.currency()
    except store.StoreProblem:
        return ""


def money(amount: Decimal | float | int, code: str | None = None) -> str:
    """`1234.5` -> `EUR 1,234.50`: two decimals, thousands separated, the catalog currency."""
    code = currency() if code is None else code
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    return f"{code} {value:,.2f}".strip()


def exact_money(amount: Decimal | float | int, code: str | None = None) -> str:
    """Money to the micro-unit, as rating computed it (`EUR 0.024`): evidence must show what a
    two-decimal figure would round away."""
    code = currency() if code is None else code
    value = Decimal(str(amount)).quantize(Decimal("0.000001")).normalize()
    if value == value.to_integral() or -value.as_tuple().exponent < 2:
        value = value.quantize(Decimal("0.01"))
    return f"{code} {value:,}".strip()


def money_column(label: str, code: str) -> "st.column_config.NumberColumn":
    return st.column_config.NumberColumn(f"{label} ({code})" if code else label, format="accounting")


def _default_analyst() -> str:
    try:
        return os.environ.get(ANALYST_ENV) or getpass.getuser()
    except (KeyError, OSError):
        return ""


def date_range(label: str, first, last, key: str) -> tuple[datetime, datetime]:
    """A day range picker bounded by the data; returns [since, until) as UTC datetimes."""
    first = first or date.today()
    last = last or first
    picked = st.date_input(label, value=(first, last), min_value=first, max_value=last, key=key)
    start, end = (picked if isinstance(picked, (tuple, list)) and len(picked) == 2 else (picked[0], picked[0]) if isinstance(picked, (tuple, list)) and picked else (picked, picked))
    since = datetime.combine(start, time.min, tzinfo=timezone.utc)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return since, until


def duration(seconds: float | int | None) -> str:
    """`45 s`, `12.5 min`, `3.2 h`, `31.6 d`: a delay as a person reads it."""
    if seconds is None or seconds != seconds:
        return "-"
    value = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(value) >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{value:,.0f} s"


def as_float(frame, *columns: str):
    """Money columns as floats for charts and tables only (Decimal stays exact in the store and
    in case amounts; a chart cannot draw a Decimal)."""
    shown = frame.copy()
    for column in columns:
        if column in shown.columns:
            shown[column] = shown[column].map(lambda value: float(value) if value is not None else None)
    return shown

"""Overview: leakage as a share of rated revenue, money by kind, by day, by service, plan and
element, and the money in cases, over a date range."""
from datetime import timedelta

import altair as alt
import streamlit as st

from dashboards.layout import page_header, as_float, currency, date_range, money, money_column, require_store
from dashboards.queries import overview, reference

page_header("Revenue assurance overview")
require_store()
code = currency()
first, last = reference.usage_days()
since, until = date_range("Event dates", first, last, key="overview_range")

head = overview.headline(since, until)
cases = overview.case_money()
kpis = st.columns(5)
kpis[0].metric("Leakage", money(head.leakage, code), help="Positive amounts of unbilled, usage_mismatch, misrated and unfunded_usage findings; a record counted once.")
kpis[1].metric("Share of rated revenue", f"{head.share:.2%}", help=f"Rated revenue (shadow charge): {money(head.rated_revenue, code)}")
kpis[2].metric("Over-billed", money(head.overbilled, code))
kpis[3].metric("Open in cases", money(cases["open_money"] or 0, code), help=f"{int(cases['open_cases'])} open case(s)")
kpis[4].metric("Recovered", money(cases["recovered_money"] or 0, code), help=f"{int(cases['recovered_cases'])} recovered case(s)")
st.caption(f"{head.findings:,} findings from {since:%Y-%m-%d} to {until - timedelta(days=1):%Y-%m-%d} (UTC days, both included).")

left, right = st.columns([2, 3])
with left:
    st.subheader("Money by finding kind")
    kinds = as_float(overview.by_kind(since, until), "amount")
    st.dataframe(kinds, hide_index=True, width="stretch", column_config={
        "kind": "kind", "findings": st.column_config.NumberColumn("findings", format="localized"),
        "amount": money_column("amount", code)})
with right:
    st.subheader("Leakage by day")
    daily = as_float(overview.leakage_by_day(since, until), "amount")
    if daily.empty:
        st.info("No leakage in this range.")
    else:
        chart = alt.Chart(daily).mark_bar().encode(
            x=alt.X("utcyearmonthdate(day):O", title="day (UTC)", axis=alt.Axis(format="%d %b", labelAngle=0)),
            y=alt.Y("amount:Q", title=f"leakage ({code})", axis=alt.Axis(format=",.2f")),
            color=alt.Color("kind:N", title="kind"),
            tooltip=[alt.Tooltip("utcyearmonthdate(day):T", title="day", format="%Y-%m-%d"), "kind:N", alt.Tooltip("amount:Q", format=",.2f")],
        )
        st.altair_chart(chart, width="stretch")

st.subheader("Where the leakage is")
for column, (dimension, label) in zip(st.columns(3), (("service", "service"), ("plan", "plan_id"), ("element", "element_id"))):
    with column:
        st.markdown(f"**by {dimension}**")
        table = as_float(overview.leakage_by(dimension, since, until), "amount")
        st.dataframe(table, hide_index=True, width="stretch", column_config={"amount": money_column("leakage", code)})

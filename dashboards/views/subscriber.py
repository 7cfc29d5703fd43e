"""Subscriber: search by msisdn; usage by day and service, prepaid balance with top-ups and
cut-offs, alerts and findings."""
import altair as alt
import streamlit as st

from dashboards.layout import page_header, as_float, currency, money_column, require_store, unmasked
from dashboards.masking import masked
from dashboards.queries import subscriber as q

page_header("Subscriber")
require_store()
code = currency()

suggestions = q.most_money_subscribers()
# ?msisdn=... opens the page on one subscriber (a link an analyst can share or bookmark).
if "subscriber_msisdn" not in st.session_state and st.query_params.get("msisdn"):
    st.session_state["subscriber_msisdn"] = str(st.query_params["msisdn"])
msisdn = st.text_input("msisdn (digits, E.164 without +)", key="subscriber_msisdn").strip()
if suggestions:
    st.caption("Most money in findings: " + ", ".join(f"`{value if unmasked() else masked(value)}`" for value in suggestions)
               + ("" if unmasked() else " (type the full number; masked here)"))
if not msisdn:
    st.stop()
if not msisdn.isdigit():
    st.error("An msisdn is digits only, E.164 without +.")
    st.stop()

shown = msisdn if unmasked() else masked(msisdn)
profile = q.profile(msisdn)
if profile.empty:
    st.warning(f"{shown} is neither in billing nor provisioned on the network.")
    st.stop()
who = profile.iloc[0]
st.subheader(shown)
facts = st.columns(5)
facts[0].metric("Plan", who["plan_id"] or "(not in billing)")
facts[1].metric("Payment", who["payment"] or "-")
facts[2].metric("Billing status", who["billing_status"] or "-")
facts[3].metric("Network status", who["network_status"] or "-")
facts[4].metric("Segment", who["segment"] or "-")

st.markdown("**Usage by day and service**")
usage = as_float(q.usage_by_day(msisdn), "charge")
if usage.empty:
    st.write("No rated usage.")
else:
    st.altair_chart(
        alt.Chart(usage).mark_bar().encode(
            x=alt.X("utcyearmonthdate(day):O", title="day (UTC)", axis=alt.Axis(format="%d %b", labelAngle=0)), y=alt.Y("records:Q", title="records"),
            color=alt.Color("service:N"), tooltip=[alt.Tooltip("utcyearmonthdate(day):T", title="day"), "service:N", "records:Q", alt.Tooltip("charge:Q", format=",.2f")]),
        width="stretch")

history = as_float(q.balance_history(msisdn), "change", "balance")
if who["payment"] == "prepaid" or not history.empty:
    st.markdown(f"**Prepaid balance ({code})**, top-ups and credits marked")
    if history.empty:
        st.write("No balance movements.")
    else:
        line = alt.Chart(history[history["event"] == "usage"]).mark_line(interpolate="step-after").encode(
            x=alt.X("time:T", title="time (UTC)", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%d %b %H:%M")), y=alt.Y("balance:Q", title=f"balance ({code})", axis=alt.Axis(format=",.2f")))
        credits = alt.Chart(history[history["event"] != "usage"]).mark_rule(color="green").encode(
            x=alt.X("time:T", scale=alt.Scale(type="utc")), tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M"), "event:N", alt.Tooltip("change:Q", format=",.2f")])
        st.altair_chart(line + credits, width="stretch")

left, right = st.columns(2)
with left:
    st.markdown("**Alerts** (cut-offs, low balance, credit limits)")
    alerts = as_float(q.alerts(msisdn), "balance", "cycle_total", "threshold")
    if alerts.empty:
        st.write("No alerts.")
    else:
        st.dataframe(alerts, hide_index=True, width="stretch", key="subscriber_alerts",
                     column_config={"balance": money_column("balance", code), "cycle_total": money_column("cycle total", code),
                                    "threshold": money_column("threshold", code),
                                    "time": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss")})
with right:
    st.markdown("**Findings**")
    found = as_float(q.findings(msisdn), "amount")
    if found.empty:
        st.write("No findings.")
    else:
        st.dataframe(found, hide_index=True, width="stretch", key="subscriber_findings",
                     column_order=["kind", "amount", "event_time", "element_id", "record_id", "bill_record_id", "finding_id"],
                     column_config={"amount": money_column("amount", code),
                                    "event_time": st.column_config.DatetimeColumn("event time (UTC)", format="YYYY-MM-DD HH:mm:ss")})

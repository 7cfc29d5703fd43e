"""Stream health: records in and out per minute, ingestion delay, rejects with raw text, last alerts."""
import altair as alt
import streamlit as st

from dashboards.layout import as_float, duration, page_header, require_store, unmasked
from dashboards.masking import shown_msisdns
from dashboards.queries import stream_health as q

page_header("Stream health")
require_store()

st.subheader("Records in and out per minute")
flow = q.records_per_minute()
if flow.empty:
    st.write("Nothing ingested yet.")
else:
    st.altair_chart(
        alt.Chart(flow).mark_line(point=True).encode(
            x=alt.X("minute:T", title="minute (UTC)", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%H:%M")), y=alt.Y("records:Q", title="records", axis=alt.Axis(format=",d")),
            color=alt.Color("direction:N"), tooltip=[alt.Tooltip("utcyearmonthdatehoursminutes(minute):T", title="minute (UTC)"), "direction:N", alt.Tooltip("records:Q", format=",d")]),
        width="stretch")

st.subheader("Ingestion delay")
st.caption("Seconds from a record's event time to its arrival in the store, per minute of arrival. Kafka consumer lag "
           "itself is on the flow's /metrics (`revguard_consumer_lag_total`, `revguard run rating --metrics-port`), not in the store.")
delay = q.ingest_delay()
if not delay.empty:
    delay["median delay"] = delay.pop("median_delay_s").map(duration)
    delay["p95 delay"] = delay.pop("p95_delay_s").map(duration)
    st.dataframe(delay, hide_index=True, width="stretch", key="delay_table",
                 column_config={"minute": st.column_config.DatetimeColumn("minute (UTC)", format="YYYY-MM-DD HH:mm")})

left, right = st.columns([1, 2])
with left:
    st.subheader("Rejects by reason")
    reasons = q.rejects_by_reason()
    if reasons.empty:
        st.write("No rejects.")
    else:
        st.dataframe(reasons, hide_index=True, width="stretch", key="reasons_table")
with right:
    st.subheader("Last rejects, raw text")
    rejects = q.last_rejects()
    if rejects.empty:
        st.write("No rejects.")
    else:
        st.dataframe(shown_msisdns(rejects, unmasked()), hide_index=True, width="stretch", key="rejects_table")

st.subheader("Last alerts")
alerts = q.last_alerts()
if alerts.empty:
    st.write("No alerts.")
else:
    st.dataframe(as_float(shown_msisdns(alerts, unmasked()), "balance", "cycle_total", "threshold"), hide_index=True,
                 width="stretch", key="alerts_table")

"""Stream health: records in and out per minute, ingestion delay, rejects with raw text, last alerts."""
import altair as alt
import streamlit as st

from dashboards.layout import as_float, currency, duration, money_column, page_header, require_store, unmasked
from dashboards.masking import shown_msisdns
from dashboards.queries import stream_health as q

page_header("Stream health")
require_store()
code = currency()

st.subheader("Records in and out per minute")
flow = q.records_per_minute()
if flow.empty:
    st.write("Nothing ingested yet.")
else:
    minutes = flow["minute"].nunique()
    if minutes <= 5:
        st.caption(f"Everything the store holds arrived within {minutes} minute(s): a batch load (`revguard load`), not a stream.")
    # Bars side by side per minute: readable for one batch minute as for hours of a stream.
    st.altair_chart(
        alt.Chart(flow).mark_bar().encode(
            x=alt.X("utchoursminutes(minute):O", title="minute (UTC)", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("direction:N"),
            y=alt.Y("records:Q", title="records", axis=alt.Axis(format=",d")),
            color=alt.Color("direction:N"),
            tooltip=[alt.Tooltip("utcyearmonthdatehoursminutes(minute):T", title="minute (UTC)"), "direction:N",
                     alt.Tooltip("records:Q", format=",d")]),
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

st.subheader("Rejects by reason")
reasons = q.rejects_by_reason()
if reasons.empty:
    st.write("No rejects.")
else:
    st.dataframe(reasons, hide_index=True, width="stretch", key="reasons_table",
                 column_config={"rejects": st.column_config.NumberColumn("rejects", format="localized"),
                                "last_seen": st.column_config.DatetimeColumn("last seen (UTC)", format="YYYY-MM-DD HH:mm:ss")})
st.subheader("Last rejects, raw text")
rejects = q.last_rejects()
if rejects.empty:
    st.write("No rejects.")
else:
    st.dataframe(shown_msisdns(rejects, unmasked()), hide_index=True, width="stretch", key="rejects_table",
                 column_order=["rejected_at", "reason", "raw", "source", "record_id", "msisdn", "stream"],
                 column_config={"rejected_at": st.column_config.DatetimeColumn("rejected at (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                                "raw": st.column_config.TextColumn("raw", width="large")})

st.subheader("Last alerts")
alerts = q.last_alerts()
if alerts.empty:
    st.write("No alerts.")
else:
    st.dataframe(as_float(shown_msisdns(alerts, unmasked()), "balance", "cycle_total", "threshold"), hide_index=True,
                 width="stretch", key="alerts_table",
                 column_config={"balance": money_column("balance", code), "cycle_total": money_column("cycle total", code),
                                "threshold": money_column("threshold", code),
                                "time": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                                "raised_at": st.column_config.DatetimeColumn("raised at (UTC)", format="YYYY-MM-DD HH:mm:ss")})

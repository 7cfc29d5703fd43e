"""Anomalies: what `revguard score` found, by kind; select one to see its series against the
expected band, the flagged window marked, and the evidence the model recorded."""
import json

import altair as alt
import pandas as pd
import streamlit as st

from dashboards.layout import as_float, currency, money, money_column, page_header, require_store, unmasked
from dashboards.masking import masked, shown_msisdns
from dashboards.queries import anomalies as q

MEASURE = {"usage_spike": "premium/international calls per hour", "sim_box": "calls per day",
           "volume_truncation": "median bytes of a data record per hour"}

page_header("Anomalies")
require_store()
code = currency()

totals = q.summary()
if totals.empty:
    st.info("No anomalies in the store: run `revguard score` to fit the models and score the usage.",
            icon=":material/query_stats:")
    st.stop()
columns = st.columns(len(totals))
for column, (_, row) in zip(columns, totals.iterrows()):
    column.metric(row["kind"], f"{int(row['events']):,} events")
    column.caption(f"{money(row['amount'], code)} at stake")

kinds = st.multiselect("Kind", totals["kind"].tolist(), key="anomaly_kinds", placeholder="every kind")
found = q.anomalies(tuple(kinds))
table = as_float(shown_msisdns(found.drop(columns=["evidence", "anomaly_id"]), unmasked()), "amount")
event = st.dataframe(
    table, key="anomalies_table", on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
    column_config={"amount": money_column("amount", code),
                   "score": st.column_config.NumberColumn("score", format="%.3f"),
                   "expected": st.column_config.NumberColumn("expected", format="%.2f"),
                   "observed": st.column_config.NumberColumn("observed", format="%.2f"),
                   "window_start": st.column_config.DatetimeColumn("window start (UTC)", format="YYYY-MM-DD HH:mm"),
                   "window_end": st.column_config.DatetimeColumn("window end (UTC)", format="YYYY-MM-DD HH:mm")})
rows = list(event.selection.rows) if event is not None else []
if not rows:
    st.caption("Select a row to see the series it was judged on and its evidence.")
    st.stop()

anomaly = found.iloc[rows[0]]
who = anomaly["element_id"] if anomaly["kind"] == "volume_truncation" else (
    anomaly["msisdn"] if unmasked() else masked(anomaly["msisdn"]))
st.subheader(f"{anomaly['kind']} on {who}")
measure = MEASURE.get(anomaly["kind"], "observed")
series = q.series(anomaly)
if series.empty:
    st.write("No usage left in the store for this window.")
else:
    x = alt.X("time:T", title="time (UTC)", scale=alt.Scale(type="utc"))
    window = pd.DataFrame({"start": [pd.Timestamp(anomaly["window_start"])], "end": [pd.Timestamp(anomaly["window_end"])]})
    flagged = alt.Chart(window).mark_rect(color="#d62728", opacity=0.12).encode(
        x=alt.X("start:T", scale=alt.Scale(type="utc")), x2="end:T")
    band = alt.Chart(series).mark_area(opacity=0.25, color="#2ca02c").encode(
        x=x, y=alt.Y("low:Q", title=measure), y2="high:Q")
    line = alt.Chart(series).mark_line(point=True, color="#1f77b4").encode(
        x=x, y=alt.Y("observed:Q", title=measure),
        tooltip=[alt.Tooltip("utcyearmonthdatehours(time):T", title="time (UTC)"), alt.Tooltip("observed:Q", format=",.0f"),
                 alt.Tooltip("low:Q", title="band low", format=",.1f"), alt.Tooltip("high:Q", title="band high", format=",.1f")])
    st.altair_chart(flagged + band + line, width="stretch")
    st.caption(f"Blue: observed {measure}. Green: the expected band. Red: the flagged window. Expected "
               f"{anomaly['expected']:,.2f}, observed {anomaly['observed']:,.2f}, score {anomaly['score']:.3f}, "
               f"model {anomaly['model_version']}.")
st.markdown("**Evidence the model recorded**")
st.json(json.loads(anomaly["evidence"] or "{}"), expanded=True)

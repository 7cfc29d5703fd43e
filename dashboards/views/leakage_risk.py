"""Leakage risk: money at risk before billing closes, beside the leakage the controls found."""
import altair as alt
import pandas as pd
import streamlit as st

from dashboards.layout import as_float, currency, money, money_column, page_header, require_store, unmasked
from dashboards.masking import shown_msisdns
from dashboards.queries import leakage_risk as q

page_header("Leakage risk")
require_store()
code = currency()

run = q.latest_run()
if run.empty or int(run["scored"].iloc[0]) == 0:
    st.write("No leakage scores yet: run `revguard score` after `revguard reconcile`.")
    st.stop()

cells = q.latest_cells()
empty = cells.empty or "records" not in cells.columns
left, middle, right = st.columns(3)
left.metric("Money at risk now", money(0 if empty else sum(cells["money_at_risk"]), code))
middle.metric("Records inside the SLA", f"{0 if empty else int(cells['records'].sum()):,}")
right.metric("Expected faults", f"{0.0 if empty else float(cells['expected_faults'].sum()):,.0f}")
st.caption(f"Scored against the billing clock {pd.Timestamp(run['latest_as_of'].iloc[0]):%Y-%m-%d %H:%M} UTC by model "
           f"{run['model_version'].iloc[0]}. Money at risk: probability that the controls will find the record "
           "unbilled, misrated or with a usage mismatch once the 24 h SLA closes, times the under-billing expected if so (ex tax).")

st.subheader("Money at risk beside the leakage found")
days = q.risk_beside_found()
shown = as_float(days, "money_at_risk", "leakage_found")
long = shown.melt(id_vars=["day", "sla_closed"], value_vars=["money_at_risk", "leakage_found"],
                  var_name="measure", value_name="amount")
long["measure"] = long["measure"].map({"money_at_risk": "money at risk (scores)", "leakage_found": "leakage found (controls)"})
st.altair_chart(
    alt.Chart(long).mark_bar().encode(
        x=alt.X("yearmonthdate(day):O", title="day of usage"), xOffset="measure:N",
        y=alt.Y("amount:Q", title=f"amount ({code})" if code else "amount"),
        color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["yearmonthdate(day):T", "measure:N", alt.Tooltip("amount:Q", format=",.2f")]),
    width="stretch")
shown["sla_closed"] = shown["sla_closed"].astype(bool)
st.dataframe(shown, hide_index=True, width="stretch", key="days_table",
             column_config={"day": st.column_config.DateColumn("day", format="YYYY-MM-DD"),
                            "sla_closed": st.column_config.CheckboxColumn("SLA closed"),
                            "faults_found": st.column_config.NumberColumn("faults found"),
                            "money_at_risk": money_column("money at risk", code),
                            "leakage_found": money_column("leakage found", code),
                            "expected_faults": st.column_config.NumberColumn("expected faults", format="%.1f")})
st.caption("A day whose SLA has not closed shows only what the controls could already see (misratings of bills "
           "that arrived); once it closes, the two bars are the forecast and the outcome.")

st.subheader("Where the money at risk is: element, service and day")
if empty:
    st.write("The latest run found no record inside the SLA.")
else:
    st.dataframe(as_float(cells, "money_at_risk"), hide_index=True, width="stretch", key="cells_table",
                 column_config={"day": st.column_config.DateColumn("day", format="YYYY-MM-DD"),
                                "money_at_risk": money_column("money at risk", code),
                                "expected_faults": st.column_config.NumberColumn("expected faults", format="%.1f")})

st.subheader("Riskiest open records")
records = shown_msisdns(as_float(q.top_records(), "expected_loss"), unmasked())
st.dataframe(records, hide_index=True, width="stretch", key="records_table",
             column_config={"start_time": st.column_config.DatetimeColumn("start (UTC)", format="YYYY-MM-DD HH:mm:ss"),
                            "expected_loss": money_column("money at risk", code),
                            "probability": st.column_config.NumberColumn("probability", format="%.3f")})

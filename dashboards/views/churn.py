"""Churn: who is likely to leave in the 30 days after the latest as-of date, and why, as a
list to export for a retention campaign."""
import streamlit as st

from dashboards.layout import page_header, require_store, unmasked
from dashboards.masking import shown_msisdns
from dashboards.queries import churn as q

page_header("Churn")
require_store()

head = q.summary()
if head.empty or int(head["subscribers"].iloc[0]) == 0:
    st.info("No churn scores yet: run `revguard score` on a store with at least 56 days of usage.",
            icon=":material/person_remove:")
    st.stop()
row = head.iloc[0]
left, middle, right = st.columns(3)
left.metric("Subscribers scored", f"{int(row['subscribers']):,}")
middle.metric("Expected leavers, next 30 days", f"{float(row['expected_leavers']):,.1f}")
right.metric("As of", f"{row['scored_as_of']:%Y-%m-%d}")
st.caption(f"Model {row['model_version']}. Probabilities are calibrated: of 100 subscribers at 0.20, about 20 "
           "are expected to leave. Reasons: the three drivers that raise a subscriber's probability most "
           "(each feature in turn set to the base's typical value).")

limit = st.number_input("Subscribers in the list", min_value=10, max_value=100_000, value=200, step=50, key="churn_limit")
scores = shown_msisdns(q.latest_scores(int(limit)), unmasked())
st.dataframe(scores.drop(columns=["as_of", "model_version"]), hide_index=True, width="stretch", key="churn_table",
             column_config={"probability": st.column_config.ProgressColumn("probability", format="%.3f",
                                                                          min_value=0.0, max_value=1.0)})
st.download_button("Export the list (CSV)", scores.to_csv(index=False).encode("utf-8"),
                   file_name=f"churn-{row['scored_as_of']:%Y-%m-%d}.csv", mime="text/csv", key="churn_export")

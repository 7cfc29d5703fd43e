"""Forecast (finance): usage revenue with its 80 / 95 % bands, where the month closes, how the
method did in the backtest, and the money known beside it; a run's rows as CSV."""
import altair as alt
import pandas as pd
import streamlit as st

from dashboards.layout import as_float, currency, money, money_column, page_header, require_store
from dashboards.queries import forecast

HISTORY_DAYS = 90

page_header("Revenue forecast")
require_store()
code = currency()

st.subheader("Month-end projection")
month, reason = forecast.month_end()
if month is None:
    st.info(f"No month-end projection: {reason}.", icon=":material/event_busy:")
else:
    kpis = st.columns(3)
    kpis[0].metric(f"{month['month']:%B %Y} closes at", money(month["point"], code),
                   help="Usage revenue ex tax: the month so far plus the forecast of its remaining days.")
    kpis[1].metric("Month so far", money(month["to_date"], code))
    kpis[2].metric("Days still forecast", f"{month['remaining']}")
    for column, level in zip(st.columns(2), (80, 95)):
        low, high = month["bounds"][level]
        column.metric(f"{level} % interval", f"{money(low, code)} – {money(high, '')}",
                      help="Calibrated on the errors of past forecasts of sums over as many days.")

runs = forecast.runs()
st.subheader("Revenue and its forecast")
if runs.empty:
    st.info("No forecast run in the store yet: run `revguard forecast --by service`.", icon=":material/query_stats:")
    rows = pd.DataFrame()
else:
    labels = {r.run_id: f"{r.run_id[:8]} · made {r.created_at:%Y-%m-%d %H:%M} · {r.first_day:%Y-%m-%d} to "
                        f"{r.last_day:%Y-%m-%d}" for r in runs.itertuples()}
    picked, choose_series = st.columns([3, 2])
    run_id = picked.selectbox("Run", list(labels), format_func=labels.get, key="forecast_run")
    rows = forecast.run_rows(run_id)
    names = list(dict.fromkeys(rows["series"]))
    series = choose_series.selectbox("Series", names, key="forecast_series")
    shown = as_float(rows[rows["series"] == series], "point", "lower_80", "upper_80", "lower_95", "upper_95")
    past, _ = forecast.history()
    actual = pd.DataFrame(columns=["day", "revenue"])
    if past is not None:
        actual = as_float(past[past["series"] == series], "revenue")
        actual = actual[actual["day"] >= actual["day"].max() - pd.Timedelta(days=HISTORY_DAYS)]
    x = alt.X("utcyearmonthdate(day):T", title="day", axis=alt.Axis(format="%d %b"))
    shown = shown.rename(columns={"date": "day"})
    bands = [alt.Chart(shown).mark_area(opacity=opacity, color="#4c78a8").encode(
        x=x, y=alt.Y(f"lower_{level}:Q", title=f"revenue ex tax ({code})", axis=alt.Axis(format=",.0f")),
        y2=f"upper_{level}:Q") for level, opacity in ((95, 0.18), (80, 0.32))]
    point = alt.Chart(shown).mark_line(color="#1f4e79", strokeDash=[5, 3]).encode(
        x=x, y="point:Q", tooltip=[alt.Tooltip("utcyearmonthdate(day):T", title="day", format="%Y-%m-%d"),
                                   alt.Tooltip("point:Q", format=",.2f"), alt.Tooltip("lower_80:Q", format=",.2f"),
                                   alt.Tooltip("upper_80:Q", format=",.2f"), alt.Tooltip("lower_95:Q", format=",.2f"),
                                   alt.Tooltip("upper_95:Q", format=",.2f")])
    line = alt.Chart(actual).mark_line(color="#333333").encode(
        x=x, y="revenue:Q", tooltip=[alt.Tooltip("utcyearmonthdate(day):T", title="day", format="%Y-%m-%d"),
                                     alt.Tooltip("revenue:Q", format=",.2f")])
    st.altair_chart(alt.layer(*bands, point, line), width="stretch")
    st.caption(f"Black: rated revenue ex tax, the last {HISTORY_DAYS} days. Dashed: the run's forecast; "
               "shaded: its 80 % (darker) and 95 % intervals. Groups add up to the total (bottom-up).")
    st.download_button("Download this run as CSV", forecast.run_csv(rows), file_name=f"revenue_forecast_{run_id[:8]}.csv",
                       mime="text/csv", icon=":material/download:")

st.subheader("Known, not forecast")
months = forecast.beside()
if months is None or months.empty:
    st.info("No rated usage in the store yet.")
else:
    table = as_float(months, "usage_revenue", "recurring_fees", "at_risk", "recovered")
    table["month"] = table["month"].dt.strftime("%Y-%m")
    st.dataframe(table[["month", "days", "usage_revenue", "recurring_fees", "at_risk", "recovered", "subscribers"]],
                 hide_index=True, width="stretch", column_config={
                     "usage_revenue": money_column("usage revenue billed", code),
                     "recurring_fees": money_column("recurring fees", code),
                     "at_risk": money_column("leakage at risk", code),
                     "recovered": money_column("recovered", code),
                     "subscribers": st.column_config.NumberColumn("subscribers", format="localized")})
    st.caption("Usage revenue: rated usage ex tax. Recurring fees: each active subscriber's monthly fee on its cycle day. "
               "At risk: leakage the controls found on that month's usage. Recovered: money recorded on recovered cases. "
               "Subscribers: as on the month's last day.")

st.subheader("Backtest accuracy")
tests, reason = forecast.backtest()
if tests is None:
    st.info(f"No backtest: {reason}.", icon=":material/history:")
else:
    st.dataframe(tests, hide_index=True, width="stretch", column_config={
        column: st.column_config.NumberColumn(column, format="%d" if column == "month ends" else "%.2f")
        for column in tests.columns if column != "series"})
    st.caption(f"{forecast.BACKTEST_ORIGINS} rolling origins, {forecast.BACKTEST_HORIZON} days ahead. MASE in units of "
               "the in-sample seasonal naive error; ratio = MASE / seasonal naive's (below 0.8 is the bar). "
               "In 80 % / in 95 %: share of actual days inside the intervals. Pinball: loss of the interval ends. "
               "Month-end error: mean |projected − actual| / actual of month closes within reach.")

"""Cases: alarms to triage (untriaged first), cases and their state machine, the audit trail,
and a case exported with its evidence as CSV."""
from decimal import Decimal

import streamlit as st

from assurance.cases import RECOVERED, STATES, CaseError, move_case, next_states, open_case
from dashboards import store
from dashboards.layout import page_header, analyst, as_float, currency, money, money_column, require_store, unmasked
from dashboards.queries import cases as q

page_header("Alarms and cases")
require_store(findings=True)
code = currency()

st.subheader("Alarms")
alarms = q.alarms()
untriaged = alarms[~alarms["triaged"].astype(bool)]
st.caption(f"{len(untriaged):,} of {len(alarms):,} alarms to triage. An alarm is one kind of finding on one element or plan, "
           "over the consecutive days it recurs; untriaged first (findings no case holds), the most money to triage first.")
alarm_event = st.dataframe(
    as_float(alarms, "net_amount", "money_at_stake", "untriaged_money"), key="alarms_table", on_select="rerun",
    selection_mode="single-row", hide_index=True, width="stretch",
    column_order=["severity", "kind", "dimension", "value", "first_day", "last_day", "days", "findings", "untriaged",
                  "untriaged_money", "money_at_stake", "net_amount"],
    column_config={"money_at_stake": money_column("at stake", code), "net_amount": money_column("net", code),
                   "untriaged_money": money_column("to triage", code),
                   "untriaged": st.column_config.NumberColumn("untriaged", format="localized"),
                   "findings": st.column_config.NumberColumn("findings", format="localized"),
                   "first_day": st.column_config.DateColumn("from", format="YYYY-MM-DD"),
                   "last_day": st.column_config.DateColumn("to", format="YYYY-MM-DD")},
)
alarm_rows = list(alarm_event.selection.rows) if alarm_event is not None else []
if alarm_rows:
    alarm = alarms.iloc[alarm_rows[0]]
    members = q.findings_of_alarm(alarm)
    open_members = members[~members["in_case"].astype(bool)]
    with st.form("alarm_case_form"):
        st.markdown(f"**{alarm['alarm_key']}**: {int(alarm['findings']):,} findings, {money(alarm['money_at_stake'], code)} at stake "
                    f"({alarm['severity']}); {len(open_members):,} not in any case yet, {money(alarm['untriaged_money'], code)}.")
        assignee = st.text_input("Assignee", key="alarm_assignee")
        if st.form_submit_button("Open a case from this alarm", type="primary", disabled=open_members.empty):
            try:
                case = open_case(store.client(), finding_ids=open_members["finding_id"].tolist(), title=str(alarm["alarm_key"]),
                                 amount_at_stake=sum((Decimal(v) for v in open_members["amount"]), Decimal(0)), actor=analyst(),
                                 kind=str(alarm["kind"]), alarm_key=str(alarm["alarm_key"]), assignee=assignee)
            except CaseError as refused:
                st.error(str(refused))
            else:
                store.written()
                st.session_state["case_choice"] = case.case_id
                st.session_state["case_flash"] = f"Case {case.case_id} opened ({case.severity})."
                st.rerun()

st.subheader("Cases")
cases = q.cases()
if cases.empty:
    st.info("No cases yet: open one from an alarm above or from findings on the Findings page.")
    st.stop()
st.dataframe(as_float(cases.drop(columns=["version", "alarm_key"]), "amount_at_stake", "amount_recovered"), hide_index=True,
             width="stretch", key="cases_table",
             column_config={"amount_at_stake": money_column("at stake", code), "amount_recovered": money_column("recovered", code)})

ids = cases["case_id"].tolist()
if st.session_state.get("case_choice") not in ids:
    st.session_state["case_choice"] = ids[0]
case_id = st.selectbox("Case", ids, key="case_choice",
                       format_func=lambda value: f"{value}: {cases.set_index('case_id').loc[value, 'title']}")
case = cases.set_index("case_id").loc[case_id]
if "case_flash" in st.session_state:
    st.success(st.session_state.pop("case_flash"))
allowed = next_states(str(case["state"]))
st.markdown(f"**{case['title']}**: state **{case['state']}**, {case['severity']}, {money(case['amount_at_stake'], code)} at stake, "
            f"assignee {case['assignee'] or '(nobody)'}. " + (f"Next: {', '.join(allowed)}." if allowed else "Closed."))

with st.form("move_case_form"):
    targets = [state for state in STATES if state != case["state"]]
    to_state = st.selectbox("Move to", targets, index=targets.index(allowed[0]) if allowed else 0, key="move_to")
    recovered = st.number_input(f"Amount recovered ({code}), for 'recovered'", min_value=0.0, value=0.0, step=0.01, key="move_recovered")
    assignee = st.text_input("Assignee", value=str(case["assignee"]), key="move_assignee")
    note = st.text_area("Note", key="move_note")
    if st.form_submit_button("Apply", type="primary"):
        try:
            moved = move_case(store.client(), case_id, to_state, actor=analyst(), seen_version=int(case["version"]), note=note,
                              assignee=assignee, amount_recovered=Decimal(str(recovered)) if to_state == RECOVERED else None)
        except CaseError as refused:
            st.error(f"Refused: {refused}")
        else:
            store.written()
            st.session_state["case_flash"] = f"Case {case_id} is now {moved.state}."
            st.rerun()

st.markdown("**Audit trail**")
trail = q.events(case_id)
st.dataframe(as_float(trail, "amount_recovered"), hide_index=True, width="stretch", key="case_events_table",
             column_config={"at": st.column_config.DatetimeColumn("at (UTC)", format="YYYY-MM-DD HH:mm:ss")})

st.download_button("Export this case with its evidence (CSV)", q.case_csv(case_id, unmasked()), file_name=f"{case_id}.csv",
                   mime="text/csv", key="case_export")

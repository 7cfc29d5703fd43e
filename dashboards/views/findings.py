"""Findings: filter, sorted by money; select rows to see the evidence side by side and open a case."""
from decimal import Decimal

import streamlit as st

from assurance.cases import CaseError, open_case
from dashboards import store
from dashboards.layout import page_header, analyst, as_float, currency, date_range, exact_money, money, money_column, require_store, unmasked
from dashboards.masking import shown_msisdns
from dashboards.queries import findings as q
from dashboards.queries import reference

page_header("Findings")
require_store(findings=True)
code = currency()

with st.container(border=True):
    first, last = reference.usage_days()
    row = st.columns([2, 3, 2])
    with row[0]:
        since, until = date_range("Event dates", first, last, key="findings_range")
    kinds = row[1].multiselect("Kind", q.kinds(), key="findings_kinds", placeholder="every kind")
    min_money = row[2].number_input(f"At least ({code or 'money'}, either sign)", min_value=0.0, value=0.0, step=1.0, key="findings_min")
    row = st.columns(3)
    elements = row[0].multiselect("Element", reference.elements(), key="findings_elements", placeholder="every element")
    services = row[1].multiselect("Service", ["voice", "sms", "data"], key="findings_services", placeholder="every service")
    plans = row[2].multiselect("Plan", reference.plans(), key="findings_plans", placeholder="every plan")

chosen = q.FindingFilter(since=since, until=until, kinds=tuple(kinds), elements=tuple(elements), services=tuple(services),
                         plans=tuple(plans), min_money=Decimal(str(min_money)))
result = q.findings(chosen)
found = result.rows
shown_count = len(found)
st.caption(f"{result.total:,} findings, {money(result.amount, code)} net"
           + (f"; the {shown_count:,} with the most money are listed" if shown_count < result.total else ""))
if found.empty:
    st.info("No findings match these filters.")
    st.stop()

table = as_float(shown_msisdns(found.drop(columns=["evidence"]), unmasked()), "amount")
event = st.dataframe(
    table, key="findings_table", on_select="rerun", selection_mode="multi-row", hide_index=True, width="stretch",
    column_order=["kind", "amount", "event_time", "msisdn", "element_id", "service", "plan_id", "record_id", "bill_record_id",
                  "finding_id"],
    column_config={"amount": money_column("amount", code), "event_time": st.column_config.DatetimeColumn("event time (UTC)", format="YYYY-MM-DD HH:mm:ss")},
)
rows = list(event.selection.rows) if event is not None else []
if not rows:
    st.caption("Select one or more rows to see the evidence and open a case.")
    st.stop()

selected = found.iloc[rows]
finding = selected.iloc[0]
st.subheader(f"Evidence: {finding['kind']} {finding['finding_id']}" + (f" (first of {len(rows)} selected)" if len(rows) > 1 else ""))
proof = q.evidence(finding["record_id"], finding["bill_record_id"])
network_side, bill_side, shadow_side = st.columns(3)
with network_side:
    st.markdown("**Network record**")
    if proof.network.empty:
        st.write("No network record" + (f" with record_id {finding['record_id']}" if finding["record_id"] else "") + ".")
    else:
        st.dataframe(shown_msisdns(proof.network, unmasked()).T.astype(str), width="stretch", key="evidence_network")
with bill_side:
    st.markdown(f"**Bills ({len(proof.bills)})**")
    if proof.bills.empty:
        st.write("No bill refers to this record.")
    else:
        st.dataframe(as_float(shown_msisdns(proof.bills, unmasked()), "charge"), hide_index=True, width="stretch",
                     key="evidence_bills", column_config={"charge": money_column("charge", code)})
with shadow_side:
    st.markdown("**Shadow rating**")
    if proof.shadow.empty:
        st.write("Not rated by revguard.")
    else:
        rated = proof.shadow.iloc[0]
        service = str(proof.network.iloc[0]["service"]) if not proof.network.empty else ""
        price, unit = q.effective_price(service, rated["charge"], int(rated["charged_units"]))
        breakdown = {
            "status": f"{rated['status']} {rated['reason']}".strip(), "plan": rated["plan_id"],
            "destination class": rated["dest_class"] or "-", "roaming zone": rated["roaming_zone"] or "home",
            "off-peak": "yes" if rated["offpeak"] else "no", "billable units": f"{int(rated['billable_units']):,}",
            "allowance units": f"{int(rated['allowance_units']):,}", "charged units": f"{int(rated['charged_units']):,}",
            f"price {unit}": "-" if price is None else exact_money(price, code),
            "charge (ex tax)": exact_money(rated["charge"], code), "tax": exact_money(rated["tax"], code),
            "total": exact_money(rated["total"], code), "unfunded": exact_money(rated["unfunded"], code),
        }  # fmt: skip
        st.table({"": list(breakdown), "shadow": [str(value) for value in breakdown.values()]})
st.markdown("**What the control recorded**")
st.json(finding["evidence"] or "{}", expanded=False)

with st.form("open_case_form"):
    stake = sum((Decimal(value) for value in selected["amount"]), Decimal(0))
    st.markdown(f"**Open a case** from {len(rows)} finding(s), {money(stake, code)} at stake")
    title = st.text_input("Title", value=f"{finding['kind']} {finding['record_id'] or finding['bill_record_id'] or finding['element_id']}".strip(), key="case_title")
    assignee = st.text_input("Assignee", key="case_assignee")
    notes = st.text_area("Notes", key="case_notes")
    if st.form_submit_button("Open case", type="primary"):
        kinds_selected = set(selected["kind"])
        try:
            case = open_case(store.client(), finding_ids=selected["finding_id"].tolist(), title=title, amount_at_stake=stake,
                             actor=analyst(), kind=kinds_selected.pop() if len(kinds_selected) == 1 else "",
                             assignee=assignee, notes=notes)
        except CaseError as refused:
            st.error(str(refused))
        else:
            store.written()
            st.session_state["last_case"] = case.case_id
            st.success(f"Case {case.case_id} opened ({case.severity}). Work on it on the Cases page.")

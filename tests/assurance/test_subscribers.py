"""Subscriber reconciliation: the network's view (provisioning) against billing's."""
from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import insert, network_row, provisioning_row, subscriber_row

A, B = "447900000001", "447900000002"


def test_provisioned_msisdn_with_usage_absent_from_billing_is_unbilled_subscriber(store):
    insert(store, "provisioning", [provisioning_row(A)])
    insert(store, "network_usage", [network_row("r1", msisdn=A), network_row("r2", msisdn=A)])
    reconcile(store)
    [finding] = findings_of(store, "unbilled_subscriber")
    assert finding["msisdn"] == A
    assert (finding["evidence"]["billing_status"], finding["evidence"]["network_records"]) == ("absent", 2)


def test_provisioned_msisdn_with_usage_suspended_in_billing_is_unbilled_subscriber(store):
    insert(store, "provisioning", [provisioning_row(A)])
    insert(store, "subscribers", [subscriber_row(A, status="suspended")])
    insert(store, "network_usage", [network_row("r1", msisdn=A)])
    reconcile(store)
    assert [f["evidence"]["billing_status"] for f in findings_of(store, "unbilled_subscriber")] == ["suspended"]


def test_provisioned_msisdn_without_usage_is_not_unbilled_subscriber(store):
    insert(store, "provisioning", [provisioning_row(A)])
    reconcile(store)
    assert findings_of(store, "unbilled_subscriber") == []


def test_msisdn_active_on_both_sides_is_reconciled(store):
    insert(store, "provisioning", [provisioning_row(A)])
    insert(store, "subscribers", [subscriber_row(A)])
    insert(store, "network_usage", [network_row("r1", msisdn=A)])
    reconcile(store)
    assert findings_of(store, "unbilled_subscriber") == [] and findings_of(store, "ghost_subscriber") == []


def test_active_in_billing_but_absent_from_provisioning_is_ghost(store):
    insert(store, "subscribers", [subscriber_row(A)])
    reconcile(store)
    [finding] = findings_of(store, "ghost_subscriber")
    assert (finding["msisdn"], finding["evidence"]["provisioning_status"]) == (A, "absent")


def test_active_in_billing_but_terminated_in_provisioning_is_ghost(store):
    insert(store, "subscribers", [subscriber_row(A), subscriber_row(B, status="terminated")])
    insert(store, "provisioning", [provisioning_row(A, status="terminated"), provisioning_row(B, status="terminated")])
    reconcile(store)
    assert [f["msisdn"] for f in findings_of(store, "ghost_subscriber")] == [A]


def test_latest_reference_row_wins(store):
    # billing first had A suspended, then re-loaded it active: no longer an unbilled subscriber
    insert(store, "provisioning", [provisioning_row(A)])
    insert(store, "network_usage", [network_row("r1", msisdn=A)])
    insert(store, "subscribers", [subscriber_row(A, status="suspended")])
    insert(store, "subscribers", [subscriber_row(A, status="active")])
    reconcile(store)
    assert findings_of(store, "unbilled_subscriber") == []

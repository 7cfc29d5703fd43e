"""Usage-to-bill matching by record_id: unbilled, duplicate_billing, phantom_billing."""
from datetime import timedelta
from decimal import Decimal

from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import at, billed_row, insert, network_row, provisioning_row, rated_row, subscriber_row


def _known_subscriber(store):
    insert(store, "subscribers", [subscriber_row("447900000001")])
    insert(store, "provisioning", [provisioning_row("447900000001")])


def test_network_record_without_bill_past_sla_is_unbilled_for_its_shadow_charge(store):
    _known_subscriber(store)
    insert(store, "network_usage", [network_row("r1", start_time=at(0)), network_row("r2", start_time=at(1))])
    insert(store, "rated_usage", [rated_row("r1", "0.450000"), rated_row("r2", "0.100000", start_time=at(1))])
    # billing clock = latest billed_at = at(1) + 25 h, so r1 (at 0) is 26 h old: past the 24 h SLA
    insert(store, "billed_usage", [billed_row("b2", "r2", "0.100000", start_time=at(1), billed_at=at(26))])
    reconcile(store)
    [finding] = findings_of(store, "unbilled")
    assert (finding["record_id"], finding["amount"]) == ("r1", Decimal("0.450000"))
    assert finding["evidence"]["shadow_charge"] == "0.450000"


def test_unbilled_record_still_within_sla_is_not_reported(store):
    _known_subscriber(store)
    # r1 at 0 h; billing clock at(23): 23 h old, inside the 24 h SLA
    insert(store, "network_usage", [network_row("r1", start_time=at(0)), network_row("r2", start_time=at(1))])
    insert(store, "billed_usage", [billed_row("b2", "r2", "0.100000", start_time=at(1), billed_at=at(23))])
    reconcile(store)
    assert findings_of(store, "unbilled") == []
    reconcile(store, sla=timedelta(hours=22))
    assert [f["record_id"] for f in findings_of(store, "unbilled")] == ["r1"]


def test_correctly_billed_record_produces_no_finding(store):
    _known_subscriber(store)
    insert(store, "network_usage", [network_row("r1")])
    insert(store, "rated_usage", [rated_row("r1", "0.100000")])
    insert(store, "billed_usage", [billed_row("b1", "r1", "0.100000", billed_at=at(48))])
    reconcile(store)
    assert findings_of(store) == []


def test_usage_of_subscriber_unknown_to_billing_is_not_also_unbilled_per_record(store):
    insert(store, "provisioning", [provisioning_row("447900000002")])
    insert(store, "network_usage", [network_row("r1", msisdn="447900000002")])
    insert(store, "rated_usage", [rated_row("r1", "0", msisdn="447900000002", status="rejected",
                                            reason="unknown_subscriber")])
    insert(store, "billed_usage", [billed_row("bx", "", "0", billed_at=at(72))])
    reconcile(store)
    assert findings_of(store, "unbilled") == []
    assert [f["msisdn"] for f in findings_of(store, "unbilled_subscriber")] == ["447900000002"]


def test_each_bill_beyond_the_first_is_one_duplicate_for_minus_its_charge(store):
    _known_subscriber(store)
    insert(store, "network_usage", [network_row("r1")])
    insert(store, "rated_usage", [rated_row("r1", "0.100000")])
    # first by billed_at is b-late-id (billed at 1 h) even though its id sorts last
    insert(store, "billed_usage", [
        billed_row("zz-first", "r1", "0.100000", billed_at=at(1)),
        billed_row("aa-second", "r1", "0.100000", billed_at=at(2)),
        billed_row("mm-third", "r1", "0.120000", billed_at=at(3)),
    ])
    reconcile(store)
    found = {f["bill_record_id"]: f["amount"] for f in findings_of(store, "duplicate_billing")}
    assert found == {"aa-second": Decimal("-0.100000"), "mm-third": Decimal("-0.120000")}


def test_bills_at_the_same_billed_at_keep_the_lowest_bill_record_id_as_first(store):
    _known_subscriber(store)
    insert(store, "network_usage", [network_row("r1")])
    insert(store, "billed_usage", [billed_row("b2", "r1", "0.100000", billed_at=at(1)),
                                   billed_row("b1", "r1", "0.100000", billed_at=at(1))])
    reconcile(store)
    assert [f["bill_record_id"] for f in findings_of(store, "duplicate_billing")] == ["b2"]


def test_bill_for_a_record_the_network_never_saw_is_phantom(store):
    _known_subscriber(store)
    insert(store, "billed_usage", [billed_row("b9", "r-unknown", "1.250000")])
    reconcile(store)
    [finding] = findings_of(store, "phantom_billing")
    assert (finding["bill_record_id"], finding["amount"]) == ("b9", Decimal("-1.250000"))
    assert findings_of(store, "duplicate_billing") == []


def test_bill_with_empty_record_id_is_phantom(store):
    _known_subscriber(store)
    insert(store, "billed_usage", [billed_row("b9", "", "0.300000")])
    reconcile(store)
    [finding] = findings_of(store, "phantom_billing")
    assert finding["evidence"]["reason"] == "empty record_id"
    assert finding["amount"] == Decimal("-0.300000")


def test_twice_billed_phantom_is_two_phantoms_not_a_duplicate(store):
    _known_subscriber(store)
    insert(store, "billed_usage", [billed_row("b1", "r-unknown", "0.100000", billed_at=at(1)),
                                   billed_row("b2", "r-unknown", "0.100000", billed_at=at(2))])
    reconcile(store)
    assert sorted(f["bill_record_id"] for f in findings_of(store, "phantom_billing")) == ["b1", "b2"]
    assert findings_of(store, "duplicate_billing") == []

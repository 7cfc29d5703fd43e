"""Refused input is never leakage: a bill that arrived but was refused makes its network record
`bill_rejected`, never `unbilled`; a refused network record never makes its bill phantom; and
charges of any number of places are compared with the shadow charge exactly."""
from decimal import Decimal

from assurance.reconcile import reconcile
from tests.assurance.findings import findings_of
from tests.assurance.rows import at, billed_row, insert, network_row, provisioning_row, rated_row, subscriber_row

REFUSED_BILL = ('{"bill_record_id":"b1","record_id":" r1 ","msisdn":"447900000001","service":"voice",'
                '"start_time":"2026-11-02T08:00:00Z","charge":"twelve cents","billed_at":"2026-11-02T09:00:00Z"}')


def _known_subscriber(store):
    insert(store, "subscribers", [subscriber_row("447900000001")])
    insert(store, "provisioning", [provisioning_row("447900000001")])


def _reject(stream: str, source: str, reason: str, raw: str) -> dict:
    return dict(stream=stream, source=source, record_id="", msisdn="", reason=reason, raw=raw)


def _exact_bill(bill_record_id: str, record_id: str, rounded: str, exact: str, beyond: int) -> dict:
    return {**billed_row(bill_record_id, record_id, rounded, billed_at=at(48)),
            "charge_exact": exact, "charge_beyond_micro": beyond}


def test_refused_bill_makes_its_record_bill_rejected_not_unbilled(store):
    _known_subscriber(store)
    insert(store, "network_usage", [network_row("r1"), network_row("r2", start_time=at(1))])
    insert(store, "rated_usage", [rated_row("r1", "0.450000"), rated_row("r2", "0.100000", start_time=at(1))])
    insert(store, "billed_usage", [billed_row("b2", "r2", "0.100000", start_time=at(1), billed_at=at(30))])
    insert(store, "rejects", [_reject("billed", "billed.ndjson:1", "bad_type:charge", REFUSED_BILL)])
    reconcile(store)
    assert findings_of(store, "unbilled") == []
    [finding] = findings_of(store, "bill_rejected")
    assert (finding["record_id"], finding["amount"]) == ("r1", Decimal("0.450000"))
    assert finding["evidence"]["reject_reason"] == "bad_type:charge"
    assert finding["evidence"]["reject_raw"] == REFUSED_BILL
    assert finding["evidence"]["reject_source"] == "billed.ndjson:1"
    assert finding["evidence"]["refused_bills"] == 1


def test_refused_bill_money_stays_out_of_the_leakage_kpi(store):
    _known_subscriber(store)
    # r1: its bill refused (0.45 at stake, not leakage); r3: really unbilled (0.30 leakage)
    insert(store, "network_usage", [network_row("r1"), network_row("r3", start_time=at(2))])
    insert(store, "rated_usage", [rated_row("r1", "0.450000"), rated_row("r3", "0.300000", start_time=at(2))])
    insert(store, "billed_usage", [billed_row("bx", "", "0", billed_at=at(40))])
    insert(store, "rejects", [_reject("billed", "billed.ndjson:1", "bad_type:charge", REFUSED_BILL)])
    summary = reconcile(store)
    assert summary.leakage == Decimal("0.300000")
    assert summary.kind("bill_rejected").amount == Decimal("0.450000")
    assert summary.kind("unbilled").amount == Decimal("0.300000")


def test_bill_that_is_not_json_still_names_its_record(store):
    _known_subscriber(store)
    insert(store, "network_usage", [network_row("r1")])
    insert(store, "rated_usage", [rated_row("r1", "0.450000")])
    insert(store, "billed_usage", [billed_row("bx", "", "0", billed_at=at(40))])
    truncated = '{"bill_record_id":"b1","record_id":"r1","msisdn":"4479000'
    insert(store, "rejects", [_reject("billed", "billed.ndjson:7", "bad_json", truncated)])
    reconcile(store)
    assert [(f["kind"], f["record_id"]) for f in findings_of(store) if f["kind"] != "phantom_billing"] == [("bill_rejected", "r1")]


def test_bill_of_a_refused_network_record_is_not_phantom(store):
    _known_subscriber(store)
    refused_usage = ('{"record_id":"r9","msisdn":"447900000001","service":"voice",'
                     '"start_time":"2026-11-02T08:00:00Z","duration_s":-60}')
    insert(store, "rejects", [_reject("network", "network.ndjson:3", "negative:duration_s", refused_usage)])
    insert(store, "billed_usage", [billed_row("b9", "r9", "0.100000"), billed_row("b8", "r8", "0.200000")])
    reconcile(store)
    # r8 is on no network at all: phantom; r9 was seen and refused: not phantom
    assert [f["bill_record_id"] for f in findings_of(store, "phantom_billing")] == ["b8"]


def _misrated_against(store, rounded: str, exact: str, beyond: int) -> list[dict]:
    _known_subscriber(store)
    insert(store, "network_usage", [network_row("r1")])
    insert(store, "rated_usage", [rated_row("r1", "0.120000")])
    insert(store, "billed_usage", [_exact_bill("b1", "r1", rounded, exact, beyond)])
    reconcile(store)
    return findings_of(store, "misrated")


def test_seven_places_within_tolerance_is_not_misrated(store):
    # shadow 0.120000, billed 0.1200004: 0.0000004 apart, under the 0.000001 tolerance
    assert _misrated_against(store, "0.120000", "0.1200004", 1) == []


def test_bill_rounded_to_one_micro_unit_away_but_exactly_under_tolerance_is_not_misrated(store):
    # billed 0.1200009 rounds to 0.120001 (one micro-unit from the shadow); exactly 0.0000009 apart
    assert _misrated_against(store, "0.120001", "0.1200009", -1) == []


def test_bill_rounded_to_one_micro_unit_away_but_exactly_beyond_tolerance_is_misrated(store):
    # billed 0.1200014 rounds to 0.120001 too, but is 0.0000014 over: misrated, amount to the
    # micro-unit shadow - rounded bill = -0.000001
    [finding] = _misrated_against(store, "0.120001", "0.1200014", 1)
    assert finding["amount"] == Decimal("-0.000001")
    assert finding["evidence"]["billed_charge_exact"] == "0.1200014"


def test_under_billing_just_beyond_tolerance_is_misrated(store):
    # billed 0.1199986 rounds to 0.119999, 0.0000014 under the shadow: misrated for +0.000001
    [finding] = _misrated_against(store, "0.119999", "0.1199986", -1)
    assert finding["amount"] == Decimal("0.000001")


def test_under_billing_just_within_tolerance_is_not_misrated(store):
    # billed 0.1199994 rounds to 0.119999, only 0.0000006 under the shadow
    assert _misrated_against(store, "0.119999", "0.1199994", 1) == []

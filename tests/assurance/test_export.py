"""Export: NDJSON, one finding per line, SPEC section 4 fields."""
import json
from decimal import Decimal

import pytest

from assurance.export import export_discrepancies
from assurance.reconcile import reconcile
from tests.assurance.rows import at, billed_row, insert, network_row, provisioning_row, rated_row, subscriber_row



@pytest.fixture
def store(store_client):
    """Every test here runs over chDB in-process and over the HTTP endpoint."""
    return store_client

def test_export_writes_one_json_object_per_finding_with_exact_amounts_and_utc_times(store, tmp_path):
    insert(store, "subscribers", [subscriber_row("447900000001")])
    insert(store, "provisioning", [provisioning_row("447900000001")])
    insert(store, "network_usage", [network_row("r1", start_time=at(0, 15))])
    insert(store, "rated_usage", [rated_row("r1", "0.123457")])
    insert(store, "billed_usage", [billed_row("b9", "nowhere", "2.500000", billed_at=at(30))])
    reconcile(store)
    out = tmp_path / "findings.ndjson"
    assert export_discrepancies(store, out) == 2
    lines = out.read_text().splitlines()
    findings = {f["kind"]: f for f in map(json.loads, lines)}
    assert set(findings) == {"unbilled", "phantom_billing"}
    unbilled = findings["unbilled"]
    assert set(unbilled) == {"finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id",
                             "amount", "event_time", "detected_at", "evidence"}
    assert unbilled["amount"] == "0.123457" and isinstance(unbilled["amount"], str)
    assert unbilled["event_time"] == "2026-11-02T08:15:00Z"
    assert unbilled["detected_at"].endswith("Z")
    assert isinstance(unbilled["evidence"], dict)
    assert Decimal(findings["phantom_billing"]["amount"]) == Decimal("-2.5")


def test_export_of_an_empty_store_is_an_empty_file(store, tmp_path):
    out = tmp_path / "none.ndjson"
    assert export_discrepancies(store, out) == 0
    assert out.read_text() == ""

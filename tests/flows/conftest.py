"""Small hand-made inputs for flow tests: every expected figure is worked out in the tests."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

CATALOG = """\
currency: EUR
timezone: Europe/London
tax_rate: "0.20"
low_balance_threshold: "2.00"
destination_classes:
  - {prefix: "4479", class: onnet}
  - {prefix: "44", class: national}
  - {prefix: "4490", class: premium}
  - {prefix: "", class: international}
roaming_zones:
  - {prefix: "208", zone: eu}
  - {prefix: "", zone: world}
offpeak:
  - {days: [sat, sun], from: "00:00", to: "24:00"}
  - {days: [mon, tue, wed, thu, fri], from: "19:00", to: "07:00"}
plans:
  - id: SMART10
    payment: postpaid
    monthly_fee: "10.00"
    allowances: {voice_s: 120, sms: 1, data_bytes: 1048576}
    allowance_classes: [onnet, national]
    allowance_zones: [eu]
    voice: {rounding: "60/1", per_minute: {onnet: "0.05", national: "0.10", premium: "1.50", international: "0.80"}, offpeak_factor: "0.5"}
    sms: {per_message: {onnet: "0.05", national: "0.08", premium: "0.50", international: "0.25"}}
    data: {per_mb: "0.01", increment_kb: 100}
    roaming: {world: {per_minute: "1.50", per_message: "0.40", per_mb: "5.00"}}
    overage_discount_percent: "10"
  - id: PRE5
    payment: prepaid
    allowance_classes: []
    allowance_zones: [eu]
    voice: {rounding: "60/60", per_minute: {onnet: "0.10", national: "0.20", premium: "2.00", international: "1.00"}, offpeak_factor: "1"}
    sms: {per_message: {onnet: "0.10", national: "0.10", premium: "0.50", international: "0.30"}}
    data: {per_mb: "0.05", increment_kb: 1}
    roaming: {world: {per_minute: "2.00", per_message: "0.50", per_mb: "8.00"}}
"""

SUBSCRIBERS = """\
msisdn,account_id,plan_id,payment,status,activated_at,cycle_day,balance,credit_limit,segment
447900000001,A1,SMART10,postpaid,active,2026-01-01T00:00:00Z,1,,50.00,consumer
447900000002,A2,PRE5,prepaid,active,2026-01-01T00:00:00Z,1,1.00,,consumer
"""

PROVISIONING = """\
msisdn,imsi,status,provisioned_at
447900000001,234150000000001,active,2026-01-01T00:00:00Z
447900000002,234150000000002,active,2026-01-01T00:00:00Z
447900000003,234150000000003,active,2026-01-01T00:00:00Z
"""


def usage(record_id: str, msisdn: str, service: str, start: str, duration_s: int = 0,
          destination: str = "441234", element: str = "msc-01") -> str:
    return json.dumps({
        "record_id": record_id, "msisdn": msisdn, "service": service, "start_time": start,
        "duration_s": duration_s, "volume_bytes": 0, "destination": destination,
        "roaming_mccmnc": "", "element_id": element,
    })


# Monday 2 November 2026, peak hours (07:00-19:00 London = UTC in November).
NETWORK_LINES = [
    usage("r1", "447900000001", "voice", "2026-11-02T08:15:00Z", 61, destination="447900000099"),
    usage("r2", "447900000002", "voice", "2026-11-02T08:16:00Z", 61),
    "not json",
    usage("r3", "447900000001", "voice", "2026-11-02T08:17:00Z", 120),
    usage("r1", "447900000001", "voice", "2026-11-02T08:15:00Z", 61, destination="447900000099"),
    usage("r4", "447900000002", "sms", "2026-11-02T09:00:00Z", element="smsc-01"),
    usage("r5", "447900000003", "sms", "2026-11-02T09:00:00Z", element="smsc-01"),
    usage("r6", "447900000002", "sms", "2026-11-02T10:00:00Z", element="smsc-01"),
]

ADJUSTMENT_LINES = [
    json.dumps({"adjustment_id": "a1", "msisdn": "447900000002", "amount": "5.00",
                "time": "2026-11-02T09:30:00Z", "kind": "topup"}),
    json.dumps({"adjustment_id": "a2", "msisdn": "447900000002", "amount": "1.00",
                "time": "2026-11-03T09:30:00Z", "kind": "topup"}),
]

BILLED_LINES = [
    json.dumps({"bill_record_id": "b1", "record_id": "r1", "msisdn": "447900000001", "service": "voice",
                "start_time": "2026-11-02T08:15:00Z", "duration_s": 61, "volume_bytes": 0,
                "charge": "0.000000", "billed_at": "2026-11-02T09:00:00Z"}),
    json.dumps({"bill_record_id": "b2", "record_id": "r3", "msisdn": "447900000001", "service": "voice",
                "start_time": "2026-11-02T08:17:00Z", "duration_s": 120, "volume_bytes": 0,
                "charge": "0.091500", "billed_at": "2026-11-02T09:00:00Z"}),
    '{"bill_record_id": "b3", "charge": "x"}',
]


@pytest.fixture
def small_dir(tmp_path: Path) -> Path:
    """A directory named as `revguard simulate` writes it, small enough to check by hand."""
    d = tmp_path / "small"
    d.mkdir()
    (d / "catalog.yaml").write_text(CATALOG)
    (d / "subscribers.csv").write_text(SUBSCRIBERS)
    (d / "provisioning.csv").write_text(PROVISIONING)
    (d / "network.ndjson").write_text("\n".join(NETWORK_LINES) + "\n")
    (d / "adjustments.ndjson").write_text("\n".join(ADJUSTMENT_LINES) + "\n")
    (d / "billed.ndjson").write_text("\n".join(BILLED_LINES) + "\n")
    return d


@pytest.fixture(scope="session")
def operator_dir(tmp_path_factory) -> Path:
    """A simulated operator: every plan, faults, adjustments (some after the last record)."""
    from flows.simulator import simulate

    directory = tmp_path_factory.mktemp("operator")
    simulate(directory, subscribers=120, days=3, seed=5, fault_rate=0.05, progress=False, workers=1)
    # Malformed lines among the records: dead letters that only shard 0 carries.
    lines = (directory / "network.ndjson").read_bytes().splitlines(keepends=True)
    lines[7:7] = [b"{not json\n", b'{"record_id":"x","msisdn":"4479"}\n']
    (directory / "network.ndjson").write_bytes(b"".join(lines))
    return directory

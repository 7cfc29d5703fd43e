"""A fault-free simulation whose billed (and network) files are rewritten the ways real billing
and mediation systems write them gives no finding; the same files with known faults added give
exactly those faults with their money to the micro-unit; refused input never reaches the
leakage KPI. simulate -> rewrite -> load -> reconcile, on the real engine (chDB).

The expected money is read from the simulated billed file itself (at fault rate 0 every bill
carries the shadow charge), never from the store or the controls' output.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from assurance.reconcile import reconcile
from assurance.rejects import refused_records
from flows.load import load_directory
from flows.simulator import simulate
from tests.assurance.findings import findings_of
from tests.fixtures.store import emptied

START = dt.date(2026, 11, 1)
# element_gap judges traffic volume, not bills: on a simulation this small it finds quiet hours
# of sparse elements even at fault rate 0 (the same findings with or without the rewriting).
NOT_ABOUT_BILLS = {"element_gap"}


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("forms") / "sim"
    simulate(directory, subscribers=80, days=2, seed=19, start=START, fault_rate=0, progress=False)
    return directory


def _json_text(fields: list[tuple[str, str]]) -> bytes:
    """A JSON object from (name, value already written as JSON text) pairs, in that order."""
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields) + "}").encode()


def _shifted(text: str, hours: int) -> str:
    """The same instant written with an offset of `hours` and milliseconds."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    zone = dt.timezone(dt.timedelta(hours=hours))
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def rewritten_bill(bill: dict, form: int) -> bytes:
    """One bill in the `form`-th way of writing it (0-9): the same bill, every time."""
    charge = Decimal(bill["charge"])
    fields = {k: json.dumps(v) for k, v in bill.items()}
    if form == 0:    # seven places, 0.0000004 above the shadow charge: within the tolerance
        fields["charge"] = json.dumps(str(charge + Decimal("0.0000004")))
    elif form == 1:  # a JSON number of eight places, 0.00000049 below
        fields["charge"] = str(charge - Decimal("0.00000049"))
    elif form == 2:
        fields["service"] = json.dumps(bill["service"].upper())
    elif form == 3:
        fields["duration_s"] = json.dumps(str(bill["duration_s"]))
        fields["volume_bytes"] = f"{bill['volume_bytes']}.0"
    elif form == 4:
        fields["start_time"] = json.dumps(_shifted(bill["start_time"], 1))
        fields["billed_at"] = json.dumps(_shifted(bill["billed_at"], -5))
    elif form == 5:
        fields["record_id"] = json.dumps(f"  {bill['record_id']} ")
        fields["bill_record_id"] = json.dumps(f" {bill['bill_record_id']}")
    elif form == 6:
        fields.update(currency='"EUR"', tariff='{"band":"peak","id":7}', tax='"0.1"')
    elif form == 7:  # an exponent: micro-units times 1e-6, as a string
        fields["charge"] = json.dumps(f"{int(charge.scaleb(6))}e-6")
    elif form == 8:  # as a JSON number with an exponent; a zero charge as -0
        fields["charge"] = "-0" if charge == 0 else f"{int(charge.scaleb(6))}E-6"
    return _json_text(list(fields.items()))


def rewritten_usage(record: dict, form: int) -> bytes:
    """One network record in the `form`-th way mediation might write it (0-4)."""
    fields = {k: json.dumps(v) for k, v in record.items()}
    if form == 0:
        fields["service"] = json.dumps(record["service"].upper())
    elif form == 1:
        fields["duration_s"] = json.dumps(str(record["duration_s"]))
        fields["volume_bytes"] = f"{record['volume_bytes']}.0"
    elif form == 2:
        fields["record_id"] = json.dumps(f" {record['record_id']}  ")
    elif form == 3:
        fields["start_time"] = json.dumps(_shifted(record["start_time"], 2))
        fields["cause_code"] = "16"
    return _json_text(list(fields.items()))


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def write_rewritten(source: Path, target: Path, bills: list[bytes] | None = None,
                    usage_extra: list[bytes] = ()) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("catalog.yaml", "subscribers.csv", "provisioning.csv", "adjustments.ndjson"):
        (target / name).write_bytes((source / name).read_bytes())
    if bills is None:
        bills = [rewritten_bill(b, i % 10) for i, b in enumerate(_records(source / "billed.ndjson"))]
    usage = [rewritten_usage(r, i % 5) for i, r in enumerate(_records(source / "network.ndjson"))]
    (target / "billed.ndjson").write_bytes(b"\n".join(bills) + b"\n")
    (target / "network.ndjson").write_bytes(b"\n".join([*usage, *usage_extra]) + b"\n")


def billing_findings(client) -> list[dict]:
    return [f for f in findings_of(client) if f["kind"] not in NOT_ABOUT_BILLS]


def test_every_way_of_writing_a_fault_free_bill_gives_no_finding(chdb_client, fault_free: Path, tmp_path: Path):
    write_rewritten(fault_free, tmp_path / "rewritten")
    loaded = load_directory(chdb_client, tmp_path / "rewritten")
    lines = len(_records(fault_free / "billed.ndjson"))
    assert (loaded["billed_usage"], loaded["billed_rejected"], loaded["rejects"]) == (lines, 0, 0)
    summary = reconcile(chdb_client)
    assert billing_findings(chdb_client) == []
    assert summary.leakage == 0 and summary.overbilling == 0
    # What the rewriting may not change: each bill's money as the untouched file has it.
    stored = dict(chdb_client.query("SELECT bill_record_id, charge FROM revguard.billed_usage FINAL").result_rows)
    assert stored == {b["bill_record_id"]: Decimal(b["charge"]) for b in _records(fault_free / "billed.ndjson")}


def test_known_faults_in_rewritten_bills_are_found_exactly_with_their_money(chdb_client, fault_free: Path, tmp_path: Path):
    bills = _records(fault_free / "billed.ndjson")
    early = dt.datetime.combine(START, dt.time(12), dt.timezone.utc)  # > 24 h before billing's clock
    chosen = iter(i for i, b in enumerate(bills)
                  if Decimal(b["charge"]) > Decimal("0.01")
                  and dt.datetime.fromisoformat(b["start_time"].replace("Z", "+00:00")) < early)
    lines = [rewritten_bill(b, i % 10) for i, b in enumerate(bills)]
    expected: set[tuple[str, str, str, Decimal]] = set()

    def charge_of(i: int) -> Decimal:
        return Decimal(bills[i]["charge"])

    # unbilled: a bill dropped; leaks its shadow charge (= its bill's, at fault rate 0)
    a = next(chosen)
    lines[a] = None
    expected.add(("unbilled", bills[a]["record_id"], "", charge_of(a)))
    # misrated, over-billed by 0.50 and under-billed by 0.25
    c = next(chosen)
    lines[c] = rewritten_bill({**bills[c], "charge": str(charge_of(c) + Decimal("0.50"))}, 6)
    expected.add(("misrated", bills[c]["record_id"], bills[c]["bill_record_id"], Decimal("-0.50")))
    u = next(chosen)
    lines[u] = rewritten_bill({**bills[u], "charge": str(charge_of(u) - Decimal("0.25"))}, 2)
    expected.add(("misrated", bills[u]["record_id"], bills[u]["bill_record_id"], Decimal("0.25")))
    # misrated by 0.0000014 in seven places: to the micro-unit, shadow - 0.000001 rounded up
    m = next(chosen)
    lines[m] = rewritten_bill({**bills[m], "charge": str(charge_of(m) + Decimal("0.0000014"))}, 5)
    expected.add(("misrated", bills[m]["record_id"], bills[m]["bill_record_id"], Decimal("-0.000001")))
    # duplicate_billing: the same bill again, later, under another bill_record_id
    d = next(chosen)
    again = {**bills[d], "bill_record_id": "DUP-1", "billed_at": "2026-11-03T23:00:00Z"}
    lines.append(rewritten_bill(again, 3))
    expected.add(("duplicate_billing", bills[d]["record_id"], "DUP-1", -charge_of(d)))
    # phantom_billing: a bill naming usage nobody saw
    phantom = {**bills[d], "bill_record_id": "PHANTOM-1", "record_id": "NOWHERE-1", "charge": "0.330000"}
    lines.append(rewritten_bill(phantom, 7))
    expected.add(("phantom_billing", "NOWHERE-1", "PHANTOM-1", Decimal("-0.330000")))
    # refused bills, each its own reason: bill_rejected for its shadow charge, never unbilled
    refusals = [
        ("charge", json.dumps("twelve cents")), ("duration_s", "12.5"), ("service", json.dumps("fax")),
        ("start_time", json.dumps("2026-11-01T08:00:00")), ("charge", "1e30"), ("msisdn", json.dumps("+44 7900")),
    ]
    for field, written in refusals:
        r = next(chosen)
        good = json.loads(rewritten_bill(bills[r], 6))
        lines[r] = _json_text([(k, written if k == field else json.dumps(v)) for k, v in good.items()])
        expected.add(("bill_rejected", bills[r]["record_id"], "", charge_of(r)))
    t = next(chosen)  # a line cut short is not JSON, yet names its record
    lines[t] = rewritten_bill(bills[t], 0)[:70]
    expected.add(("bill_rejected", bills[t]["record_id"], "", charge_of(t)))
    # a refused network record with a bill: the bill is not phantom, nothing else is found
    lost = {**bills[d], "bill_record_id": "BL-1", "record_id": "LOST-1"}
    lines.append(rewritten_bill(lost, 4))
    lost_usage = b'{"record_id":"LOST-1","msisdn":"447900000000","service":"voice","start_time":"2026-11-01T09:00:00Z","duration_s":-5}'

    write_rewritten(fault_free, tmp_path / "faulty", [line for line in lines if line is not None], [lost_usage])
    emptied(chdb_client)
    loaded = load_directory(chdb_client, tmp_path / "faulty")
    assert loaded["billed_rejected"] == len(refusals) + 1
    summary = reconcile(chdb_client)

    found = {(f["kind"], f["record_id"], f["bill_record_id"] if f["kind"] not in ("unbilled", "bill_rejected") else "",
              f["amount"]) for f in billing_findings(chdb_client)}
    assert found == expected
    # The leakage KPI: the unbilled record and the under-billing only; no refused input.
    assert summary.leakage == charge_of(a) + Decimal("0.25")
    assert summary.overbilling == -(Decimal("0.50") + Decimal("0.000001") + charge_of(d) + Decimal("0.33"))
    # The analyst sees every refused record with its raw text, and what it meets.
    refused = refused_records(chdb_client)
    assert sorted((r.stream, r.record_id, r.counterpart) for r in refused) == sorted([
        *[("billed", rid, "network record in the store") for kind, rid, _, _ in expected if kind == "bill_rejected"],
        ("network", "LOST-1", "billed record in the store"),
    ])
    assert all(r.raw and r.reason for r in refused)

"""The simulator's files, determinism and ground truth (SPEC sections 1, 2 and 4)."""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from flows.simulator import simulate
from flows.simulator.catalog import catalog_problems
from flows.simulator.faults import FAULT_KINDS
from flows.simulator.formats import OUTPUT_FILES
from flows.simulator.reference_rater import ReferenceRater, rate_stream, read_subscribers

SIZE = dict(subscribers=300, days=4, start=date(2026, 11, 1), fault_rate=0.1, progress=False)
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MONEY = re.compile(r"^-?\d+\.\d{6}$")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "seed7"
    return simulate(out, seed=7, **SIZE)


@pytest.fixture(scope="module")
def files(run):
    """Every output file parsed: JSON lines as dicts, CSVs as rows, the catalog as YAML."""
    def ndjson(name):
        with open(run.out / name) as handle:
            return [json.loads(line) for line in handle]

    def rows(name):
        with open(run.out / name, newline="") as handle:
            return list(csv.DictReader(handle))

    return {
        "network": ndjson("network.ndjson"), "billed": ndjson("billed.ndjson"),
        "adjustments": ndjson("adjustments.ndjson"), "truth": ndjson("truth.ndjson"),
        "subscribers": rows("subscribers.csv"), "provisioning": rows("provisioning.csv"),
        "catalog": yaml.safe_load((run.out / "catalog.yaml").read_text()),
    }


@pytest.fixture(scope="module")
def rerated(run, files):
    """Each network record rated again from the written files alone, by record_id."""
    rater = ReferenceRater(files["catalog"], read_subscribers(run.out / "subscribers.csv"))
    ratings = rate_stream(rater, files["network"], files["adjustments"])
    return {record["record_id"]: rating for record, rating in zip(files["network"], ratings)}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- determinism --------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_files(run, tmp_path):
    again = simulate(tmp_path / "again", seed=7, **SIZE)
    for name in OUTPUT_FILES:
        assert (again.out / name).read_bytes() == (run.out / name).read_bytes(), name


def test_output_does_not_depend_on_string_hash_randomisation(tmp_path):
    script = ("import sys, datetime; from pathlib import Path; from flows.simulator import simulate;"
              "simulate(Path(sys.argv[1]), subscribers=40, days=2, seed=3, progress=False)")
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        subprocess.run([sys.executable, "-c", script, str(out)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed}, cwd=Path(__file__).parents[2])
        outputs.append(b"".join((out / name).read_bytes() for name in OUTPUT_FILES))
    assert outputs[0] == outputs[1]


def test_different_seed_gives_different_traffic(run, tmp_path):
    other = simulate(tmp_path / "other", seed=8, **SIZE)
    assert (other.out / "network.ndjson").read_bytes() != (run.out / "network.ndjson").read_bytes()
    assert (other.out / "truth.ndjson").read_bytes() != (run.out / "truth.ndjson").read_bytes()


# -- formats of SPEC section 1 ------------------------------------------------------------

def test_network_records_have_spec_fields_and_types(files):
    for record in files["network"]:
        assert set(record) == {"record_id", "msisdn", "service", "start_time", "duration_s",
                               "volume_bytes", "destination", "roaming_mccmnc", "element_id",
                               "cell_id"}
        assert record["record_id"] and record["msisdn"].isdigit()
        assert record["service"] in ("voice", "sms", "data")
        assert RFC3339_UTC.match(record["start_time"])
        assert isinstance(record["duration_s"], int) and record["duration_s"] >= 0
        assert isinstance(record["volume_bytes"], int) and record["volume_bytes"] >= 0
        if record["service"] != "voice":
            assert record["duration_s"] == 0
        if record["service"] != "data":
            assert record["volume_bytes"] == 0 and record["destination"].isdigit()
        else:
            assert record["destination"] == ""
        assert record["roaming_mccmnc"] == "" or record["roaming_mccmnc"].isdigit()


def test_billed_records_have_spec_fields_and_types(files):
    for bill in files["billed"]:
        assert set(bill) == {"bill_record_id", "record_id", "msisdn", "service", "start_time",
                             "duration_s", "volume_bytes", "charge", "billed_at"}
        assert bill["bill_record_id"] and bill["msisdn"].isdigit()
        assert MONEY.match(bill["charge"]) and Decimal(bill["charge"]) >= 0
        assert RFC3339_UTC.match(bill["start_time"]) and RFC3339_UTC.match(bill["billed_at"])
        assert bill["duration_s"] >= 0 and bill["volume_bytes"] >= 0


def test_identifiers_are_unique(files):
    record_ids = [r["record_id"] for r in files["network"]]
    bill_ids = [b["bill_record_id"] for b in files["billed"]]
    adjustment_ids = [a["adjustment_id"] for a in files["adjustments"]]
    assert len(set(record_ids)) == len(record_ids)
    assert len(set(bill_ids)) == len(bill_ids)
    assert len(set(adjustment_ids)) == len(adjustment_ids)


def test_adjustments_have_spec_fields(files):
    assert files["adjustments"]
    for adjustment in files["adjustments"]:
        assert set(adjustment) == {"adjustment_id", "msisdn", "amount", "time", "kind"}
        assert adjustment["kind"] in ("topup", "refund", "credit")
        assert MONEY.match(adjustment["amount"]) and Decimal(adjustment["amount"]) > 0
        assert RFC3339_UTC.match(adjustment["time"])


def test_reference_csvs_have_spec_columns_and_values(run, files):
    with open(run.out / "subscribers.csv") as handle:
        assert handle.readline().strip() == ("msisdn,account_id,plan_id,payment,status,"
                                             "activated_at,cycle_day,balance,credit_limit,segment")
    with open(run.out / "provisioning.csv") as handle:
        assert handle.readline().strip() == "msisdn,imsi,status,provisioned_at"
    plans = {plan["id"] for plan in files["catalog"]["plans"]}
    for row in files["subscribers"]:
        assert row["msisdn"].isdigit() and row["plan_id"] in plans
        assert row["payment"] in ("prepaid", "postpaid")
        assert row["status"] in ("active", "suspended", "terminated")
        assert 1 <= int(row["cycle_day"]) <= 28 and RFC3339_UTC.match(row["activated_at"])
        if row["payment"] == "prepaid":
            assert Decimal(row["balance"]) >= 0 and row["credit_limit"] == ""
        else:
            assert row["balance"] == "" and Decimal(row["credit_limit"]) > 0
    for row in files["provisioning"]:
        assert row["msisdn"].isdigit() and row["imsi"].isdigit()
        assert row["status"] in ("active", "suspended", "terminated")
        assert RFC3339_UTC.match(row["provisioned_at"])


def test_catalog_prices_every_class_and_zone(files):
    assert catalog_problems(files["catalog"]) == []
    payments = {plan["payment"] for plan in files["catalog"]["plans"]}
    roundings = {plan["voice"]["rounding"] for plan in files["catalog"]["plans"]}
    assert payments == {"prepaid", "postpaid"} and {"60/1", "60/60", "1/1"} <= roundings


def test_catalog_check_names_plan_and_missing_price(files):
    broken = json.loads(json.dumps(files["catalog"]))
    del broken["plans"][2]["roaming"]["eu"]["per_mb"]
    assert catalog_problems(broken) == ["plan BASIC: roaming.eu.per_mb is missing"]


def test_summary_counts_equal_file_lines(run, files):
    for name in OUTPUT_FILES:
        lines = (run.out / name).read_text().count("\n")
        header = 1 if name.endswith(".csv") else 0
        assert run.files[name] == lines - header, name
    for kind in FAULT_KINDS:
        assert run.faults[kind] == sum(1 for t in files["truth"] if t["kind"] == kind), kind


# -- realistic noise that is not a fault ---------------------------------------------------

def test_each_subscriber_in_time_order_but_file_is_not(files):
    last: dict[str, str] = {}
    out_of_order = 0
    previous = ""
    for record in files["network"]:
        assert record["start_time"] >= last.get(record["msisdn"], "")
        last[record["msisdn"]] = record["start_time"]
        out_of_order += record["start_time"] < previous
        previous = record["start_time"]
    assert out_of_order > 0


def test_billing_delay_is_within_the_24_hour_sla(files, rerated):
    duplicates = {t["bill_record_id"] for t in files["truth"] if t["kind"] == "duplicate_billing"}
    for bill in files["billed"]:
        if bill["bill_record_id"] in duplicates:
            continue
        delay = (when(bill["billed_at"]) - when(bill["start_time"])).total_seconds()
        assert 0 <= delay < 24 * 3600


def test_some_records_sit_exactly_on_offpeak_edges_and_cycle_starts(files):
    cycle_day = {row["msisdn"]: int(row["cycle_day"]) for row in files["subscribers"]}
    local = [(r["msisdn"], when(r["start_time"]).astimezone(LONDON)) for r in files["network"]]
    edges = sum(1 for _, t in local if (t.hour, t.minute, t.second) in ((7, 0, 0), (19, 0, 0)))
    cycle_starts = sum(1 for m, t in local if m in cycle_day and t.day == cycle_day[m]
                       and (t.hour, t.minute, t.second) == (0, 0, 0))
    assert edges > 0 and cycle_starts > 0


def test_suspended_subscribers_are_suspended_in_both_views_and_silent(files):
    suspended = {r["msisdn"] for r in files["subscribers"] if r["status"] == "suspended"}
    provisioned = {r["msisdn"]: r["status"] for r in files["provisioning"]}
    users = {r["msisdn"] for r in files["network"]}
    assert suspended
    assert all(provisioned[m] == "suspended" for m in suspended)
    assert not suspended & users


def test_some_active_subscribers_have_no_usage(files):
    users = {r["msisdn"] for r in files["network"]}
    idle = [r for r in files["subscribers"] if r["status"] == "active" and r["msisdn"] not in users]
    assert idle


def test_nobody_uses_the_network_before_activation(files):
    activated = {r["msisdn"]: r["activated_at"] for r in files["subscribers"]}
    joiners = {m for m, t in activated.items() if t >= "2026-11-01"}
    assert joiners
    for record in files["network"]:
        if record["msisdn"] in activated:
            assert record["start_time"] >= activated[record["msisdn"]]


def test_traffic_covers_services_classes_and_roaming(files, rerated):
    seen = {(rating.dest_class, rating.roaming_zone) for rating in rerated.values()}
    classes = {c for c, _ in seen}
    zones = {z for _, z in seen}
    assert {"onnet", "national", "premium", "international", ""} <= classes
    assert {"", "eu", "world"} <= zones
    assert {r["service"] for r in files["network"]} == {"voice", "sms", "data"}
    assert len({r["element_id"] for r in files["network"]}) >= 6


# -- faults and their truth -----------------------------------------------------------------

@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_fault_kind_is_injected_at_the_requested_rate(run, kind):
    # count ~ Binomial(population, rate); allow 4.5 standard deviations (+1 for tiny
    # populations): a correct simulator fails this with probability below 1e-5
    n, p = run.populations[kind], SIZE["fault_rate"]
    assert run.faults[kind] > 0
    assert abs(run.faults[kind] - n * p) <= 4.5 * math.sqrt(n * p * (1 - p)) + 1


def test_unfaulted_records_are_billed_once_at_the_rerated_charge(files, rerated):
    faulted = {t["record_id"] for t in files["truth"] if "record_id" in t}
    bills: dict[str, list[dict]] = {}
    for bill in files["billed"]:
        bills.setdefault(bill["record_id"], []).append(bill)
    checked = 0
    for record_id, rating in rerated.items():
        if record_id in faulted or rating.status == "rejected":
            continue
        assert rating.unfunded == 0
        assert [Decimal(b["charge"]) for b in bills[record_id]] == [rating.charge]
        checked += 1
    assert checked > 1000


def test_truth_amounts_match_rerated_charges(files, rerated):
    bills = {b["bill_record_id"]: b for b in files["billed"]}
    network = {r["record_id"]: r for r in files["network"]}
    billed_record_ids = {b["record_id"] for b in files["billed"]}
    for fault in files["truth"]:
        kind, amount = fault["kind"], Decimal(fault.get("amount", "0"))
        if kind == "unbilled":
            assert fault["record_id"] not in billed_record_ids
            assert amount == rerated[fault["record_id"]].charge
        elif kind == "duplicate_billing":
            extra = bills[fault["bill_record_id"]]
            assert extra["record_id"] == fault["record_id"]
            assert amount == -Decimal(extra["charge"]) == -rerated[fault["record_id"]].charge
        elif kind == "phantom_billing":
            assert fault["record_id"] not in network
            assert amount == -Decimal(bills[fault["bill_record_id"]]["charge"]) < 0
        elif kind == "misrated":
            billed = Decimal(bills[fault["bill_record_id"]]["charge"])
            assert abs(billed - rerated[fault["record_id"]].charge) > Decimal("0.000001")
            assert amount == rerated[fault["record_id"]].charge - billed
        elif kind == "usage_mismatch":
            bill, record = bills[fault["bill_record_id"]], network[fault["record_id"]]
            assert (bill["duration_s"], bill["volume_bytes"]) != (
                record["duration_s"], record["volume_bytes"])
            assert amount == rerated[fault["record_id"]].charge - Decimal(bill["charge"])
        elif kind == "unfunded_usage":
            rating = rerated[fault["record_id"]]
            assert rating.unfunded > 0
            share = rating.unfunded * rating.charge / rating.total
            assert abs(amount - share) <= Decimal("0.0000005")


def independent_home_charge(catalog: dict, plan_id: str, record: dict) -> Fraction:
    """Charge of a home record on a plan without allowances, from the catalog by hand
    formula: units x price (x off-peak factor for voice) x (1 - discount), as a Fraction."""
    plan = next(p for p in catalog["plans"] if p["id"] == plan_id)
    assert not any(plan["allowances"].values()) and record["roaming_mccmnc"] == ""
    if record["service"] == "data":
        step = plan["data"]["increment_kb"] * 1024
        units = -(-record["volume_bytes"] // step) * step
        raw = Fraction(plan["data"]["per_mb"]) * units / 1048576
    else:
        number = record["destination"]
        cls = ("premium" if number.startswith("4490") else "onnet" if number.startswith("4479")
               else "national" if number.startswith("44") else "international")
        if record["service"] == "sms":
            raw = Fraction(plan["sms"]["per_message"][cls])
        else:
            first, step = map(int, plan["voice"]["rounding"].split("/"))
            seconds = record["duration_s"]
            units = 0 if seconds == 0 else first + max(0, -(-(seconds - first) // step)) * step
            raw = Fraction(plan["voice"]["per_minute"][cls]) * units / 60
            local = when(record["start_time"]).astimezone(LONDON)
            weekend = local.weekday() >= 5
            evening = local.hour >= 19 and local.weekday() <= 4
            morning = local.hour < 7 and 1 <= local.weekday() <= 5
            if weekend or evening or morning:
                raw *= Fraction(plan["voice"]["offpeak_factor"])
    raw *= 1 - Fraction(plan["overage_discount_percent"]) / 100
    return Fraction(math.floor(raw * 10**6 + Fraction(1, 2)), 10**6)


def test_unbilled_amounts_on_plans_without_allowance_match_hand_formula(files):
    # e.g. BASIC voice national 61 s at peak: 60/60 gives 120 s, 0.09 x 2 = 0.180000;
    # PAYG data 16,384 B: 1 KB steps, 0.02 x 16384/1048576 = 0.0003125 -> 0.000313
    plan_of = {r["msisdn"]: r["plan_id"] for r in files["subscribers"]}
    network = {r["record_id"]: r for r in files["network"]}
    checked = 0
    for fault in files["truth"]:
        if fault["kind"] != "unbilled":
            continue
        record = network[fault["record_id"]]
        if plan_of[record["msisdn"]] in ("BASIC", "PAYG") and record["roaming_mccmnc"] == "":
            expected = independent_home_charge(files["catalog"], plan_of[record["msisdn"]], record)
            assert Fraction(fault["amount"]) == expected, record
            checked += 1
    assert checked >= 5


def test_unbilled_subscribers_are_provisioned_active_with_usage_but_unknown_to_billing(files):
    billing = {r["msisdn"] for r in files["subscribers"]}
    provisioned = {r["msisdn"]: r["status"] for r in files["provisioning"]}
    usage: dict[str, int] = {}
    for record in files["network"]:
        usage[record["msisdn"]] = usage.get(record["msisdn"], 0) + 1
    for fault in (t for t in files["truth"] if t["kind"] == "unbilled_subscriber"):
        msisdn = fault["msisdn"]
        assert msisdn not in billing and provisioned[msisdn] == "active"
        assert fault["records"] == usage[msisdn] > 0 and "amount" not in fault


def test_ghost_subscribers_are_active_in_billing_and_absent_from_the_network(files):
    active = {r["msisdn"] for r in files["subscribers"] if r["status"] == "active"}
    provisioned = {r["msisdn"] for r in files["provisioning"]}
    users = {r["msisdn"] for r in files["network"]}
    ghosts = {t["msisdn"] for t in files["truth"] if t["kind"] == "ghost_subscriber"}
    assert ghosts <= active and not ghosts & provisioned and not ghosts & users
    assert active - ghosts <= provisioned


def test_a_silence_holds_no_records_of_its_element(files):
    silences = [t for t in files["truth"] if t["kind"] == "element_gap" and t["outage"] == "silence"]
    assert silences
    for gap in silences:
        hours = (when(gap["interval_end"]) - when(gap["interval_start"])).total_seconds() / 3600
        assert 1 <= hours <= 4 and Decimal(gap["amount"]) >= 0 and gap["lost_share"] == "1.00"
        assert not any(r["element_id"] == gap["element_id"]
                       and gap["interval_start"] <= r["start_time"] < gap["interval_end"]
                       for r in files["network"])


def test_a_partial_drop_loses_about_its_share_of_its_elements_records(files):
    drops = [t for t in files["truth"] if t["kind"] == "element_gap" and t["outage"] == "partial_drop"]
    assert drops
    for gap in drops:
        hours = (when(gap["interval_end"]) - when(gap["interval_start"])).total_seconds() / 3600
        share = float(gap["lost_share"])
        assert 1 <= hours <= 6 and 0.5 <= share <= 0.9 and Decimal(gap["amount"]) > 0
        kept = sum(1 for r in files["network"] if r["element_id"] == gap["element_id"]
                   and gap["interval_start"] <= r["start_time"] < gap["interval_end"])
        # each record inside is lost with probability `share`: binomial, within 4 sigma
        records = kept + gap["records"]
        assert kept > 0 and abs(gap["records"] - share * records) <= 4 * math.sqrt(records * share * (1 - share))


def test_a_record_carries_at_most_one_fault(files):
    record_faults = [t["record_id"] for t in files["truth"]
                     if t["kind"] not in ("phantom_billing", "element_gap")
                     and "record_id" in t]
    assert len(record_faults) == len(set(record_faults))


# -- arguments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, message", [
    (dict(subscribers=0), "subscribers"),
    (dict(days=0), "days"),
    (dict(fault_rate=0.6), "fault rate"),
    (dict(fault_rate=-0.1), "fault rate"),
])
def test_bad_arguments_raise_one_line_value_error(tmp_path, arguments, message):
    with pytest.raises(ValueError, match=message) as raised:
        simulate(tmp_path / "out", progress=False, **arguments)
    assert "\n" not in str(raised.value)


def test_refuses_a_foreign_non_empty_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="does not look like a previous simulation"):
        simulate(tmp_path, subscribers=5, days=1, progress=False)


def test_overwrites_a_previous_simulation(tmp_path):
    simulate(tmp_path / "out", subscribers=20, days=1, seed=1, progress=False)
    summary = simulate(tmp_path / "out", subscribers=10, days=1, seed=2, progress=False)
    assert (tmp_path / "out" / "subscribers.csv").read_text().count("\n") == summary.files[
        "subscribers.csv"] + 1


def test_zero_fault_rate_bills_every_network_record_once_and_records_no_truth(tmp_path):
    summary = simulate(tmp_path / "clean", subscribers=60, days=2, seed=5, fault_rate=0.0,
                       progress=False)
    network = [json.loads(line) for line in open(summary.out / "network.ndjson")]
    billed = [json.loads(line) for line in open(summary.out / "billed.ndjson")]
    assert summary.files["truth.ndjson"] == 0 and network
    assert sorted(b["record_id"] for b in billed) == sorted(r["record_id"] for r in network)
    assert {r["msisdn"] for r in network} <= {r["msisdn"] for r in csv.DictReader(
        open(summary.out / "subscribers.csv"))}


def test_chunks_simulated_in_parallel_processes_give_the_same_bytes(tmp_path, monkeypatch):
    import flows.simulator.simulation as simulation

    monkeypatch.setattr(simulation, "CHUNK_EVENTS", 2000)  # 2000 // (2 x 30) = 33 per chunk
    alone = simulate(tmp_path / "alone", subscribers=100, days=2, seed=4, fault_rate=0.05,
                     progress=False, workers=1)
    shared = simulate(tmp_path / "shared", subscribers=100, days=2, seed=4, fault_rate=0.05,
                      progress=False, workers=2)
    assert alone == dataclasses.replace(shared, out=alone.out)
    for name in OUTPUT_FILES:
        assert (alone.out / name).read_bytes() == (shared.out / name).read_bytes(), name

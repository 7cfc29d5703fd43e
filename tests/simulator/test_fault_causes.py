"""Fault causes (issue 23): faults concentrate where their cause is, each named in truth.ndjson,
and the weights are scaled so that each kind keeps its requested rate."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date

import numpy as np
import pytest

from flows.simulator import fault_causes as C
from flows.simulator.network import ELEMENTS, local_midnights, rfc3339
from flows.simulator.simulation import simulate


def _one_kind(weights: list[float]) -> dict[str, np.ndarray]:
    w = np.zeros((len(weights), len(C.CAUSES)))
    w[:, C.NOISE] = 1.0
    w[:, C.FEED] = np.array(weights) - 1.0
    return {kind: w for kind in ("unbilled", "duplicate_billing", "misrated", "usage_mismatch")}


def test_one_kinds_probabilities_are_its_weights_scaled_to_the_rate():
    # weights 1, 1, 1, 3 at rate 0.1 over 4 records: c * 6 = 0.4, so c = 1/15
    weights = _one_kind([1, 1, 1, 3])
    eligible = {k: np.array([True] * 4) if k == "unbilled" else np.zeros(4, bool) for k in weights}
    cumulative = C.cause_thresholds(weights, eligible, 0.1)["unbilled"]
    assert cumulative[:, -1] == pytest.approx([1 / 15, 1 / 15, 1 / 15, 3 / 15])
    # the caused record's probability splits 1 : 2 between noise and its cause
    assert cumulative[3, C.NOISE] == pytest.approx(1 / 15) and cumulative[3, C.FEED] == pytest.approx(3 / 15)


def test_a_capped_record_hands_its_excess_to_the_others():
    # weights 1 and 100 at rate 0.5: min(0.9, 100 c) + c = 1, so c = 0.1
    weights = _one_kind([1, 100])
    eligible = {k: np.array([True, True]) if k == "unbilled" else np.zeros(2, bool) for k in weights}
    assert C.cause_thresholds(weights, eligible, 0.5)["unbilled"][:, -1] == pytest.approx([0.1, 0.9])


def test_a_later_kind_is_scaled_over_the_records_earlier_kinds_left():
    # unbilled and usage_mismatch both weigh record 1 nine times record 0, at rate 0.1:
    # unbilled c * 10 = 0.2 gives p = 0.02, 0.18; duplicate_billing (uniform) takes 0.1 of each,
    # misrated is not eligible; so usage_mismatch reaches the records with 0.98 * 0.9 and
    # 0.82 * 0.9, and c (0.98 + 0.82 * 9) = 0.1 (0.98 + 0.82): c = 0.18 / 8.36
    w = np.zeros((2, len(C.CAUSES)))
    w[:, C.NOISE] = 1.0
    w[1, C.FEED] = 8.0
    uniform = np.zeros((2, len(C.CAUSES)))
    uniform[:, C.NOISE] = 1.0
    weights = {"unbilled": w, "duplicate_billing": uniform, "misrated": uniform, "usage_mismatch": w}
    eligible = {k: np.array([k != "misrated"] * 2) for k in weights}
    thresholds = C.cause_thresholds(weights, eligible, 0.1)
    assert thresholds["unbilled"][:, -1] == pytest.approx([0.02, 0.18])
    assert thresholds["duplicate_billing"][:, -1] == pytest.approx([0.1, 0.1])
    c = 0.18 / 8.36
    assert thresholds["usage_mismatch"][:, -1] == pytest.approx([c, 9 * c])


def test_destination_classes_follow_the_catalog_prefixes():
    numbers = np.array([447912345678, 441234567890, 449012345678, 33123456789, 0], dtype=np.int64)
    assert C.destination_classes(numbers).tolist() == [0, 1, 2, 3, -1]   # onnet, national, premium, intl, none


@pytest.fixture(scope="module")
def caused_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("causes")
    simulate(out, subscribers=400, days=9, seed=77, start=date(2026, 11, 1), fault_rate=0.02, progress=False)
    network = {}
    with open(out / "network.ndjson") as lines:
        for line in lines:
            r = json.loads(line)
            network[r["record_id"]] = r
    truth = [json.loads(line) for line in open(out / "truth.ndjson")]
    return C.fault_causes(77, local_midnights(date(2026, 11, 1), 9)), network, truth


def test_every_record_fault_names_its_cause(caused_run):
    _, _, truth = caused_run
    record_faults = [t for t in truth if t["kind"] in ("unbilled", "duplicate_billing", "misrated", "usage_mismatch")]
    assert record_faults and all(t["cause"] in C.CAUSES for t in record_faults)
    causes = Counter(t["cause"] for t in record_faults)
    assert {"noise", "failing_feed", "mispriced_tariff"} <= set(causes)
    assert all(t["cause"] == "noise" for t in record_faults if t["kind"] == "duplicate_billing")


def test_the_failing_feed_drops_far_more_of_its_records_after_it_starts(caused_run):
    causes, network, truth = caused_run
    element, since = ELEMENTS[causes.feed_element], rfc3339(causes.feed_from)
    unbilled = {t["record_id"] for t in truth if t["kind"] == "unbilled"}
    on_feed = [r for r in network.values() if r["element_id"] == element and r["start_time"] >= since]
    elsewhere = [r for r in network.values() if r["element_id"] != element]
    rate_feed = sum(r["record_id"] in unbilled for r in on_feed) / len(on_feed)
    rate_elsewhere = sum(r["record_id"] in unbilled for r in elsewhere) / len(elsewhere)
    assert rate_feed > 3 * rate_elsewhere
    assert all(t["cause_key"] == element for t in truth if t.get("cause") == "failing_feed")


def test_the_mispriced_tariff_bills_below_the_right_charge(caused_run):
    causes, _, truth = caused_run
    mispriced = [t for t in truth if t.get("cause") == "mispriced_tariff"]
    assert mispriced and all(t["kind"] == "misrated" and float(t["amount"]) > 0 for t in mispriced)
    assert {t["cause_key"] for t in mispriced} == {causes.cause_key(C.MISPRICED)}

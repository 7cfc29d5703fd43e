"""Each anomaly kind on a hand-made store: the planted event is found with its exact keys and
window, nothing else is, and the baseline it is judged against excludes the anomaly.

Windows are checked to the hour (a window off by an hour fails), `expected` against the
normal known by construction (a baseline that includes the anomaly fails), and scores
against the normal rows' (a reversed score flags the normal rows, not the planted one).
"""
from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from assurance.models import anomalies as A
from assurance.models.detection import score_anomalies
from tests.assurance.models import stores


def stored(store, kind: str) -> list[dict]:
    result = store.query("SELECT msisdn, element_id, window_start, window_end, score, expected, observed, amount, "
                         "evidence FROM revguard.anomalies FINAL WHERE kind = {k:String} ORDER BY window_start",
                         parameters={"k": kind})
    return [dict(zip(result.column_names, row)) for row in result.result_rows]


def test_usage_spike_found_with_its_window_and_a_normal_that_excludes_it(store, tmp_path):
    usage, planted = stores.spike_usage()
    usage.write(store)
    run = score_anomalies(store, tmp_path, retrain=True)
    rows = stored(store, "usage_spike")
    assert [(r["msisdn"], r["window_start"], r["window_end"]) for r in rows] == [
        (planted["msisdn"], planted["start"], planted["end"])]
    # The line's normal premium/international rate, by hand: its on-net/national calls times the
    # base's premium share, plus one, over the range; three hours of it. The spike's 30 calls
    # are not in the line's count, so a baseline that counted them would be about 1.25 higher.
    local = {m: 0 for m in {e["msisdn"] for e in usage.events}}
    costly = 0
    for e in usage.events:
        if e["dest_class"] in ("premium", "international"):
            costly += 1
        else:
            local[e["msisdn"]] += 1
    share = costly / sum(local.values())
    expected = 3 * (local[planted["msisdn"]] * share + 1) / planted["span_hours"]
    assert rows[0]["expected"] == pytest.approx(expected, rel=1e-9)
    # Observed: every premium/international call of the line in the window (the planted 30
    # and any of its ordinary ones that fell inside).
    inside = [e for e in usage.events if e["msisdn"] == planted["msisdn"]
              and e["dest_class"] in ("premium", "international") and planted["start"] <= e["start_time"] < planted["end"]]
    assert len(inside) >= stores.SPIKE_HOURS * stores.SPIKE_CALLS_PER_HOUR
    assert rows[0]["observed"] == len(inside)
    # Money: the window's premium charge less the normal's at the median charge of a call.
    charge = sum((e["charge"] for e in inside), Decimal(0))
    assert rows[0]["amount"] == (charge - Decimal(str(expected)) * stores.COSTLY_CHARGE).quantize(Decimal("0.000001"))
    evidence = json.loads(rows[0]["evidence"])
    assert evidence["hours"] == ["2026-11-03T06:00Z", "2026-11-03T07:00Z", "2026-11-03T08:00Z"]
    # The simple rule fires on the spike hours too, and on normal hours with 3+ calls if any.
    assert any(a.msisdn == planted["msisdn"] for a in run.kind("usage_spike").baseline)


def test_usage_spike_scores_higher_than_every_normal_hour(store, tmp_path):
    usage, planted = stores.spike_usage()
    usage.write(store)
    run = score_anomalies(store, tmp_path, retrain=True)
    event = run.kind("usage_spike").events[0]
    from assurance.models.registry import load_model

    model, _ = load_model(tmp_path, "usage_spike")
    assert event.score > model.forest.threshold > model.forest.median


def test_sim_box_found_from_its_first_day_and_business_lines_left_alone(store, tmp_path):
    usage, planted = stores.sim_box_usage()
    usage.write(store)
    run = score_anomalies(store, tmp_path, retrain=True)
    rows = stored(store, "sim_box")
    assert [(r["msisdn"], r["window_start"], r["window_end"]) for r in rows] == [
        (planted["msisdn"], planted["start"], planted["end"])]
    box = [e for e in usage.events if e["msisdn"] == stores.BOX_LINE and e["service"] == "voice"
           and e["start_time"] >= stores.BOX_FIRST_DAY]
    minutes = Decimal(sum(e["duration_s"] for e in box)) / 60
    assert rows[0]["amount"] == (minutes * Decimal("0.08")).quantize(Decimal("0.000001"))
    assert rows[0]["observed"] == pytest.approx(len(box) / 3)
    evidence = json.loads(rows[0]["evidence"])
    assert (evidence["cells"], evidence["data_sessions"]) == (1, 0)
    # 30 business lines call ~80 numbers a day: none is a box, and the fixed rule of
    # "over 100 calls to over 80 numbers" does not confuse them either at this size.
    assert not any(a.msisdn.startswith(stores.BUSINESS_PREFIX) for a in run.kind("sim_box").events)


def test_volume_truncation_found_at_its_hour_with_a_baseline_from_before_the_cut(store, tmp_path):
    usage, planted = stores.truncation_usage()
    usage.write(store, catalog=True)
    run = score_anomalies(store, tmp_path, retrain=True)
    rows = stored(store, "volume_truncation")
    assert [(r["element_id"], r["window_start"], r["window_end"]) for r in rows] == [
        (planted["element_id"], planted["start"], planted["end"])]
    row = rows[0]
    # Medians of the raw bytes before and after the cut, computed from the construction: a
    # baseline that took in the cut hours would sit well below the true 'before'.
    assert row["expected"] == pytest.approx(planted["median_before"], rel=0.15)
    assert row["observed"] == pytest.approx(planted["median_after"], rel=0.15)
    assert json.loads(row["evidence"])["kept_share"] == pytest.approx(stores.CUT_KEEP, abs=0.05)
    # The bytes the cut hid, priced at the plan's per-MB price: within the kept share's error.
    assert float(row["amount"]) == pytest.approx(float(planted["amount"]), rel=0.2)
    assert run.kind("volume_truncation").rows_scored == 72 * len(stores.GATEWAYS)


def test_no_anomaly_planted_none_found(store, tmp_path):
    usage, _ = stores.truncation_usage()
    usage.events = [e for e in usage.events if e["element_id"] != stores.CUT_ELEMENT]
    usage.write(store)
    run = score_anomalies(store, tmp_path, retrain=True)
    assert run.kind("volume_truncation").events == ()


def test_forest_score_is_higher_for_the_outlier():
    rng = np.random.default_rng(0)
    import pandas as pd

    rows = pd.DataFrame({"a": rng.normal(0, 1, 500), "b": rng.normal(0, 1, 500)})
    rows.loc[len(rows)] = [8.0, 8.0]
    model = A.fit_forest(rows, ("a", "b"), 10.0)
    scores = model.anomaly_score(rows)
    assert int(np.argmax(scores)) == len(rows) - 1
    assert scores[-1] > model.threshold

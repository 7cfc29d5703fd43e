"""The leakage-risk model (issue 23): its features by hand, the label-leak guard, the time
split, the scores it writes and the refusal of a model pickled by other library versions."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from assurance.models import leakage_features as F
from assurance.models.leakage_risk import LabelLeak, TooFewFindings, check_no_label_leak, fit_leakage_model
from assurance.models.leakage_scoring import MODEL_NAME, money_at_risk, score_leakage, training_data
from assurance.models.registry import METADATA_FILE, ModelVersionError, models_dir
from tests.assurance.rows import insert, rated_row

ANCHOR = datetime(2026, 11, 10, 6, 0, 0)   # billing clock 2026-11-11T06:00 minus the 24 h SLA
AS_OF = ANCHOR + timedelta(hours=24)


def _finding(record_id: str, kind: str, amount: str, event_time: datetime, element_id: str = "msc-01") -> dict:
    return dict(finding_id=f"{kind}-{record_id}", kind=kind, record_id=record_id, bill_record_id="",
                msisdn="447900000001", element_id=element_id, amount=Decimal(amount), event_time=event_time,
                detected_at=AS_OF, evidence="{}")


def _window_start(w: int) -> datetime:
    return ANCHOR + w * timedelta(hours=24)


# -- features by hand ---------------------------------------------------------------------

@pytest.fixture
def two_elements(store):
    """Window -2: msc-01 10 records with 2 unbilled, msc-02 10 clean. Window -1: msc-01 10
    records with 1 misrated, msc-02 10 clean. Window 0: one record of each."""
    rated, found = [], []
    for w, faults in ((-2, {0: "unbilled", 1: "unbilled"}), (-1, {0: "misrated"})):
        for element in ("msc-01", "msc-02"):
            for i in range(10):
                rid = f"R{w + 3}{element[-1]}{i:02d}"
                t = _window_start(w) + timedelta(hours=1 + i)
                rated.append(rated_row(rid, "0.100000", start_time=t, element_id=element))
                if element == "msc-01" and i in faults:
                    found.append(_finding(rid, faults[i], "0.100000", t))
    rated.append(rated_row("N1", "0.200000", start_time=ANCHOR + timedelta(hours=2), element_id="msc-01"))
    rated.append(rated_row("N2", "0.200000", start_time=ANCHOR + timedelta(hours=3), element_id="msc-02"))
    insert(store, "rated_usage", rated)
    insert(store, "discrepancies", found)
    return store


def _features(client, lo: datetime, hi: datetime) -> pd.DataFrame:
    rates = F.window_rates(client, ANCHOR, ANCHOR - timedelta(days=30), ANCHOR)
    records = F.record_frame(client, ANCHOR, lo, hi)
    frame = F.model_frame(records, F.history_features(rates, sorted(set(records["window"]))))
    frame.index = records["record_id"].to_numpy()
    return frame


def test_a_scored_record_sees_its_element_rates_of_the_week_before_smoothed_by_hand(two_elements):
    # base rates over all 40 judged records: unbilled 2/40, misrated 1/40, mismatch 0;
    # msc-01's week: 20 records, 2 unbilled, 1 misrated, plus 50 pseudo-records at the base
    frame = _features(two_elements, ANCHOR, AS_OF)
    assert frame.loc["N1", "element_unbilled"] == pytest.approx((2 + 50 * 0.05) / (20 + 50))
    assert frame.loc["N1", "element_misrated"] == pytest.approx((1 + 50 * 0.025) / (20 + 50))
    assert frame.loc["N2", "element_unbilled"] == pytest.approx((0 + 50 * 0.05) / (20 + 50))
    # the last window alone (-1): msc-01 had no unbilled and no mismatch among its 10
    assert frame.loc["N1", "element_recent"] == pytest.approx((0 + 50 * 0.05) / (10 + 50) + 0.0)


def test_a_record_never_sees_the_findings_of_its_own_window(two_elements):
    frame = _features(two_elements, ANCHOR - timedelta(days=2), ANCHOR)
    # window -2 has no earlier window: the base rate alone; window -1 sees window -2 only
    assert frame.loc["R1100", "element_unbilled"] == pytest.approx(0.05)
    assert frame.loc["R2100", "element_unbilled"] == pytest.approx((2 + 50 * 0.05) / (10 + 50))
    assert frame.loc["R2100", "element_misrated"] == pytest.approx((0 + 50 * 0.025) / (10 + 50))


def test_windows_are_counted_from_the_cutoff(store):
    insert(store, "rated_usage", [
        rated_row("A", "0.1", start_time=ANCHOR - timedelta(milliseconds=1)),
        rated_row("B", "0.1", start_time=ANCHOR),
        rated_row("C", "0.1", start_time=ANCHOR - timedelta(hours=24, milliseconds=1))])
    records = F.record_frame(store, ANCHOR, ANCHOR - timedelta(days=3), AS_OF).set_index("record_id")
    assert records.loc["A", "window"] == -1 and records.loc["B", "window"] == 0 and records.loc["C", "window"] == -2


def test_charge_and_quantity_features_of_a_hand_made_call(store):
    insert(store, "rated_usage", [rated_row("V", "0.999000", start_time=ANCHOR + timedelta(hours=5, minutes=30),
                                            duration_s=600)])
    frame = _features(store, ANCHOR, AS_OF)
    assert frame.loc["V", "log_charge"] == pytest.approx(np.log1p(999.0))   # charge in thousandths
    assert frame.loc["V", "log_quantity"] == pytest.approx(np.log1p(600.0))
    assert frame.loc["V", "hour"] == 11.0
    assert frame.loc["V", "service"] == "voice" and frame.loc["V", "dest_class"] == "national"


# -- the label-leak guard -----------------------------------------------------------------

def _synthetic(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    risky = rng.random(n) < 0.2
    label = (rng.random(n) < np.where(risky, 0.3, 0.02)).astype(int)
    frame = pd.DataFrame({c: rng.choice(["a", "b"], n) for c in F.CATEGORICAL})
    for c in F.NUMERIC:
        frame[c] = rng.random(n)
    frame["element_unbilled"] = np.where(risky, 0.3, 0.02) + rng.normal(0, 0.01, n)
    return frame, label


def test_a_feature_that_is_the_label_in_disguise_is_refused():
    frame, label = _synthetic()
    frame["tariff_recent"] = label * 0.5 + np.random.default_rng(1).random(len(label)) * 0.01
    with pytest.raises(LabelLeak, match="tariff_recent"):
        check_no_label_leak(frame, label, tuple(frame.columns))


def test_honest_features_pass_the_guard_and_train():
    frame, label = _synthetic()
    charge = pd.Series([Decimal("0.5")] * len(label))
    leaked = pd.Series([Decimal("0.5") if y else Decimal(0) for y in label])
    model, metrics = fit_leakage_model(frame, label, charge, leaked, pd.Series(["msc-01"] * len(label)))
    assert metrics["training_faults"] == int(label.sum())
    probability = model.probability(frame)
    # the model ranks the risky fifth above the rest, as the data were made
    assert probability[frame["element_unbilled"] > 0.15].mean() > 3 * probability[frame["element_unbilled"] < 0.15].mean()


def test_training_without_findings_says_to_reconcile_first():
    frame, _ = _synthetic(500)
    with pytest.raises(TooFewFindings, match="revguard reconcile"):
        fit_leakage_model(frame, np.zeros(500, int), pd.Series([Decimal(1)] * 500),
                          pd.Series([Decimal(0)] * 500), pd.Series(["x"] * 500))


# -- the time split, the scores and the registry -------------------------------------------

@pytest.fixture
def judged_store(store):
    """Six judged days before the cutoff and the open day after it: msc-01 faults at 20 %,
    msc-02 at 2 %; the open day's records carry planted findings (as a reconcile run at the
    clock would already find a misrating whose bill came) that must never reach training."""
    rng = np.random.default_rng(7)
    rated, found = [], []
    for w in range(-6, 1):
        for i in range(300):
            element = "msc-01" if i % 2 else "msc-02"
            rid = f"W{w + 6}-{i:03d}"
            t = _window_start(w) + timedelta(seconds=int(i * 280))
            rated.append(rated_row(rid, "0.500000", start_time=t, element_id=element))
            if rng.random() < (0.2 if element == "msc-01" else 0.02):
                found.append(_finding(rid, "unbilled", "0.500000", t, element))
    insert(store, "rated_usage", rated)
    insert(store, "discrepancies", found)
    return store


def test_training_reads_only_records_judged_before_the_cutoff(judged_store):
    rates = F.window_rates(judged_store, ANCHOR, ANCHOR - timedelta(days=30), ANCHOR)
    records, frame, label, _ = training_data(judged_store, ANCHOR, rates)
    assert len(records) == 6 * 300
    assert pd.to_datetime(records["start_time"]).max() < pd.Timestamp(ANCHOR)
    assert not any(r.startswith("W6-") for r in records["record_id"])
    assert set(rates["window"]) == set(range(-6, 0))


def test_scoring_writes_every_open_record_and_sums_money_at_risk(judged_store, tmp_path):
    run = score_leakage(judged_store, tmp_path, as_of=AS_OF)
    assert run.records == 300 and run.trained
    stored = judged_store.query("SELECT count(), sum(expected_loss) FROM revguard.leakage_scores FINAL").result_rows[0]
    assert stored[0] == 300 and stored[1] == run.money_at_risk
    cells = money_at_risk(judged_store, ANCHOR, AS_OF)
    assert {c.day for c in cells} == {"2026-11-10", "2026-11-11"}   # the open window spans two days
    by_element = {e: sum((c.money_at_risk for c in cells if c.element_id == e), Decimal(0)) for e in ("msc-01", "msc-02")}
    assert sum(by_element.values()) == run.money_at_risk
    # each record charges 0.50 and leaks all of it when unbilled: ~20 % and ~2 % of 150 x 0.50
    assert 0.10 * 75 < float(by_element["msc-01"]) < 0.30 * 75
    assert float(by_element["msc-02"]) < 0.3 * float(by_element["msc-01"])
    meta = json.loads((models_dir(tmp_path) / MODEL_NAME / METADATA_FILE).read_text())
    assert meta["trained_to"] == ANCHOR.isoformat() + "Z"
    assert meta["metrics"]["trained_records_to"] < f"{ANCHOR:%Y-%m-%dT%H:%M:%SZ}"


def test_a_model_from_other_library_versions_is_refused_in_one_line_then_retrained(judged_store, tmp_path):
    score_leakage(judged_store, tmp_path, as_of=AS_OF)
    path = models_dir(tmp_path) / MODEL_NAME / METADATA_FILE
    meta = json.loads(path.read_text())
    meta["library_versions"]["scikit-learn"] = "0.20.0"
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelVersionError) as refused:
        score_leakage(judged_store, tmp_path, as_of=AS_OF)
    assert "\n" not in str(refused.value) and "--retrain" in str(refused.value)
    again = score_leakage(judged_store, tmp_path, as_of=AS_OF, retrain=True)
    assert again.trained
    assert json.loads(path.read_text())["library_versions"]["scikit-learn"] != "0.20.0"
    assert score_leakage(judged_store, tmp_path, as_of=AS_OF).trained is False


def test_revguard_score_refuses_the_foreign_model_in_one_line_and_retrain_fits_it(judged_store, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from flows import cli

    # the leakage scorer alone: the anomaly scorer needs network usage this store does not hold
    monkeypatch.setattr(cli, "SCORERS", (cli._leakage_scorer,))
    monkeypatch.setenv("REVGUARD_HOME", str(tmp_path))
    to = ["score", "--to", "2026-11-11T06:00:00Z"]
    assert CliRunner().invoke(cli.cli, to).exit_code == 0
    path = models_dir(tmp_path) / MODEL_NAME / METADATA_FILE
    meta = json.loads(path.read_text())
    meta["library_versions"]["numpy"] = "1.0.0"
    path.write_text(json.dumps(meta))
    refused = CliRunner().invoke(cli.cli, to)
    assert refused.exit_code == 2
    message = refused.output.strip()
    assert len(message.splitlines()) == 1 and "numpy 1.0.0" in message and "--retrain" in message
    retrained = CliRunner().invoke(cli.cli, to + ["--retrain"])
    assert retrained.exit_code == 0 and "fitted now" in retrained.output

"""The churn model: time split, leak guard, and scoring a simulated store end to end."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assurance.models.churn import LeakSuspected, check_leaks, fit_churn, time_split, top_decile_lift
from assurance.models.churn_features import HORIZON_DAYS, as_of_dates, features_as_of
from assurance.models.churn_history import load_history
from assurance.models.churn_scoring import score_churn
from assurance.models.registry import ModelVersionError
from flows.simulator import simulate


def test_time_split_never_trains_on_the_test_period() -> None:
    start = datetime(2027, 1, 1, tzinfo=timezone.utc)
    dates = [start + timedelta(days=7 * k) for k in range(20)]
    test = dates[-1]
    train = time_split(dates, test)
    # a training row's label looks 30 days past its date: that window must close by the test date
    assert train and all(d + timedelta(days=HORIZON_DAYS) <= test for d in train)
    # and every date that qualifies is used: 30 days before the last is 4 weeks + 2 days, so 5 weeks back
    assert train[-1] == dates[-6]
    assert time_split(dates, dates[3]) == []


def frames_with(seed: int, leak: bool) -> dict:
    rng = np.random.default_rng(seed)
    frames = {}
    for k in range(3):
        n = 800
        trend = rng.normal(0, 1, n)
        y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-(-3 + 1.5 * -trend)))).astype(int))
        X = pd.DataFrame({"events_change": trend, "tenure_days": rng.uniform(0, 2000, n),
                          "plan_id": pd.Categorical(rng.choice(["A", "B"], n))})
        if leak:
            # a "days until the line went quiet" column: measured after T, so it knows the label
            X["days_until_quiet"] = np.where(y == 1, rng.uniform(0, 30, n), np.nan)
        frames[datetime(2027, 1, 1, tzinfo=timezone.utc) + timedelta(days=31 * k)] = (X, y)
    return frames


def test_a_planted_leak_of_the_label_is_caught() -> None:
    with pytest.raises(LeakSuspected, match="days_until_quiet"):
        fit_churn(frames_with(5, leak=True))
    model = fit_churn(frames_with(5, leak=False))          # the same data without it fits
    X, y = frames_with(6, leak=False)[datetime(2027, 1, 1, tzinfo=timezone.utc)]
    p = model.probability(X)
    assert ((p > 0) & (p < 1)).all()
    assert top_decile_lift(y.to_numpy(), p) > 1.5


def test_honest_features_are_not_taken_for_leaks() -> None:
    X, y = frames_with(7, leak=False)[datetime(2027, 1, 1, tzinfo=timezone.utc)]
    check_leaks(X, y)


def test_top_decile_lift_by_hand() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1] * 2)       # 4 leavers in 20: rate 0.2
    p = np.linspace(1, 0, 20)                               # top decile = first 2 rows: 1 leaver
    assert top_decile_lift(y, p) == pytest.approx(0.5 / 0.2)


def test_scores_a_simulated_store_with_reasons(tmp_path: Path, chdb_client) -> None:
    simulate(tmp_path / "sim", subscribers=700, days=130, seed=8, start=date(2026, 11, 1), progress=False,
             workers=1, churn_mode=True)
    load_history(chdb_client, tmp_path / "sim")
    home = tmp_path / "home"
    run = score_churn(chdb_client, home)
    assert not run.skipped, run.skipped
    assert run.trained and run.as_of == as_of_dates(chdb_client)[-1]
    rows = chdb_client.query("SELECT msisdn, probability, rank, reasons, model_version FROM revguard.churn_scores FINAL "
                             "ORDER BY rank").result_rows
    population, _ = features_as_of(chdb_client, run.as_of)
    assert len(rows) == len(population) == run.rows
    assert [r[2] for r in rows] == list(range(1, len(rows) + 1))
    assert all(0 < r[1] < 1 for r in rows) and rows[0][1] >= rows[-1][1]
    assert all(len(r[3]) <= 3 for r in rows) and any(len(r[3]) == 3 for r in rows[:20])
    assert {r[4] for r in rows} == {run.model_version}
    runs = chdb_client.query("SELECT model, rows_scored FROM revguard.model_runs WHERE model = 'churn'").result_rows
    assert runs == [("churn", len(rows))]
    again = score_churn(chdb_client, home)                  # the saved model is loaded, not refitted
    assert not again.trained and again.model_version == run.model_version
    # a model pickled by another scikit-learn is refused in one line, and --retrain fits it again
    meta_path = home / "models" / "churn" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["library_versions"]["scikit-learn"] = "0.0.1"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelVersionError, match="retrain"):
        score_churn(chdb_client, home)
    assert score_churn(chdb_client, home, retrain=True).trained

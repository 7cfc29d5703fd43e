"""The model registry, `revguard score` on the command line, and re-runs replacing a range."""
from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal

import pytest

from assurance.models.detection import score_anomalies
from assurance.models.registry import ModelVersionError, load_model, save_model
from flows import cli
from tests.assurance.models import stores


def revguard(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`revguard ARGS` in this process (the chDB store is this process's), exit code and output."""
    monkeypatch.setattr(sys, "argv", ["revguard", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def test_model_saved_by_another_library_version_is_refused_before_unpickling(tmp_path):
    save_model(tmp_path, "m", {"weights": [1, 2]}, {"version": "v1"})
    assert load_model(tmp_path, "m")[0] == {"weights": [1, 2]}
    meta = tmp_path / "models" / "m" / "metadata.json"
    document = json.loads(meta.read_text())
    document["library_versions"]["scikit-learn"] = "0.1.0"
    meta.write_text(json.dumps(document))
    # a pickle nobody can load: refused on the metadata alone, never opened
    (tmp_path / "models" / "m" / "estimator.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ModelVersionError) as error:
        load_model(tmp_path, "m")
    message = str(error.value)
    assert "\n" not in message and "scikit-learn 0.1.0" in message and "--retrain" in message


def test_score_refuses_a_stale_model_in_one_line_and_retrain_fits_it_again(store, tmp_path, monkeypatch, capsys):
    stores.truncation_usage()[0].write(store, catalog=True)
    monkeypatch.setenv("REVGUARD_HOME", str(tmp_path))
    code, out, err = revguard(monkeypatch, capsys, "score")
    assert code == 0, err
    assert "volume_truncation" in out
    meta = tmp_path / "models" / "volume_truncation" / "metadata.json"
    document = json.loads(meta.read_text())
    document["library_versions"]["numpy"] = "1.0.0"
    meta.write_text(json.dumps(document))

    code, out, err = revguard(monkeypatch, capsys, "score")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "numpy 1.0.0" in lines[0] and "--retrain" in lines[0]

    code, out, err = revguard(monkeypatch, capsys, "score", "--retrain")
    assert code == 0, err
    import numpy

    assert json.loads(meta.read_text())["library_versions"]["numpy"] == numpy.__version__
    runs = store.query("SELECT model, count() FROM revguard.model_runs GROUP BY model ORDER BY model").result_rows
    assert runs == [("sim_box", 2), ("usage_spike", 2), ("volume_truncation", 2)]   # the refused run wrote none


def test_score_rejects_a_reversed_range_in_one_line(monkeypatch, capsys, store, tmp_path):
    monkeypatch.setenv("REVGUARD_HOME", str(tmp_path))
    code, _, err = revguard(monkeypatch, capsys, "score", "--from", "2026-11-05", "--to", "2026-11-04")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--to" in err


def test_rerunning_a_range_replaces_its_rows_and_leaves_others(store, tmp_path):
    usage, planted = stores.truncation_usage()
    usage.write(store, catalog=True)
    stale = ["stale", "volume_truncation", "", "pgw-09", datetime(2026, 11, 3, 1), datetime(2026, 11, 3, 2),
             1.0, 1.0, 1.0, Decimal("1"), "old", datetime(2026, 11, 1), "{}"]
    outside = ["outside", "volume_truncation", "", "pgw-09", datetime(2026, 12, 1, 1), datetime(2026, 12, 1, 2),
               1.0, 1.0, 1.0, Decimal("1"), "old", datetime(2026, 11, 1), "{}"]
    columns = ["anomaly_id", "kind", "msisdn", "element_id", "window_start", "window_end", "score", "expected",
               "observed", "amount", "model_version", "detected_at", "evidence"]
    store.insert("revguard.anomalies", [stale, outside], column_names=columns)
    query = "SELECT anomaly_id, element_id, window_start FROM revguard.anomalies FINAL ORDER BY anomaly_id"
    score_anomalies(store, tmp_path, retrain=True)
    first = store.query(query).result_rows
    score_anomalies(store, tmp_path)
    second = store.query(query).result_rows
    assert first == second
    ids = [row[0] for row in second]
    assert "stale" not in ids and "outside" in ids
    assert [(r[1], r[2]) for r in second if r[0] != "outside"] == [(planted["element_id"], planted["start"])]
    assert store.query("SELECT count() FROM revguard.anomalies").result_rows[0][0] == 2   # no doubles either

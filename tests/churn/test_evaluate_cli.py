"""`revguard churn evaluate` on CSV tables: the figures it prints and the tables it refuses."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tests.flows.test_cli import one_error_line, revguard


def write_table(path: Path, rows: int = 600, seed: int = 3) -> Path:
    """A CRM-like table where leaving depends on one number and one category, plus noise
    columns and missing values: a usable signal, not a giveaway."""
    rng = np.random.default_rng(seed)
    usage_drop = rng.normal(0, 1, rows)
    plan = rng.choice(["prepaid", "postpaid", "business"], rows)
    logit = -2.2 + 1.6 * usage_drop + np.where(plan == "prepaid", 0.8, 0.0)
    left = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    usage = usage_drop.copy()
    usage[rng.random(rows) < 0.05] = np.nan
    frame = pd.DataFrame({"customer": [f"C{i:05d}" for i in range(rows)], "usage_drop": usage, "plan": plan,
                          "noise": rng.normal(0, 1, rows), "left": left})
    frame.to_csv(path, index=False)
    return path


def figures(stdout: str) -> dict[str, float]:
    found = {}
    for name in ("ROC AUC", "PR AUC", "lift, top decile", "Brier score"):
        match = re.search(re.escape(name) + r"\s*│\s*([0-9.]+)\s*│\s*([0-9.]+)", stdout)
        assert match, stdout
        found[name] = float(match.group(1))
    return found


def test_prints_mean_and_spread_of_every_metric(tmp_path: Path) -> None:
    table = write_table(tmp_path / "crm.csv")
    result = revguard("churn", "evaluate", "--csv", str(table), "--label", "left", "--id", "customer", "--folds", "4",
                      timeout=600)
    assert result.returncode == 0, result.stderr
    found = figures(result.stdout)
    # the planted signal alone (logit slope 1.6 on a unit normal) ranks at about AUC 0.85;
    # a calibrated model on it must land clearly above chance and below a giveaway
    assert 0.7 < found["ROC AUC"] < 0.95
    assert found["lift, top decile"] > 1.5
    assert 0 < found["Brier score"] < 0.25
    assert "3 features" in result.stdout and "4-fold" in result.stdout   # id and label left out


def test_no_label_column_is_one_line(tmp_path: Path) -> None:
    table = write_table(tmp_path / "crm.csv")
    result = revguard("churn", "evaluate", "--csv", str(table), "--label", "churned")
    assert result.returncode == 2
    assert "no label column 'churned'" in one_error_line(result)


def test_one_class_only_is_one_line(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(50), "left": [0] * 50})
    frame.to_csv(tmp_path / "stayers.csv", index=False)
    result = revguard("churn", "evaluate", "--csv", str(tmp_path / "stayers.csv"), "--label", "left")
    assert result.returncode == 2
    assert "one class only" in one_error_line(result)


def test_non_numeric_label_is_one_line(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(50), "left": ["yes", "no"] * 25})
    frame.to_csv(tmp_path / "words.csv", index=False)
    result = revguard("churn", "evaluate", "--csv", str(tmp_path / "words.csv"), "--label", "left")
    assert result.returncode == 2
    assert "not numeric" in one_error_line(result)


def test_missing_file_and_bad_folds_are_one_line(tmp_path: Path) -> None:
    result = revguard("churn", "evaluate", "--csv", str(tmp_path / "absent.csv"), "--label", "left")
    assert result.returncode == 2 and "no such file" in one_error_line(result)
    table = write_table(tmp_path / "crm.csv")
    result = revguard("churn", "evaluate", "--csv", str(table), "--label", "left", "--folds", "1")
    assert result.returncode == 2 and "at least 2" in one_error_line(result)


def test_a_column_that_is_the_label_is_refused_as_a_leak(tmp_path: Path) -> None:
    table = pd.read_csv(write_table(tmp_path / "crm.csv"))
    # a CRM export that kept the disconnection date: known only once the customer has left
    table["days_to_disconnection"] = np.where(table["left"] == 1, 12.0, np.nan)
    table.to_csv(tmp_path / "leaky.csv", index=False)
    result = revguard("churn", "evaluate", "--csv", str(tmp_path / "leaky.csv"), "--label", "left", "--id", "customer")
    assert result.returncode == 2
    assert "days_to_disconnection" in one_error_line(result) and "leaked" in one_error_line(result)


def test_churn_simulate_refuses_bad_arguments_in_one_line(tmp_path: Path) -> None:
    result = revguard("churn", "simulate", "--out", str(tmp_path / "x"), "--days", "0")
    assert result.returncode == 2
    assert "days must be" in one_error_line(result)

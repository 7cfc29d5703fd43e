"""Reasons by substitution, on a hand-made model whose log-odds are known."""
from __future__ import annotations

import numpy as np
import pandas as pd

from assurance.models.churn_reasons import contributions, phrase, reasons


def known_model(X: pd.DataFrame) -> np.ndarray:
    """log-odds = -3 - 2 x data_change + 0.01 x days_since_topup (missing counts as 0)."""
    logit = -3 - 2 * X["data_change"].to_numpy() + 0.01 * X["days_since_topup"].fillna(0).to_numpy()
    return 1 / (1 + np.exp(-logit))


def test_contributions_are_the_log_odds_each_feature_adds_over_the_typical_value() -> None:
    X = pd.DataFrame({"data_change": [-0.62, 0.0, 0.1], "days_since_topup": [40.0, 5.0, np.nan],
                      "balance": [np.nan, 1.0, 2.0]}, index=["a", "b", "c"])
    c = contributions(known_model, X)
    # typical data_change is the median 0.0: a's is -2 x (-0.62 - 0) = +1.24 log-odds
    assert abs(c.loc["a", "data_change"] - 1.24) < 1e-9
    # typical days_since_topup: median of 40 and 5 = 22.5; a adds 0.01 x 17.5
    assert abs(c.loc["a", "days_since_topup"] - 0.175) < 1e-9
    # balance does not enter the model, and a's missing balance means "does not apply": 0
    assert (c["balance"].abs() < 1e-12).all()
    words = reasons(X, c)
    assert words[0] == ["data use down 62 % over 28 days", "no top-up for 40 days"]
    assert words[1] == []                    # b is typical or better on everything


def test_phrases_read_like_a_marketer_writes() -> None:
    assert phrase("data_change", -0.62) == "data use down 62 % over 28 days"
    assert phrase("world_charges_56", 175.454, "EUR") == "175.45 EUR of roaming charges outside the EU"
    assert phrase("days_since_topup", float("nan")) == "no top-up on record"
    assert phrase("plan_id", "PAYG") == "on the PAYG plan"

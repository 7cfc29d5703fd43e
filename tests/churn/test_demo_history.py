"""The demo's churn history is long enough for the model's time split: 56 days of features
before the first as-of date, then a closed 30-day label window for the trees, another before
the calibration date and another before the scored date."""
from __future__ import annotations

from assurance.models.churn_features import HISTORY_DAYS, HORIZON_DAYS
from flows.demo_churn import CHURN_DAYS


def test_the_demo_simulates_enough_days_to_fit_calibrate_and_score() -> None:
    assert CHURN_DAYS >= HISTORY_DAYS + 3 * HORIZON_DAYS

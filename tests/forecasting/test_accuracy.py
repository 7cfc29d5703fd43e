"""Accuracy measures, computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from forecasting.accuracy import coverage, interval_pinball, mase, pinball, seasonal_scale, smape


def test_seasonal_scale_is_the_mean_change_over_one_season() -> None:
    # season 2: |3-1|, |4-2|, |9-3| → (2 + 2 + 6) / 3
    assert seasonal_scale(np.array([1.0, 2.0, 3.0, 4.0, 9.0]), 2) == pytest.approx(10 / 3)


def test_mase_divides_mean_absolute_error_by_the_scale() -> None:
    assert mase(np.array([10.0, 20.0]), np.array([12.0, 16.0]), scale=2.0) == pytest.approx(1.5)


def test_smape_counts_periods_where_both_are_zero_as_zero() -> None:
    # |100-50| · 2 / 150 = 0.6667, 0/0 → 0: mean 33.33 %
    assert smape(np.array([100.0, 0.0]), np.array([50.0, 0.0])) == pytest.approx(100 * (2 * 50 / 150) / 2)


def test_coverage_counts_the_ends_as_inside() -> None:
    assert coverage(np.array([1.0, 2.0, 3.0, 4.0]), np.full(4, 2.0), np.full(4, 3.0)) == 0.5


def test_pinball_weights_under_and_over_forecasts_by_tau() -> None:
    # tau 0.9: actual above by 10 costs 9; actual below by 10 costs 1
    assert pinball(np.array([110.0, 90.0]), np.array([100.0, 100.0]), 0.9) == pytest.approx((9 + 1) / 2)


def test_interval_pinball_reads_the_ends_as_the_tail_quantiles() -> None:
    # 80 %: ends are the 0.1 and 0.9 quantiles; actual 5 inside [0, 10] costs 0.1·5 and 0.1·5
    assert interval_pinball(np.array([5.0]), np.array([0.0]), np.array([10.0]), 80) == pytest.approx(0.5)

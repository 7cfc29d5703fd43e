"""The forecasting method on series whose right answer is known by hand."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.conformal import conformal_quantile, half_widths, weighted_conformal_quantile
from forecasting.errors import ForecastInputError
from forecasting.forecast import bottom_up, forecast_series, month_end, required_points
from forecasting.methods import holt_winters, seasonal_naive
from forecasting.series import regular_series

WEEK = np.array([10.0, 12.0, 15.0, 11.0, 9.0, 30.0, 25.0])


def daily(values, start="2026-01-01", name="revenue"):
    return regular_series(name, pd.date_range(start, periods=len(values), freq="D"), np.asarray(values, float))


def test_pure_weekly_cycle_is_forecast_exactly_by_the_seasonal_baseline() -> None:
    series = daily(np.tile(WEEK, 10))          # 70 days, day 70 is position 0 of the week again
    forecast = seasonal_naive(series, np.array([70]), 14)[0]
    assert forecast.tolist() == np.tile(WEEK, 2).tolist()


def test_pure_weekly_cycle_keeps_seasonal_naive_with_zero_width_intervals() -> None:
    series = daily(np.tile(WEEK, 10))
    forecast = forecast_series(series, 14)
    assert forecast.model == "seasonal_naive"
    assert forecast.point.tolist() == np.tile(WEEK, 2).tolist()
    for lower, upper in forecast.bounds.values():
        assert lower.tolist() == upper.tolist() == forecast.point.tolist()


def test_random_walk_interval_is_never_narrower_further_ahead() -> None:
    walk = 1000 + np.cumsum(np.random.default_rng(7).normal(0, 10, 200))
    forecast = forecast_series(daily(walk), 14)
    for level, (lower, upper) in forecast.bounds.items():
        width = upper - lower
        assert (np.diff(width) >= 0).all(), level
        # a random walk's 14-step error spreads like sqrt(14) ≈ 3.7 times its one-step error
        assert width[13] > 2 * width[0], level


def test_conformal_width_is_the_rank_ceil_n_plus_one_times_level() -> None:
    scores = np.arange(1.0, 10.0)                # 9 scores: rank ceil(10 · 0.8) = 8
    assert conformal_quantile(scores, 80) == 8.0
    assert conformal_quantile(scores, 95) == 9.0  # ceil(9.5) = 10 > 9: the largest


def test_equal_weights_give_the_plain_conformal_rank() -> None:
    scores = np.arange(1.0, 10.0)
    assert weighted_conformal_quantile(scores, np.ones(9), 80) == 8.0
    assert weighted_conformal_quantile(scores, np.ones(9), 95) == 9.0


def test_recent_errors_weigh_more_after_a_shift() -> None:
    # 40 old errors of 10, then 40 recent errors of 1; weights halve every 10 origins back.
    # Recent weight: sum 0.5^(k/10), k < 40 = 0.9375 / (1 - 0.5^0.1) ≈ 14.0; old: 14.0 · 0.5^4 ≈ 0.875.
    # Share of the recent errors: 14.0 / (14.875 + 1) ≈ 0.88, so 80 % is width 1 and 95 % is 10.
    errors = np.concatenate([np.full(40, 10.0), np.full(40, 1.0)])[:, None]
    assert half_widths(errors, 80, half_life=10).tolist() == [1.0]
    assert half_widths(errors, 95, half_life=10).tolist() == [10.0]
    assert half_widths(errors, 80, half_life=None).tolist() == [10.0]   # unweighted: rank 65 of 80


def test_half_widths_never_shrink_with_the_step() -> None:
    errors = np.array([[1.0, 0.5, 3.0], [-2.0, 0.5, -1.0], [1.5, -0.5, 2.0]])
    # per-step 80 % rank ceil(4·0.8) = 4 > 3, so the largest |error|: 2, 0.5, 3 → 2, 2, 3
    assert half_widths(errors, 80).tolist() == [2.0, 2.0, 3.0]


def test_holt_winters_from_states_matches_statsmodels_own_forecast() -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(3)
    y = 200 + np.tile(WEEK, 20) * 3 + np.cumsum(rng.normal(0, 2, 140))
    series = daily(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = ExponentialSmoothing(y[:120], trend="add", damped_trend=True, seasonal="add", seasonal_periods=7,
                                   initialization_method="estimated").fit().forecast(10)
    ours = holt_winters(series, np.array([100, 120]), 10)[1]
    np.testing.assert_allclose(ours, own, rtol=1e-9)


def test_bottom_up_total_is_the_sum_of_its_parts_every_day() -> None:
    rng = np.random.default_rng(5)
    parts = [forecast_series(daily(base + np.tile(WEEK, 12) + rng.normal(0, 2, 84), name=name), 14)
             for name, base in (("voice", 50), ("sms", 10), ("data", 120))]
    total = bottom_up("total", parts)
    np.testing.assert_allclose(total.point, parts[0].point + parts[1].point + parts[2].point)
    np.testing.assert_allclose(total.errors, sum(p.errors for p in parts))
    assert total.model == "bottom_up"


def test_month_end_adds_the_forecast_of_the_remaining_days_to_the_month_so_far() -> None:
    # 70 days from 2026-01-01 end on 2026-03-11: March has 11 known days and 20 to come
    series = daily(np.tile(WEEK, 10))
    forecast = forecast_series(series, 30)
    projection = month_end(series, forecast)
    known_march = np.tile(WEEK, 10)[-11:].sum()
    remaining = forecast.point[:20].sum()
    assert projection.month == pd.Timestamp("2026-03-01")
    assert projection.remaining == 20
    assert projection.point == pytest.approx(known_march + remaining)
    assert projection.bounds[80] == pytest.approx((projection.point, projection.point))


def test_month_end_beyond_the_horizon_is_not_projected() -> None:
    series = daily(np.tile(WEEK, 10))          # next day is 2026-03-12; 7 days reach the 18th only
    assert month_end(series, forecast_series(series, 7)) is None


def test_series_too_short_for_season_and_horizon_is_one_clear_line() -> None:
    needed = required_points(7, 14)
    with pytest.raises(ForecastInputError, match=f"{needed - 1} points.*needs at least {needed}"):
        forecast_series(daily(np.tile(WEEK, 10)[:needed - 1]), 14)


def test_lower_ends_of_a_never_negative_series_stop_at_zero() -> None:
    # Revenue near 0 with wild noise: the symmetric width would reach below 0.
    values = np.abs(np.random.default_rng(2).normal(0, 50, 84))
    forecast = forecast_series(daily(values), 14)
    for lower, upper in forecast.bounds.values():
        assert (lower >= 0).all() and (upper > lower).all()
    assert forecast.bounds[95][0].min() == 0.0       # cut, not merely positive by chance


def test_a_series_that_goes_negative_keeps_symmetric_intervals() -> None:
    values = np.random.default_rng(2).normal(0, 50, 84)   # refunds can make a day negative
    forecast = forecast_series(daily(values), 14)
    lower, upper = forecast.bounds[95]
    np.testing.assert_allclose(upper - forecast.point, forecast.point - lower)

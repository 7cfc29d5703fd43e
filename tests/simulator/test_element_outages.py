"""Element outages: silences and partial drops, placed only where they can be seen."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from flows.simulator.element_outages import (
    MEAN_ACTIVITY, ElementOutages, element_outages, expected_hourly, expected_in, visible)
from flows.simulator.network import ELEMENTS, local_midnights
from flows.simulator.traffic import DAILY_RATE, HOUR_PROFILE, WEEKEND_FACTOR

MONDAY = date(2026, 11, 2)


def test_a_silence_is_visible_from_thirty_expected_records():
    assert visible(30.0, 1.0) and not visible(29.9, 1.0)


def test_a_partial_drop_is_visible_when_it_loses_twelve_standard_deviations():
    # 50 % of 576 expected = 288 lost = 12 x sqrt(576); 50 % of 575 = 287.5 < 12 x 23.98 = 287.75
    assert visible(576.0, 0.5) and not visible(575.0, 0.5)
    # 90 % of 178 = 160.2 >= 12 x 13.34 = 160.1
    assert visible(178.0, 0.9) and not visible(177.0, 0.9)


def test_expected_records_of_msc_01_at_noon_on_a_monday():
    # msc-01 serves regions 0, 4, 8 (weights 14 + 9 + 7 of 100); voice: 4 a day at activity 1;
    # a weekday; noon's share of the voice day is 9 of the profile's 129.6
    expected = expected_hourly(1000, MONDAY, 1)
    by_hand = 1000 * MEAN_ACTIVITY * 4.0 * 0.30 * 9 / 129.6
    assert expected[ELEMENTS.index("msc-01"), 12] == pytest.approx(by_hand)
    assert DAILY_RATE[0] == 4.0 and HOUR_PROFILE[0][12] == pytest.approx(9 / 129.6)


def test_weekend_voice_is_three_quarters_of_a_weekday():
    sunday_and_monday = expected_hourly(1000, date(2026, 11, 1), 2)
    msc = ELEMENTS.index("msc-02")
    assert sunday_and_monday[msc, 12] / sunday_and_monday[msc, 24 + 12] == pytest.approx(WEEKEND_FACTOR[0])


def test_records_expected_in_an_interval_add_the_hours_it_covers_pro_rata():
    hourly = np.zeros((1, 48))
    hourly[0, 24 + 10], hourly[0, 24 + 11] = 60.0, 120.0
    # day 1, 10:30 to 11:15: half of 60 + a quarter of 120
    assert expected_in(hourly, 0, 1, 10 * 3600 + 1800, 2700) == pytest.approx(60.0)


def test_a_partial_drop_loses_the_events_whose_draw_is_below_its_share():
    outages = ElementOutages(element=np.array([2], dtype=np.int16), start=np.array([100]), end=np.array([200]),
                             lost_share=np.array([0.6]))
    element = np.array([2, 2, 2, 2, 1])
    start = np.array([150, 150, 99, 200, 150])
    draws = np.array([0.59, 0.6, 0.0, 0.0, 0.0])
    # inside and below 0.6: lost; at the share: kept; before start, at end, other element: kept
    assert outages.lost(element, start, draws).tolist() == [0, -1, -1, -1, -1]


@pytest.fixture(scope="module")
def month() -> tuple[ElementOutages, dict[str, int], np.ndarray, np.ndarray]:
    start = date(2026, 11, 1)
    midnights = local_midnights(start, 30)
    outages, populations = element_outages(np.random.default_rng(5), midnights, 3000, start, 0.2)
    return outages, populations, midnights, expected_hourly(3000, start, 30)


def test_outages_are_silences_of_one_to_four_hours_and_drops_of_one_to_six(month):
    outages, _, _, _ = month
    hours = (outages.end - outages.start) / 3600
    silence = outages.lost_share == 1.0
    assert silence.any() and (~silence).any()
    assert hours[silence].min() >= 1 and hours[silence].max() <= 4
    assert hours[~silence].min() >= 1 and hours[~silence].max() <= 6
    assert outages.lost_share[~silence].min() >= 0.5 and outages.lost_share[~silence].max() <= 0.9


def test_every_outage_ends_within_its_day_and_none_overlaps_another_of_its_service(month):
    outages, _, midnights, _ = month
    day = np.searchsorted(midnights, outages.start, side="right") - 1
    assert np.all(outages.end <= midnights[day] + 86400)
    for prefix in ("msc", "smsc", "pgw"):
        mine = np.flatnonzero([ELEMENTS[e].startswith(prefix + "-") for e in outages.element.tolist()])
        order = mine[np.argsort(outages.start[mine])]
        assert len(order) > 10
        assert np.all(outages.start[order][1:] >= outages.end[order][:-1]), prefix


def test_every_outage_is_placed_where_it_can_be_seen(month):
    outages, _, midnights, hourly = month
    for o in range(len(outages)):
        day = int(np.searchsorted(midnights, outages.start[o], side="right") - 1)
        offset = int(outages.start[o] - midnights[day])
        expected = expected_in(hourly, int(outages.element[o]), day, offset, int(outages.end[o] - outages.start[o]))
        assert visible(expected, float(outages.lost_share[o]))


def test_about_the_fault_rate_of_each_population_is_hit(month):
    outages, populations, _, _ = month
    silences = int((outages.lost_share == 1.0).sum())
    drops = len(outages) - silences
    # 9 elements x 30 days = 270 element-days at most per kind; binomial at 0.2 within 4 sigma
    for hit, population in ((silences, populations["silence"]), (drops, populations["drop"])):
        assert 100 <= population <= 270
        assert abs(hit - 0.2 * population) <= 4 * np.sqrt(population * 0.2 * 0.8)


def test_a_short_run_with_a_fault_rate_gets_a_silence_and_a_drop():
    # nine elements for two days at 0.03: 0.54 of each kind expected, so often none by chance
    start = date(2026, 11, 1)
    for seed in range(5):
        outages, _ = element_outages(np.random.default_rng(seed), local_midnights(start, 2), 1500, start, 0.03)
        assert (outages.lost_share == 1.0).sum() >= 1 and (outages.lost_share < 1.0).sum() >= 1, seed


def test_no_fault_rate_means_no_outage():
    start = date(2026, 11, 1)
    outages, populations = element_outages(np.random.default_rng(1), local_midnights(start, 3), 1500, start, 0.0)
    assert len(outages) == 0 and populations["silence"] > 0


def test_a_base_too_small_to_see_a_loss_gets_no_outage():
    # 20 subscribers: msc-01 expects about 2 records in its busiest hour
    start = date(2026, 11, 1)
    outages, populations = element_outages(np.random.default_rng(1), local_midnights(start, 3), 20, start, 0.5)
    assert len(outages) == 0 and populations == {"silence": 0, "drop": 0}

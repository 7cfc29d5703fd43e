"""The shape of generated traffic: cycles, heavy tail, churn fade-out, numbering."""
import dataclasses
from datetime import date

import numpy as np
import pytest

from flows.simulator.catalog import catalog_document
from flows.simulator.network import (
    DATA, INTERNATIONAL, NATIONAL, ONNET, PREMIUM, VOICE, destination_numbers, local_midnights)
from flows.simulator.population import msisdn_of, subscribers_chunk
from flows.simulator.reference_rater import longest_prefix, prefix_rules
from flows.simulator.traffic import traffic_chunk

START = date(2026, 11, 2)  # a Monday
DAYS = 14


@pytest.fixture(scope="module")
def base():
    rng = np.random.default_rng(11)
    midnights = local_midnights(START, DAYS)
    subs = subscribers_chunk(rng, 0, 3000, int(midnights[0]), int(midnights[-1]))
    # everyone present all period, activity 1, nobody leaving: only the cycles remain
    return dataclasses.replace(
        subs, activity=np.ones(len(subs)), activated_at=np.full(len(subs), int(midnights[0]) - 1),
        terminated_at=np.full(len(subs), np.iinfo(np.int64).max)), midnights


def events_per_day(traffic, midnights, service):
    day = np.searchsorted(midnights, traffic.start[traffic.service == service], side="right") - 1
    return np.bincount(day, minlength=len(midnights) - 1)


def test_weekends_carry_fewer_calls_and_more_data(base):
    subs, midnights = base
    traffic = traffic_chunk(np.random.default_rng(1), subs, START, DAYS)
    weekend = np.array([(d % 7) >= 5 for d in range(DAYS)])
    voice, data = events_per_day(traffic, midnights, VOICE), events_per_day(traffic, midnights, DATA)
    # weekend factors 0.75 (voice) and 1.15 (data); ~12,000 calls a day, so noise is ~1 %
    assert voice[weekend].mean() < 0.85 * voice[~weekend].mean()
    assert data[weekend].mean() > 1.08 * data[~weekend].mean()


def test_small_hours_are_quiet(base):
    subs, midnights = base
    traffic = traffic_chunk(np.random.default_rng(2), subs, START, DAYS)
    calls = traffic.start[traffic.service == VOICE]
    hour = ((calls - midnights[0]) % 86400) // 3600  # November: London is UTC
    # profile weights 0.2 at 03-04h against 10 at 10-11h
    assert np.sum(hour == 3) * 10 < np.sum(hour == 10)


def test_a_tenth_of_subscribers_makes_a_large_share_of_usage():
    rng = np.random.default_rng(3)
    midnights = local_midnights(START, 7)
    subs = subscribers_chunk(rng, 0, 3000, int(midnights[0]), int(midnights[-1]))
    traffic = traffic_chunk(rng, subs, START, 7)
    per_subscriber = np.sort(np.bincount(traffic.subscriber, minlength=len(subs)))[::-1]
    # lognormal(0, 0.9) activity: the top 10 % hold about 30 %; uniform would be 10 %
    assert per_subscriber[:300].sum() > 0.25 * per_subscriber.sum()


def test_leavers_fade_out_before_they_go(base):
    subs, midnights = base
    leaving = dataclasses.replace(subs, terminated_at=np.full(len(subs), int(midnights[-1]) - 60))
    traffic = traffic_chunk(np.random.default_rng(4), leaving, START, DAYS)
    daily = np.bincount(np.searchsorted(midnights, traffic.start, side="right") - 1, minlength=DAYS)
    # 10-day fade: first 3 days at full rate, last 3 days at ~5-25 %
    assert daily[-3:].sum() < 0.4 * daily[:3].sum()


def test_no_event_outside_the_subscription(base):
    subs, midnights = base
    rng = np.random.default_rng(5)
    window = dataclasses.replace(
        subs, activated_at=np.full(len(subs), int(midnights[3])),
        terminated_at=np.full(len(subs), int(midnights[9])))
    traffic = traffic_chunk(rng, window, START, DAYS)
    assert traffic.start.min() >= midnights[3] and traffic.start.max() < midnights[9]


@pytest.mark.parametrize("cls, name", [
    (ONNET, "onnet"), (NATIONAL, "national"), (PREMIUM, "premium"), (INTERNATIONAL, "international")])
def test_destination_numbers_fall_under_the_catalog_prefix_of_their_class(cls, name):
    rules = prefix_rules(catalog_document()["destination_classes"], "class")
    numbers = destination_numbers(np.random.default_rng(6), np.full(2000, cls))
    assert {longest_prefix(str(n), rules) for n in numbers} == {name}


def test_own_numbers_are_distinct_for_a_million_subscribers():
    numbers = msisdn_of(np.arange(1_000_000, dtype=np.int64))
    assert len(np.unique(numbers)) == 1_000_000
    assert all(str(n).startswith("4479") and len(str(n)) == 12 for n in numbers[:1000])

"""Calendar effects on usage for revenue history: a month-start bump and a tariff change.

Finance forecasts need history with more than a weekly cycle (which `traffic` already
has, with joins and churn): usage bunches in the first days of each month (salaries,
top-ups, recurring bundles renewing), and from a known date a tariff change moves usage
to a new level. The catalog has no dated prices, so the change is felt as a step in
billable usage (and so in revenue), not in the price per unit.

Applied by thinning: traffic is drawn at the highest day factor and each event is kept
with probability factor(day) / highest, which leaves Poisson counts Poisson. Off by
default (`simulate(..., revenue_calendar=True)`), so other simulations are unchanged.
"""
from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import numpy as np

from flows.simulator.network import local_midnights
from flows.simulator.population import Subscribers
from flows.simulator.traffic import Traffic, traffic_chunk

MONTH_START_DAYS = 3
MONTH_START_FACTOR = 1.35
TARIFF_CHANGE_DATE = date(2027, 1, 15)
TARIFF_CHANGE_FACTOR = 1.2


def day_factors(start: date, days: int) -> np.ndarray:
    """Usage multiplier of each simulated day."""
    factors = np.ones(days)
    for d in range(days):
        day = start + timedelta(days=d)
        if day.day <= MONTH_START_DAYS:
            factors[d] *= MONTH_START_FACTOR
        if day >= TARIFF_CHANGE_DATE:
            factors[d] *= TARIFF_CHANGE_FACTOR
    return factors


def calendar_traffic(rng: np.random.Generator, subs: Subscribers, start: date, days: int) -> Traffic:
    """`traffic_chunk` with the month-start bump and the tariff step applied."""
    factors = day_factors(start, days)
    highest = float(factors.max())
    traffic = traffic_chunk(rng, dataclasses.replace(subs, activity=subs.activity * highest), start, days)
    midnights = local_midnights(start, days)
    day = np.clip(np.searchsorted(midnights, traffic.start, side="right") - 1, 0, days - 1)
    keep = rng.random(len(traffic)) < factors[day] / highest
    renumber = np.cumsum(keep) - 1
    arrival = renumber[traffic.arrival[keep[traffic.arrival]]]
    kept = {field.name: getattr(traffic, field.name)[keep] for field in dataclasses.fields(traffic)
            if field.name != "arrival"}
    return Traffic(**kept, arrival=arrival)

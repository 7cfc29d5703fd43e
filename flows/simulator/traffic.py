"""Usage events of a chunk of subscribers, generated with numpy.

Counts per subscriber-day are Poisson around a heavy-tailed activity with weekly and
diurnal cycles; leavers fade out over the days before they go; some subscribers roam for a
few days; a few events land exactly on billing-cycle and off-peak boundaries. Events come
back sorted per subscriber in time order, with the order mediation delivers them in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from flows.simulator.network import (
    DATA, EU_NETWORKS, SMS, VOICE, VISITED_NETWORKS, destination_numbers, element_index,
    local_instant, local_midnights)
from flows.simulator.population import DAY, NEVER, Subscribers

# Events per subscriber-day at activity 1.
DAILY_RATE = np.array([4.0, 3.0, 10.0])
# Weekend multipliers: fewer calls, more data.
WEEKEND_FACTOR = np.array([0.75, 0.9, 1.15])
_VOICE_HOURS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1.5, 4, 7, 9, 10, 10, 9, 9, 9, 9, 9.5, 10, 9, 7, 5, 4, 3, 2]
_SMS_HOURS = [2, 1, 0.5, 0.3, 0.3, 0.5, 1.5, 4, 6, 7, 7, 7, 8, 7, 7, 7, 8, 9, 9, 9, 9, 8, 6, 4]
_DATA_HOURS = [4, 2.5, 1.5, 1, 1, 1.5, 3, 5, 6, 6, 6, 6, 7, 6, 6, 6, 7, 8, 9, 10, 11, 11, 9, 6]
HOUR_PROFILE = np.array([_VOICE_HOURS, _SMS_HOURS, _DATA_HOURS], dtype=float)
HOUR_PROFILE /= HOUR_PROFILE.sum(axis=1, keepdims=True)
# Destination class mix per service (onnet, national, premium, international).
CLASS_MIX = np.array([[0.35, 0.47, 0.03, 0.15], [0.45, 0.45, 0.02, 0.08]])
FADE_DAYS = 10
TRIP_HAZARD_PER_DAY = 0.01
EU_TRIP_SHARE = 0.75
CYCLE_BOUNDARY_SHARE = 0.05
OFFPEAK_BOUNDARY_SHARE = 0.005


@dataclass(frozen=True)
class Traffic:
    """Usage events as parallel arrays, sorted by (subscriber, start time)."""

    subscriber: np.ndarray   # position within the chunk
    service: np.ndarray      # VOICE / SMS / DATA
    start: np.ndarray        # epoch seconds
    duration_s: np.ndarray
    volume_bytes: np.ndarray
    destination: np.ndarray  # int64 number, 0 for data
    visited: np.ndarray      # index into VISITED_NETWORKS, -1 at home
    element: np.ndarray      # index into ELEMENTS
    cell: np.ndarray         # cell identity, 0 when roaming
    arrival: np.ndarray      # event positions in the order mediation delivers them

    def __len__(self) -> int:
        return len(self.start)


def offpeak_boundaries(start: date, days: int) -> np.ndarray:
    """Local 00:00, 07:00 and 19:00 of every day of the period, as epoch seconds."""
    return np.array(sorted(local_instant(start + timedelta(days=d), hour)
                           for d in range(days + 1) for hour in (0, 7, 19)), dtype=np.int64)


def cycle_boundaries(start: date, days: int, cycle_day: np.ndarray) -> np.ndarray:
    """For each subscriber, the first cycle start (local 00:00 of cycle_day) inside the
    period, or -1."""
    period_start, period_end = local_midnights(start, days)[[0, -1]]
    found = np.full(len(cycle_day), -1, dtype=np.int64)
    year, month = start.year, start.month
    while True:
        table = np.array([local_instant(date(year, month, d)) for d in range(1, 29)], dtype=np.int64)
        instants = table[cycle_day.astype(np.int64) - 1]
        take = (found < 0) & (instants >= period_start) & (instants < period_end)
        found[take] = instants[take]
        if table[0] >= period_end:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def traffic_chunk(rng: np.random.Generator, subs: Subscribers, start: date, days: int) -> Traffic:
    midnights = local_midnights(start, days)
    period_start, period_end = int(midnights[0]), int(midnights[-1])
    weekend = np.array([(start + timedelta(days=d)).weekday() >= 5 for d in range(days)])
    day_mid = (midnights[:-1] + midnights[1:]) // 2

    leaving = subs.terminated_at != NEVER
    fade = np.ones((len(subs), days))
    if leaving.any():
        to_go = (subs.terminated_at[leaving, None] - day_mid[None, :]) / (FADE_DAYS * DAY)
        fade[leaving] = np.clip(to_go, 0.05, 1.0)

    parts = []
    for service in (VOICE, SMS, DATA):
        rate = (subs.activity[:, None] * DAILY_RATE[service] * fade
                * np.where(weekend, WEEKEND_FACTOR[service], 1.0)[None, :])
        counts = rng.poisson(rate)
        sub_day = np.repeat(np.arange(counts.size), counts.ravel())
        sub, day = np.divmod(sub_day, days)
        hour = rng.choice(24, size=len(sub), p=HOUR_PROFILE[service])
        second = hour * 3600 + rng.integers(0, 3600, size=len(sub))
        t = midnights[day] + second
        parts.append((np.full(len(sub), service, dtype=np.int8), sub, t))

    # A few events exactly at the subscriber's billing-cycle start.
    boundary = cycle_boundaries(start, days, subs.cycle_day)
    chosen = np.flatnonzero((boundary >= 0) & (subs.activity > 0)
                            & (rng.random(len(subs)) < CYCLE_BOUNDARY_SHARE))
    parts.append((rng.choice([VOICE, SMS, DATA], size=len(chosen)).astype(np.int8), chosen,
                  boundary[chosen]))

    service = np.concatenate([p[0] for p in parts])
    sub = np.concatenate([p[1] for p in parts]).astype(np.int64)
    t = np.concatenate([p[2] for p in parts]).astype(np.int64)

    # A few calls snapped onto an off-peak band edge (or one second before it).
    edges = offpeak_boundaries(start, days)
    snap = np.flatnonzero((service == VOICE) & (rng.random(len(t)) < OFFPEAK_BOUNDARY_SHARE))
    edge = edges[np.clip(np.searchsorted(edges, t[snap], side="right") - 1, 0, len(edges) - 1)]
    t[snap] = edge - (rng.random(len(snap)) < 0.3)

    alive = ((t >= subs.activated_at[sub]) & (t < subs.terminated_at[sub])
             & (t >= period_start) & (t < period_end))
    service, sub, t = service[alive], sub[alive], t[alive]
    order = np.lexsort((service, t, sub))
    service, sub, t = service[order], sub[order], t[order]
    n = len(t)

    duration = np.zeros(n, dtype=np.int64)
    voice = service == VOICE
    duration[voice] = np.clip(rng.lognormal(np.log(70), 1.1, size=int(voice.sum())), 1, 10800).astype(np.int64)
    duration[voice & (rng.random(n) < 0.03)] = 0  # unanswered
    volume = np.zeros(n, dtype=np.int64)
    data = service == DATA
    volume[data] = np.clip(rng.lognormal(np.log(3e6), 1.6, size=int(data.sum())), 1, 4e9).astype(np.int64)
    volume[data & (rng.random(n) < 0.01)] = 0

    classes = np.full(n, -1, dtype=np.int64)
    for svc in (VOICE, SMS):
        where = np.flatnonzero(service == svc)
        classes[where] = rng.choice(4, size=len(where), p=CLASS_MIX[svc])
    destination = np.zeros(n, dtype=np.int64)
    calls = classes >= 0
    destination[calls] = destination_numbers(rng, classes[calls])

    # Trips abroad: one per traveller, a few days, in an eu or a world network.
    travels = rng.random(len(subs)) < 1 - (1 - TRIP_HAZARD_PER_DAY) ** days
    trip_start = period_start + rng.integers(-2 * DAY, max(period_end - period_start, 1), size=len(subs))
    trip_end = trip_start + rng.integers(DAY, 8 * DAY, size=len(subs))
    in_eu = rng.random(len(subs)) < EU_TRIP_SHARE
    network = np.where(in_eu, rng.integers(0, len(EU_NETWORKS), size=len(subs)),
                       rng.integers(len(EU_NETWORKS), len(VISITED_NETWORKS), size=len(subs)))
    abroad = travels[sub] & (t >= trip_start[sub]) & (t < trip_end[sub])
    visited = np.where(abroad, network[sub], -1).astype(np.int16)

    element = element_index(subs.region[sub].astype(np.int64), service)
    cell = np.where(abroad, 0, subs.cell_base[sub] + rng.integers(0, 4, size=n))

    # Mediation delivers late sometimes, but never reorders one subscriber's events.
    delivered = t + rng.exponential(600.0, size=n).astype(np.int64)
    delivered += sub * (4 * (period_end - period_start + 10 * DAY))  # keep blocks apart
    delivered = np.maximum.accumulate(delivered) - sub * (4 * (period_end - period_start + 10 * DAY))
    arrival = np.argsort(delivered, kind="stable")

    return Traffic(subscriber=sub, service=service, start=t, duration_s=duration,
                   volume_bytes=volume, destination=destination, visited=visited,
                   element=element, cell=cell, arrival=arrival)

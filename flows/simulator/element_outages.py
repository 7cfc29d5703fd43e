"""Element outages (SPEC 4 `element_gap`): an element sends no records for a while (a
silence), or loses part of them (a partial drop).

Outages are drawn per element-day from the seed alone, before any traffic, so every chunk of
subscribers loses the records of the same outages. Each kind has its own population: the
element-days on which an outage of that kind can be seen. An outage is placed only where the
simulator's own traffic model expects the element to send enough records for the loss to be
visible: a silence where at least `SILENCE_MIN_EXPECTED` records were expected, a partial drop
where the records it loses are at least `DROP_MIN_SIGMAS` standard deviations of the count
expected (`lost >= 12 * sqrt(expected)`). A loss below that is noise to anyone watching the
element, so it would be a label no control could earn. Each element-day tries a few
placements and keeps the first visible one that overlaps no outage of an element of the same
service (the control measures an element against the others of its service); a day with
none is outside the population.
`fault_rate` of each population is hit, and a run with a non-zero rate gets at least one of
each kind its population allows (short runs have few element-days: nine elements for two
days at 0.03 had drawn none).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from flows.simulator.network import ELEMENTS, MSC, PGW, REGION_WEIGHTS, REGIONS, SMSC, element_index
from flows.simulator.population import DORMANT_SHARE, PLAN_ACTIVITY, PLAN_SHARE, SUSPENDED_SHARE
from flows.simulator.traffic import DAILY_RATE, HOUR_PROFILE, WEEKEND_FACTOR

SILENCE_HOURS = (1, 4)
DROP_HOURS = (1, 6)
DROP_SHARE = (0.5, 0.9)  # share of the element's records a partial drop loses
SILENCE_MIN_EXPECTED = 30.0
DROP_MIN_SIGMAS = 12.0
PLACEMENT_TRIES = 8
# The service each element carries: two elements of one service are never out at once. A
# control learns what an element should send from the others of its service; with them
# down too, there is nothing to measure the loss against.
SERVICE_OF = (0,) * len(MSC) + (1,) * len(SMSC) + (2,) * len(PGW)
# Mean activity of a subscriber: lognormal(0, 0.9) has mean exp(0.405); plans, dormant and
# suspended lines scale it (population.py).
MEAN_ACTIVITY = float(np.exp(0.9 ** 2 / 2) * (PLAN_SHARE @ PLAN_ACTIVITY)
                      * (1 - DORMANT_SHARE) * (1 - SUSPENDED_SHARE))


@dataclass(frozen=True)
class ElementOutages:
    """Outages as arrays: `[start, end)` epoch seconds in which `element` loses `lost_share`
    of its records (1.0: a silence)."""

    element: np.ndarray
    start: np.ndarray
    end: np.ndarray
    lost_share: np.ndarray

    def __len__(self) -> int:
        return len(self.element)

    def is_silence(self, outage: int) -> bool:
        return bool(self.lost_share[outage] >= 1.0)

    def lost(self, element: np.ndarray, start: np.ndarray, draws: np.ndarray) -> np.ndarray:
        """For each event, the index of the outage that loses it, or -1. `draws`: one uniform
        [0, 1) per event; an event inside a partial drop is lost when its draw is below the
        drop's share."""
        found = np.full(len(start), -1, dtype=np.int64)
        for o in range(len(self)):
            inside = (element == self.element[o]) & (start >= self.start[o]) & (start < self.end[o])
            found[inside & (draws < self.lost_share[o])] = o
        return found


def expected_hourly(subscribers: int, start: date, days: int) -> np.ndarray:
    """Records the traffic model expects per element (rows, ELEMENTS order) and hour after
    each local midnight (columns: day * 24 + hour)."""
    region_share = REGION_WEIGHTS / REGION_WEIGHTS.sum()
    expected = np.zeros((len(ELEMENTS), days * 24))
    for service in range(3):
        served = element_index(np.arange(REGIONS), np.full(REGIONS, service))
        share = np.bincount(served, weights=region_share, minlength=len(ELEMENTS))
        for d in range(days):
            weekend = (start + timedelta(days=d)).weekday() >= 5
            daily = subscribers * MEAN_ACTIVITY * DAILY_RATE[service] * (WEEKEND_FACTOR[service] if weekend else 1.0)
            expected[:, d * 24:(d + 1) * 24] += share[:, None] * daily * HOUR_PROFILE[service][None, :]
    return expected


def expected_in(hourly: np.ndarray, element: int, day: int, offset_s: int, length_s: int) -> float:
    """Records expected from `element` in `[offset, offset + length)` seconds of local `day`."""
    lo, hi = day * 86400 + offset_s, day * 86400 + offset_s + length_s
    total = 0.0
    for hour in range(lo // 3600, (hi - 1) // 3600 + 1):
        overlap = min(hi, (hour + 1) * 3600) - max(lo, hour * 3600)
        total += hourly[element, hour] * overlap / 3600
    return total


def visible(expected: float, lost_share: float) -> bool:
    """Whether losing `lost_share` of `expected` records can be told from chance."""
    if lost_share >= 1.0:
        return expected >= SILENCE_MIN_EXPECTED
    return lost_share * expected >= DROP_MIN_SIGMAS * np.sqrt(expected)


def element_outages(rng: np.random.Generator, midnights: np.ndarray, subscribers: int, start: date,
                    fault_rate: float) -> tuple[ElementOutages, dict[str, int]]:
    """The run's outages, ordered by element then start, and the size of each kind's
    population (element-days on which it could be seen)."""
    days = len(midnights) - 1
    hourly = expected_hourly(subscribers, start, days)
    placed: list[tuple[int, int, int, int, float]] = []  # element, day, offset, length, share
    populations = {}
    for kind, hours in (("silence", SILENCE_HOURS), ("drop", DROP_HOURS)):
        size = (len(ELEMENTS), days, PLACEMENT_TRIES)
        lengths = rng.integers(hours[0] * 60, hours[1] * 60 + 1, size=size) * 60
        # any whole minute of the day from which the outage still ends within it
        offsets = (rng.random(size) * (86400 - lengths) / 60).astype(np.int64) * 60
        shares = np.ones(size) if kind == "silence" else np.round(rng.uniform(*DROP_SHARE, size=size), 2)
        hit_draws = rng.random((len(ELEMENTS), days))
        candidates, hits = [], []
        for e in range(len(ELEMENTS)):
            for d in range(days):
                for k in range(PLACEMENT_TRIES):
                    offset, length, share = int(offsets[e, d, k]), int(lengths[e, d, k]), float(shares[e, d, k])
                    clash = any(SERVICE_OF[pe] == SERVICE_OF[e] and pd == d and offset < po + pl and po < offset + length
                                for pe, pd, po, pl, _ in placed)
                    if not clash and visible(expected_in(hourly, e, d, offset, length), share):
                        candidates.append((hit_draws[e, d], e, d, offset, length, share))
                        if hit_draws[e, d] < fault_rate:
                            hits.append(candidates[-1])
                            placed.append((e, d, offset, length, share))
                        break
        populations[kind] = len(candidates)
        if fault_rate > 0 and candidates and not hits:
            _, e, d, offset, length, share = min(candidates)
            placed.append((e, d, offset, length, share))
    placed.sort()
    starts = np.array([int(midnights[d]) + o for _, d, o, _, _ in placed], dtype=np.int64)
    return ElementOutages(
        element=np.array([e for e, *_ in placed], dtype=np.int16),
        start=starts,
        end=starts + np.array([length for *_, length, _ in placed], dtype=np.int64),
        lost_share=np.array([share for *_, share in placed], dtype=np.float64),
    ), populations

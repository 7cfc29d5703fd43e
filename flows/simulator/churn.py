"""Churn mode: subscribers leave for reasons an operator could see coming, plus noise.

Off by default (`simulate(..., churn=True)`). Instead of the constant hazard of
`population`, each subscriber's daily hazard of leaving is a log-linear sum of drivers:

- disengagement: from an onset day usage falls linearly to a floor over weeks; the more it
  has fallen, the likelier leaving (some disengage for reasons that do not end in leaving);
- bill shock (postpaid): a week of much heavier data sessions, then the bill, then weeks of
  raised hazard;
- prepaid top-ups stop: no more planned top-ups from a day on, the balance drains and the
  hazard rises;
- roaming price shock: after a trip to a network outside the EU (world prices);
- short tenure, plan and segment;
- noise no feature shows: a per-subscriber random effect and competitor-offer spells.

Leavers fade out over their last days (as `traffic` does). Months of history must simulate
fast enough for tests, so churn mode thins sessions to `SESSION_SHARE` and makes data
sessions larger by the same factor: counts fall, volumes and money per month do not.
Truth: one `churn.ndjson` line per subscriber with `churned_at` (null when staying) and the
drivers drawn for it; the model never reads it. Dormant and suspended lines never leave,
since nothing of theirs could be observed.
"""
from __future__ import annotations

import dataclasses
import json

import numpy as np

from flows.simulator.network import DATA, EU_NETWORKS, rfc3339
from flows.simulator.population import (
    ACTIVE, DAY, NEVER, PLAN_IDS, SEGMENTS, SUSPENDED, TERMINATED, Subscribers)
from flows.simulator.traffic import FADE_DAYS, Traffic

CHURN_FILE = "churn.ndjson"
SESSION_SHARE = 0.2
# Base log-hazard per day; with the drivers below monthly churn lands near 2 %.
BASE_LOG_HAZARD = np.log(0.00006)
DISENGAGE_PER_DAY = 0.0015
DISENGAGE_WEIGHT = 5.0          # log-hazard per unit of usage lost
DISENGAGE_LAG_DAYS = 10         # leaving follows the fall in usage, it does not come with it
HARMLESS_DISENGAGE_SHARE = 0.1  # disengage, but the hazard does not follow
SHOCK_PER_DAY = 0.002           # postpaid bill-shock episodes
SHOCK_DAYS = 7
SHOCK_VOLUME_FACTOR = 6
SHOCK_WEIGHT = 3.6
SHOCK_DECAY_DAYS = 40
BILL_LAG_DAYS = 7              # the bill arrives a week after the shock week
TOPUP_STOP_PER_DAY = 0.002
TOPUP_STOP_WEIGHT = 3.6
TOPUP_STOP_LAG_DAYS = 14       # the balance runs down first
ROAMING_WEIGHT = 3.0
ROAMING_DECAY_DAYS = 40
ROAMING_LAG_DAYS = 10          # the roaming bill arrives after the trip
SHORT_TENURE_WEIGHT = 1.0
SHORT_TENURE_DAYS = 120
PLAN_WEIGHT = np.array([0.0, -0.5, 0.2, 0.5, 0.3])    # per PLAN_IDS
SEGMENT_WEIGHT = np.array([0.0, 0.4, -0.3, -0.4])     # per SEGMENTS
RANDOM_EFFECT_SD = 0.25
OFFER_PER_DAY = 0.002
OFFER_DAYS = 14
OFFER_WEIGHT = 0.6


@dataclasses.dataclass(frozen=True)
class ChurnPlan:
    """What churn mode decided for a chunk: when top-ups stop, and the truth lines."""

    topups_stop_at: np.ndarray   # epoch seconds per subscriber, NEVER when they go on
    truth: list[str]


def staying(subs: Subscribers) -> Subscribers:
    """The chunk before churn is decided: nobody leaves by the constant hazard."""
    status = np.where(subs.status == TERMINATED, ACTIVE, subs.status).astype(np.int8)
    return dataclasses.replace(subs, status=status,
                               terminated_at=np.full(len(subs), NEVER, dtype=np.int64))


def apply_churn(rng: np.random.Generator, subs: Subscribers, traffic: Traffic,
                midnights: np.ndarray) -> tuple[Subscribers, Traffic, ChurnPlan]:
    """Decide who leaves when, from drivers drawn here and the trips in `traffic`, and
    thin `traffic` to match: disengagement, fading out, nothing after leaving."""
    n, days = len(subs), len(midnights) - 1
    day_index = np.arange(days)[None, :]
    day_mid = ((midnights[:-1] + midnights[1:]) // 2)[None, :]
    joined = np.clip((subs.activated_at - midnights[0]) // DAY, 0, days).astype(np.int64)
    can_leave = (subs.activity > 0) & (subs.status != SUSPENDED)

    def onset(per_day: float, eligible: np.ndarray) -> np.ndarray:
        """A day per subscriber from its joining on, `days` (never) for most."""
        wait = rng.geometric(per_day, size=n) - 1
        first = joined + wait
        return np.where(eligible & (first < days), first, days)

    # disengagement: usage falls linearly from 1 to a floor over `span` days
    dis_day = onset(DISENGAGE_PER_DAY, can_leave)
    dis_floor = rng.uniform(0.1, 0.5, size=n)
    dis_span = rng.uniform(21, 56, size=n)
    progress = np.clip((day_index - dis_day[:, None]) / dis_span[:, None], 0.0, 1.0)
    usage = 1.0 - progress * (1.0 - dis_floor[:, None])
    harmless = rng.random(n) < HARMLESS_DISENGAGE_SHARE
    lagged = np.clip((day_index - DISENGAGE_LAG_DAYS - dis_day[:, None]) / dis_span[:, None], 0.0, 1.0)
    usage_lost = lagged * (1.0 - dis_floor[:, None])

    shock_day = onset(SHOCK_PER_DAY, can_leave & ~subs.prepaid)
    stop_day = onset(TOPUP_STOP_PER_DAY, can_leave & subs.prepaid)
    offer_day = onset(OFFER_PER_DAY, can_leave)

    # roaming price shock: the last day of a trip outside the EU
    world = traffic.visited >= len(EU_NETWORKS)
    trip_end = np.full(n, -1, dtype=np.int64)
    if world.any():
        event_day = np.clip(np.searchsorted(midnights, traffic.start[world], side="right") - 1, 0, days - 1)
        np.maximum.at(trip_end, traffic.subscriber[world], event_day)

    tenure = (day_mid - subs.activated_at[:, None]) / DAY
    log_hazard = (BASE_LOG_HAZARD + PLAN_WEIGHT[subs.plan][:, None] + SEGMENT_WEIGHT[subs.segment][:, None]
                  + rng.normal(0, RANDOM_EFFECT_SD, size=n)[:, None]
                  + SHORT_TENURE_WEIGHT * np.exp(-np.clip(tenure, 0, None) / SHORT_TENURE_DAYS)
                  + np.where(harmless[:, None], 0.0, DISENGAGE_WEIGHT * usage_lost)
                  + _after(day_index, shock_day + SHOCK_DAYS + BILL_LAG_DAYS, SHOCK_WEIGHT, SHOCK_DECAY_DAYS)
                  + np.where(day_index >= stop_day[:, None] + TOPUP_STOP_LAG_DAYS, TOPUP_STOP_WEIGHT, 0.0)
                  + np.where((day_index >= offer_day[:, None]) & (day_index < offer_day[:, None] + OFFER_DAYS),
                             OFFER_WEIGHT, 0.0))
    log_hazard += np.where(trip_end[:, None] >= 0,
                           _after(day_index, trip_end + ROAMING_LAG_DAYS, ROAMING_WEIGHT, ROAMING_DECAY_DAYS), 0.0)
    hazard = 1.0 - np.exp(-np.exp(log_hazard))
    leaves_today = (rng.random((n, days)) < hazard) & (day_index > joined[:, None]) & can_leave[:, None]
    first = np.where(leaves_today.any(axis=1), leaves_today.argmax(axis=1), days)
    leaving = first < days
    terminated_at = np.full(n, NEVER, dtype=np.int64)
    terminated_at[leaving] = midnights[first[leaving]] + rng.integers(3600, DAY - 3600, size=int(leaving.sum()))

    status = np.where(leaving, TERMINATED, subs.status).astype(np.int8)
    subs = dataclasses.replace(subs, terminated_at=terminated_at, status=status)
    traffic = _thinned(rng, traffic, usage, terminated_at, shock_day, midnights)
    stops = np.where(stop_day < days, midnights[np.minimum(stop_day, days - 1)], NEVER).astype(np.int64)
    truth = [_truth_line(subs, i, dis_day, harmless, shock_day, stop_day, trip_end, offer_day, midnights, days)
             for i in range(n)]
    return subs, traffic, ChurnPlan(topups_stop_at=stops, truth=truth)


def without_stopped_topups(planned: list[list[tuple]], plan: ChurnPlan) -> list[list[tuple]]:
    """Planned adjustments less the top-ups after a subscriber stopped topping up."""
    return [[a for a in queue if a[3] != "topup" or a[0] < int(plan.topups_stop_at[i])]
            for i, queue in enumerate(planned)]


def _after(day_index: np.ndarray, start: np.ndarray, weight: float, decay_days: float) -> np.ndarray:
    """`weight`, decaying with `decay_days`, from day `start` on (0 before)."""
    since = day_index - start[:, None]
    return np.where(since >= 0, weight * np.exp(-np.clip(since, 0, None) / decay_days), 0.0)


def _thinned(rng: np.random.Generator, traffic: Traffic, usage: np.ndarray, terminated_at: np.ndarray,
             shock_day: np.ndarray, midnights: np.ndarray) -> Traffic:
    days = len(midnights) - 1
    day = np.clip(np.searchsorted(midnights, traffic.start, side="right") - 1, 0, days - 1)
    sub = traffic.subscriber
    leaves = terminated_at[sub]
    fade = np.where(leaves == NEVER, 1.0,
                    np.clip((leaves - traffic.start) / (FADE_DAYS * DAY), 0.05, 1.0))
    keep = ((rng.random(len(traffic)) < SESSION_SHARE * usage[sub, day] * fade)
            & (traffic.start < leaves))
    renumber = np.cumsum(keep) - 1
    arrival = renumber[traffic.arrival[keep[traffic.arrival]]]
    kept = {field.name: getattr(traffic, field.name)[keep] for field in dataclasses.fields(traffic)
            if field.name != "arrival"}
    # fewer, larger data sessions: a month's volume stays what it was; more in a shock week
    kept_day, kept_sub = day[keep], sub[keep]
    factor = np.where((kept_day >= shock_day[kept_sub]) & (kept_day < shock_day[kept_sub] + SHOCK_DAYS),
                      SHOCK_VOLUME_FACTOR, 1.0) / SESSION_SHARE
    data = kept["service"] == DATA
    kept["volume_bytes"] = np.where(data, np.minimum(kept["volume_bytes"] * factor, 4e9),
                                    kept["volume_bytes"]).astype(np.int64)
    return Traffic(**kept, arrival=arrival)


def _truth_line(subs: Subscribers, i: int, dis_day: np.ndarray, harmless: np.ndarray, shock_day: np.ndarray,
                stop_day: np.ndarray, trip_end: np.ndarray, offer_day: np.ndarray, midnights: np.ndarray,
                days: int) -> str:
    def when(day: int) -> str | None:
        return rfc3339(int(midnights[day])) if 0 <= day < days else None

    left = int(subs.terminated_at[i])
    return json.dumps({
        "msisdn": str(subs.msisdn[i]),
        "churned_at": rfc3339(left) if left != NEVER else None,
        "plan_id": PLAN_IDS[subs.plan[i]], "segment": SEGMENTS[subs.segment[i]],
        "disengaged_from": when(int(dis_day[i])), "disengagement_harmless": bool(harmless[i]),
        "bill_shock_from": when(int(shock_day[i])), "topups_stopped_from": when(int(stop_day[i])),
        "world_trip_ended": when(int(trip_end[i])), "offer_from": when(int(offer_day[i])),
    }, separators=(",", ":")) + "\n"

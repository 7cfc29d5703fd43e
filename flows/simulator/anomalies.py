"""Anomalies the reconciliation controls cannot see (SPEC section 7), injected into the traffic.

The network records themselves carry these, so network and bill agree:
- `usage_spike`: a postpaid subscriber calls premium and international numbers at many times
  their normal calling rate for 1-6 hours (IRSF-like fraud);
- `sim_box`: from a day on, a prepaid subscriber relays calls as a SIM box: hundreds of short
  on-net/national calls a day to distinct numbers, from one cell, no data, few SMS;
- `volume_truncation`: from a moment on, mediation keeps only 10-60 % of the bytes of every
  data record of one packet gateway.

Each chunk draws its subscribers' anomalies from a generator of its own (`[seed, 7, chunk]`)
and the truncations from `[seed, 8]`, so the files stay byte-identical whatever the number
of worker processes, and the rest of the simulation draws exactly what it drew before.
At `fault_rate` 0 nothing is injected and nothing is drawn.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from flows.simulator.formats import truth_line
from flows.simulator.network import (
    DATA, INTERNATIONAL, NATIONAL, ONNET, PGW, PREMIUM, SMS, VOICE, destination_numbers,
    element_index, rfc3339)
from flows.simulator.population import ACTIVE, NEVER, PLAN_IDS, Subscribers
from flows.simulator.reference_rater import ZERO, ReferenceRater, round_half_up
from flows.simulator.traffic import HOUR_PROFILE, Traffic

ANOMALY_KINDS = ("usage_spike", "sim_box", "volume_truncation")


@dataclass(frozen=True)
class AnomalyRates:
    """How often and how strongly each kind is injected; every share scales with the fault rate.

    The defaults make about one postpaid line in a hundred a fraud victim and one prepaid
    line in a hundred a SIM box at the default fault rate of 0.01, and give each packet
    gateway an even chance of a truncation in a run."""

    spike_share: float = 1.0              # x fault_rate: postpaid subscribers with a spike
    spike_hours: tuple[int, int] = (1, 6)
    spike_multiplier: tuple[float, float] = (5.0, 30.0)
    spike_floor_per_hour: float = 3.0     # a quiet line's 5x is still a handful of calls
    spike_median_duration_s: float = 300.0
    sim_box_share: float = 1.0            # x fault_rate: prepaid subscribers turned SIM box
    sim_box_calls_per_day: tuple[float, float] = (200.0, 500.0)
    sim_box_median_duration_s: float = 100.0
    sim_box_sms_per_day: float = 2.0
    # A box's owner keeps it topped up; an opening balance this size stands for that.
    sim_box_balance_cents: int = 2_000_000
    truncation_share: float = 50.0        # x fault_rate: chance per packet gateway
    truncation_keep: tuple[float, float] = (0.10, 0.60)


DEFAULT_RATES = AnomalyRates()
# Interconnect revenue a SIM box takes: each minute it relays would have reached the network
# as incoming international traffic paying this termination rate (ex tax, per minute).
SIM_BOX_TERMINATION_PER_MINUTE = Decimal("0.08")
BYTES_PER_MB = 1_048_576


@dataclass(frozen=True)
class Truncations:
    """Per truncated packet gateway: its index into ELEMENTS, start (epoch s) and kept share."""

    element: np.ndarray
    start: np.ndarray
    keep: np.ndarray

    def __len__(self) -> int:
        return len(self.element)


def truncations(seed: int, period_start: int, period_end: int, fault_rate: float,
                rates: AnomalyRates = DEFAULT_RATES) -> Truncations:
    """The run's volume truncations, the same in every chunk: each starts at least 12 hours
    into the period and runs to its end."""
    from flows.simulator.network import ELEMENTS

    if fault_rate <= 0:
        return Truncations(np.zeros(0, np.int16), np.zeros(0, np.int64), np.zeros(0))
    rng = np.random.default_rng([seed, 8])
    pgw = np.array([ELEMENTS.index(name) for name in PGW], dtype=np.int16)
    hit = rng.random(len(pgw)) < min(1.0, rates.truncation_share * fault_rate)
    lo, hi = period_start + 12 * 3600, max(period_start + 12 * 3600 + 1, period_end - 12 * 3600)
    start = rng.integers(lo, hi, size=len(pgw))
    keep = rng.uniform(*rates.truncation_keep, size=len(pgw))
    return Truncations(pgw[hit], start[hit], keep[hit])


@dataclass(frozen=True)
class Injected:
    """What a chunk's injection changed: the subscribers (SIM boxes' balances), the traffic,
    its truth lines, and per truncation the money its records lost in this chunk."""

    subscribers: Subscribers
    traffic: Traffic
    truth: list[str]
    truncation_amounts: list[Decimal]
    counts: dict[str, int] = dataclasses.field(default_factory=dict)       # truth lines by kind
    populations: dict[str, int] = dataclasses.field(default_factory=dict)  # lines drawn from


def inject(subs: Subscribers, traffic: Traffic, catalog: dict, seed: int, chunk: int,
           midnights: np.ndarray, fault_rate: float, cuts: Truncations,
           rates: AnomalyRates = DEFAULT_RATES) -> Injected:
    """The chunk's traffic with its anomalies injected (unchanged at fault_rate 0)."""
    if fault_rate <= 0:
        return Injected(subs, traffic, [], [])
    rng = np.random.default_rng([seed, 7, chunk])
    period_start, period_end = int(midnights[0]), int(midnights[-1])
    steady = ((subs.status == ACTIVE) & (subs.activity > 0) & (subs.terminated_at == NEVER)
              & (subs.activated_at < period_start))
    spiked = np.flatnonzero(steady & ~subs.prepaid & (rng.random(len(subs)) < rates.spike_share * fault_rate))
    boxed = np.flatnonzero(steady & subs.prepaid & (rng.random(len(subs)) < rates.sim_box_share * fault_rate))

    truth: list[str] = []
    added: list[dict[str, np.ndarray]] = []
    drop = np.zeros(len(traffic), dtype=bool)
    hours = (period_end - period_start) / 3600
    for s in spiked.tolist():
        normal_per_hour = int(((traffic.subscriber == s) & (traffic.service == VOICE)).sum()) / hours
        events, line = _spike(rng, subs, s, normal_per_hour, period_start, period_end, catalog, rates)
        added.append(events)
        truth.append(line)
    for s in boxed.tolist():
        first_day = int(rng.integers(0, max(1, len(midnights) - 2)))
        begins = int(midnights[first_day])
        drop |= (traffic.subscriber == s) & (traffic.start >= begins)
        events, line = _sim_box(rng, subs, s, begins, midnights[first_day:], rates)
        added.append(events)
        truth.append(line)
    if len(boxed):
        balance = subs.balance_cents.copy()
        balance[boxed] = rates.sim_box_balance_cents
        subs = dataclasses.replace(subs, balance_cents=balance)
    traffic = _merged(traffic, drop, added)
    traffic, amounts = _truncated(traffic, subs, cuts, catalog)
    return Injected(subs, traffic, truth, amounts,
                    counts={"usage_spike": len(spiked), "sim_box": len(boxed)},
                    populations={"usage_spike": int((steady & ~subs.prepaid).sum()),
                                 "sim_box": int((steady & subs.prepaid).sum())})


def truncation_truth(cuts: Truncations, amounts: list[Decimal], period_end: int) -> list[str]:
    """The truth lines of the run's truncations, once every chunk has added its money."""
    from flows.simulator.network import ELEMENTS

    return [truth_line("volume_truncation", element_id=ELEMENTS[int(cuts.element[k])],
                        window_start=rfc3339(int(cuts.start[k])), window_end=rfc3339(period_end),
                        amount=amounts[k], keep_share=round(float(cuts.keep[k]), 4))
            for k in range(len(cuts))]


def _spike(rng: np.random.Generator, subs: Subscribers, s: int, normal_per_hour: float,
           period_start: int, period_end: int, catalog: dict,
           rates: AnomalyRates) -> tuple[dict[str, np.ndarray], str]:
    length = int(rng.integers(rates.spike_hours[0], rates.spike_hours[1] + 1)) * 3600
    begins = int(rng.integers(period_start, period_end - length))
    multiplier = float(rng.uniform(*rates.spike_multiplier))
    per_hour = max(rates.spike_floor_per_hour, multiplier * normal_per_hour)
    n = int(rng.poisson(per_hour * length / 3600)) + length // 3600
    start = np.sort(begins + rng.integers(0, length, size=n))
    duration = np.clip(rng.lognormal(np.log(rates.spike_median_duration_s), 0.7, size=n), 20, 3600).astype(np.int64)
    classes = np.where(rng.random(n) < 0.5, PREMIUM, INTERNATIONAL)
    destination = destination_numbers(rng, classes)
    events = _events(subs, s, VOICE, start, duration, destination, subs.cell_base[s] + rng.integers(0, 4, size=n))
    msisdn = str(subs.msisdn[s])
    # Priced on their own by the reference rater: the charge the fraud added to the bill.
    row = {"plan_id": PLAN_IDS[subs.plan[s]], "payment": "postpaid", "cycle_day": str(int(subs.cycle_day[s]))}
    rater = ReferenceRater(catalog, {msisdn: row})
    amount = ZERO
    for t, d, dest in zip(start.tolist(), duration.tolist(), destination.tolist()):
        amount += rater.rate({"msisdn": msisdn, "service": "voice", "start_time": rfc3339(t),
                              "duration_s": d, "volume_bytes": 0, "destination": str(dest),
                              "roaming_mccmnc": ""}).charge
    return events, truth_line("usage_spike", msisdn=msisdn, window_start=rfc3339(begins),
                               window_end=rfc3339(begins + length), amount=amount, calls=n,
                               multiplier=round(multiplier, 2))


def _sim_box(rng: np.random.Generator, subs: Subscribers, s: int, begins: int, midnights: np.ndarray,
             rates: AnomalyRates) -> tuple[dict[str, np.ndarray], str]:
    days = len(midnights) - 1
    per_day = rng.uniform(*rates.sim_box_calls_per_day)
    calls = rng.poisson(per_day, size=days)
    sms = rng.poisson(rates.sim_box_sms_per_day, size=days)
    parts = []
    for service, counts in ((VOICE, calls), (SMS, sms)):
        day = np.repeat(np.arange(days), counts)
        hour = rng.choice(24, size=len(day), p=HOUR_PROFILE[VOICE])
        parts.append((np.full(len(day), service, np.int8),
                      midnights[day] + hour * 3600 + rng.integers(0, 3600, size=len(day))))
    service = np.concatenate([p[0] for p in parts])
    start = np.concatenate([p[1] for p in parts]).astype(np.int64)
    n = len(start)
    duration = np.where(service == VOICE, np.clip(rng.lognormal(
        np.log(rates.sim_box_median_duration_s), 0.6, size=n), 5, 1800), 0).astype(np.int64)
    destination = destination_numbers(rng, np.where(rng.random(n) < 0.5, ONNET, NATIONAL))
    events = _events(subs, s, service, start, duration, destination, np.full(n, subs.cell_base[s]))
    minutes = Decimal(int(duration.sum())) / 60
    amount = round_half_up(minutes * SIM_BOX_TERMINATION_PER_MINUTE)
    return events, truth_line("sim_box", msisdn=str(subs.msisdn[s]), window_start=rfc3339(begins),
                               window_end=rfc3339(int(midnights[-1])), amount=amount,
                               calls=int(calls.sum()))


def _events(subs: Subscribers, s: int, service, start: np.ndarray, duration: np.ndarray,
            destination: np.ndarray, cell: np.ndarray) -> dict[str, np.ndarray]:
    n = len(start)
    service = np.broadcast_to(np.asarray(service, dtype=np.int8), (n,)).copy()
    return {"subscriber": np.full(n, s, np.int64), "service": service, "start": start.astype(np.int64),
            "duration_s": duration.astype(np.int64), "volume_bytes": np.zeros(n, np.int64),
            "destination": destination.astype(np.int64), "visited": np.full(n, -1, np.int16),
            "element": element_index(np.full(n, int(subs.region[s]), np.int64), service),
            "cell": cell.astype(np.int64)}


def _merged(traffic: Traffic, drop: np.ndarray, added: list[dict[str, np.ndarray]]) -> Traffic:
    """The traffic without `drop`, with `added`, sorted by (subscriber, start) again. Delivery
    keeps the original order; an added event is delivered right after the subscriber's
    latest original event that started before it (mediation never reorders a subscriber)."""
    if not added and not drop.any():
        return traffic
    names = ("subscriber", "service", "start", "duration_s", "volume_bytes", "destination",
             "visited", "element", "cell")
    rank = np.empty(len(traffic), dtype=np.float64)
    rank[traffic.arrival] = np.arange(len(traffic), dtype=np.float64)
    keep = ~drop
    columns = {name: [getattr(traffic, name)[keep]] for name in names}
    ranks = [rank[keep]]
    for events in added:
        for name in names:
            columns[name].append(events[name])
        ranks.append(np.full(len(events["start"]), np.nan))
    merged = {name: np.concatenate(parts) for name, parts in columns.items()}
    rank = np.concatenate(ranks)
    order = np.lexsort((np.isnan(rank), merged["service"], merged["start"], merged["subscriber"]))
    merged = {name: values[order] for name, values in merged.items()}
    rank = rank[order]
    # carry each original event's rank forward over the added ones after it, per subscriber
    filled = rank.copy()
    first_of_sub = np.r_[True, merged["subscriber"][1:] != merged["subscriber"][:-1]]
    known = ~np.isnan(filled)
    index = np.where(known | first_of_sub, np.arange(len(filled)), 0)
    np.maximum.accumulate(index, out=index)
    filled = filled[index]
    # an added event before any original one of its subscriber: just before the next original
    lead = np.isnan(filled)
    if lead.any():
        nxt = np.where(known, np.arange(len(rank)), len(rank))
        nxt = np.minimum.accumulate(nxt[::-1])[::-1]
        fallback = np.where(nxt < len(rank), rank[np.minimum(nxt, len(rank) - 1)] - 0.5, np.inf)
        filled[lead] = fallback[lead]
    arrival = np.lexsort((np.arange(len(filled)), filled))
    return Traffic(arrival=arrival, **merged)


def _truncated(traffic: Traffic, subs: Subscribers, cuts: Truncations,
               catalog: dict) -> tuple[Traffic, list[Decimal]]:
    """Data volumes cut on the truncated gateways, and per truncation the lost bytes priced at
    each subscriber's home per-MB price after discount (allowances aside, so an upper bound of
    the revenue the cut hides)."""
    if not len(cuts):
        return traffic, []
    plans = {str(p["id"]): p for p in catalog["plans"]}
    volume = traffic.volume_bytes.copy()
    amounts = []
    for k in range(len(cuts)):
        hit = np.flatnonzero((traffic.service == DATA) & (traffic.element == cuts.element[k])
                             & (traffic.start >= cuts.start[k]))
        cut = (volume[hit] * float(cuts.keep[k])).astype(np.int64)
        lost = volume[hit] - cut
        volume[hit] = cut
        amount = ZERO
        plan_of = subs.plan[traffic.subscriber[hit]]
        for p in np.unique(plan_of).tolist():
            plan = plans[PLAN_IDS[p]]
            price = Decimal(str(plan["data"]["per_mb"])) * (1 - Decimal(str(plan.get("overage_discount_percent", "0"))) / 100)
            for b in lost[plan_of == p].tolist():
                amount += round_half_up(price * b / BYTES_PER_MB)
        amounts.append(amount)
    return dataclasses.replace(traffic, volume_bytes=volume), amounts



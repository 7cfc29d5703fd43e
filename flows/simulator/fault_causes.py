"""Why record faults happen: causes an operator would recognise, with uniform noise on top.

Three causes are drawn per run (from a random stream of their own, so no other draw moves):
- `failing_feed`: one network element's mediation feed starts failing on a day in the first
  third of the period; billing drops its records (`unbilled`) and garbles their quantities
  (`usage_mismatch`) far more often from then on;
- `mispriced_tariff`: from a day in the first half, billing prices one destination class of
  one plan with a wrong unit price (always the same factor, below the right one: leakage);
- `late_roaming_partner`: one visited network delivers its records late; billing bills them
  hours later than the others and drops a large share of them (`unbilled`).
Every eligible record also carries a uniform `noise` weight. A record's chance of each kind is
proportional to the sum of its weights, scaled per chunk so that the expected count of every
kind stays `fault_rate` times its population (the simulator's contract before causes existed).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from flows.simulator.catalog import catalog_document
from flows.simulator.faults import RECORD_FAULTS
from flows.simulator.network import (
    DATA, ELEMENTS, EU_NETWORKS, REGION_WEIGHTS, REGIONS, SMS, VISITED_NETWORKS, VOICE,
    element_index)
from flows.simulator.population import PLAN_IDS, PLAN_SHARE

CAUSES = ("noise", "failing_feed", "mispriced_tariff", "late_roaming_partner")
NOISE, FEED, MISPRICED, PARTNER = range(len(CAUSES))
# How many noise-sized shares of a kind's faults each cause carries when it is active over
# its whole scope: the noise stays about a third of the faults, as an RA team finds most
# leakage to be systemic (a feed, a tariff table) and some of it to be scattered error.
FEED_UNBILLED_SHARE = 1.5
FEED_MISMATCH_SHARE = 2.0
MISPRICED_SHARE = 2.5
# The late partner's records are rare (one visited network), so its weight is fixed per record.
PARTNER_WEIGHT = 60.0
# No record is certain to be faulted, whatever the weights.
MAX_RECORD_PROBABILITY = 0.9
MISPRICE_FACTORS = (Decimal("0.5"), Decimal("0.8"))
# Bills of the late partner's records that do arrive come this much later (still inside the SLA).
PARTNER_EXTRA_DELAY_S = 10 * 3600
DAILY_EVENTS = np.array([4.0, 3.0, 10.0])       # traffic.DAILY_RATE: the service mix
CLASS_MIX = {VOICE: (0.35, 0.47, 0.03, 0.15), SMS: (0.45, 0.45, 0.02, 0.08)}
CLASSES = ("onnet", "national", "premium", "international")


@dataclass(frozen=True)
class FaultCauses:
    """The run's causes: which element, tariff and partner, and from when."""

    feed_element: int          # index into ELEMENTS
    feed_from: int             # epoch seconds
    mispriced_plan: int        # index into PLAN_IDS
    mispriced_class: int       # index into CLASSES
    mispriced_from: int
    misprice_factor: Decimal
    late_partner: int          # index into VISITED_NETWORKS
    feed_weight_unbilled: float
    feed_weight_mismatch: float
    mispriced_weight: float

    def cause_key(self, cause: int) -> str:
        """What an operator would look up for a cause: element, plan/class, visited network."""
        if cause == FEED:
            return ELEMENTS[self.feed_element]
        if cause == MISPRICED:
            return f"{PLAN_IDS[self.mispriced_plan]}/{CLASSES[self.mispriced_class]}"
        if cause == PARTNER:
            return VISITED_NETWORKS[self.late_partner]
        return ""


def fault_causes(seed: int, midnights: np.ndarray) -> FaultCauses:
    """The causes of run `seed` over the period whose local midnights are `midnights`."""
    rng = np.random.default_rng([seed, 23])
    days = len(midnights) - 1
    element = int(rng.integers(0, len(ELEMENTS)))
    feed_from = int(midnights[int(rng.integers(0, max(1, days // 3)))] + rng.integers(0, 24) * 3600)
    plan, cls = mispriceable_pairs()[int(rng.integers(0, len(mispriceable_pairs())))]
    mispriced_from = int(midnights[int(rng.integers(0, max(1, days // 2)))])
    factor = MISPRICE_FACTORS[int(rng.integers(0, len(MISPRICE_FACTORS)))]
    partner = int(rng.integers(0, len(EU_NETWORKS)))
    feed_share = element_share(element)
    pair_share = tariff_share(plan, cls)
    return FaultCauses(element, feed_from, plan, cls, mispriced_from, factor, partner,
                       FEED_UNBILLED_SHARE / feed_share, FEED_MISMATCH_SHARE / feed_share,
                       MISPRICED_SHARE / pair_share)


def mispriceable_pairs() -> list[tuple[int, int]]:
    """(plan, class) pairs whose usage is always charged (the class uses no allowance of the
    plan) and common enough to matter: national and international calls and messages."""
    plans = {str(p["id"]): p for p in catalog_document()["plans"]}
    return [(PLAN_IDS.index(plan_id), CLASSES.index(cls))
            for plan_id in PLAN_IDS for cls in ("national", "international")
            if cls not in plans[plan_id].get("allowance_classes", [])]


def element_share(element: int) -> float:
    """Expected share of all records that element `element` carries (region and service mix)."""
    regions = np.arange(REGIONS)
    weights = REGION_WEIGHTS / REGION_WEIGHTS.sum()
    share = 0.0
    for service in (VOICE, SMS, DATA):
        serving = element_index(regions, np.full(REGIONS, service))
        share += DAILY_EVENTS[service] / DAILY_EVENTS.sum() * float(weights[serving == element].sum())
    return share


def tariff_share(plan: int, cls: int) -> float:
    """Expected share of all records that are calls or messages of class `cls` on plan `plan`."""
    calls = sum(DAILY_EVENTS[s] / DAILY_EVENTS.sum() * CLASS_MIX[s][cls] for s in (VOICE, SMS))
    return float(calls * PLAN_SHARE[plan])


def destination_classes(destinations: np.ndarray) -> np.ndarray:
    """Index into CLASSES of each destination number by the catalog's longest prefix; -1 for
    no destination (data)."""
    found = np.full(len(destinations), -1, dtype=np.int8)
    for i, number in enumerate(destinations.tolist()):
        if not number:
            continue
        text = str(number)
        found[i] = (2 if text.startswith("4490") else 0 if text.startswith("4479")
                    else 1 if text.startswith("44") else 3)
    return found


def cause_weights(causes: FaultCauses, element: np.ndarray, start: np.ndarray, plan: np.ndarray,
                  dest_class: np.ndarray, visited: np.ndarray) -> dict[str, np.ndarray]:
    """Per record kind, an (n, len(CAUSES)) array of each cause's weight on each record."""
    n = len(start)
    feed = (element == causes.feed_element) & (start >= causes.feed_from)
    partner = visited == causes.late_partner
    mispriced = ((plan == causes.mispriced_plan) & (dest_class == causes.mispriced_class)
                 & (start >= causes.mispriced_from))
    weights = {}
    for kind in RECORD_FAULTS:
        w = np.zeros((n, len(CAUSES)))
        w[:, NOISE] = 1.0
        if kind == "unbilled":
            w[:, FEED] = feed * causes.feed_weight_unbilled
            w[:, PARTNER] = partner * PARTNER_WEIGHT
        elif kind == "usage_mismatch":
            w[:, FEED] = feed * causes.feed_weight_mismatch
        elif kind == "misrated":
            w[:, MISPRICED] = mispriced * causes.mispriced_weight
        weights[kind] = w
    return weights


def cause_thresholds(weights: dict[str, np.ndarray], eligible: dict[str, np.ndarray],
                     fault_rate: float) -> dict[str, np.ndarray]:
    """Per kind, an (n, len(CAUSES)) array of cumulative probabilities: a record's draw for
    the kind below column c's value (and not below column c-1's) is a fault of cause c.

    The kinds are tried in RECORD_FAULTS order, so a kind's population is the eligible
    records no earlier kind took. Each kind's scale is solved so that the expected faults over
    its expected population are `fault_rate` of it: a record reaches the kind with the
    product of (1 - p) over the earlier kinds it was eligible for."""
    n = len(next(iter(weights.values())))
    reach = np.ones(n)
    found = {}
    for kind in RECORD_FAULTS:
        w, can = weights[kind], eligible[kind]
        total = w.sum(axis=1)
        survival = np.where(can, reach, 0.0)
        scale = _scale(total, survival, fault_rate)
        p = np.minimum(MAX_RECORD_PROBABILITY, scale * total)
        parts = w * (p / np.where(total > 0, total, 1.0))[:, None]
        found[kind] = np.cumsum(parts, axis=1)
        reach = reach * np.where(can, 1.0 - p, 1.0)
    return found


def _scale(total: np.ndarray, survival: np.ndarray, fault_rate: float) -> float:
    """c with sum(survival * min(MAX, c * total)) = fault_rate * sum(survival), by bisection
    (the left side grows with c)."""
    expected = fault_rate * survival.sum()
    if expected <= 0:
        return 0.0
    lo, hi = 0.0, MAX_RECORD_PROBABILITY / max(float(total[survival > 0].min()), 1e-12)
    for _ in range(60):
        mid = (lo + hi) / 2
        if (survival * np.minimum(MAX_RECORD_PROBABILITY, mid * total)).sum() < expected:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def caused_record_fault(draws: list[float], thresholds: list[list[float]], can_misrate: bool,
                        can_mismatch: bool) -> tuple[str, list[str], int]:
    """As faults.record_fault, with per-record cumulative probabilities per kind (in
    RECORD_FAULTS order): the kind (or ""), the kinds considered, and the cause index."""
    eligible = (True, True, can_misrate, can_mismatch)
    considered = []
    for kind, draw, can, cumulative in zip(RECORD_FAULTS, draws, eligible, thresholds):
        if not can:
            continue
        considered.append(kind)
        if draw < cumulative[-1]:
            return kind, considered, next(c for c, bound in enumerate(cumulative) if draw < bound)
    return "", considered, NOISE


def chunk_thresholds(causes: FaultCauses, traffic, plan_of_subscriber: np.ndarray, known: np.ndarray,
                     gap: np.ndarray, fault_rate: float) -> list[list[list[float]]]:
    """For one chunk's traffic: per kind, per event, the cumulative cause probabilities
    (`cause_thresholds`), as lists for the simulator's per-record loop. `known`: per
    subscriber, billing knows it; `gap`: per event, the outage that swallowed it (or -1)."""
    quantity = np.where(traffic.service == VOICE, traffic.duration_s, traffic.volume_bytes)
    billable = known[traffic.subscriber] & (gap < 0)
    eligible = {"unbilled": billable, "duplicate_billing": billable,
                "misrated": billable & ((traffic.service == SMS) | (quantity > 0)),
                "usage_mismatch": billable & (traffic.service != SMS) & (quantity > 0)}
    weights = cause_weights(causes, traffic.element, traffic.start, plan_of_subscriber[traffic.subscriber],
                            destination_classes(traffic.destination), traffic.visited)
    thresholds = cause_thresholds(weights, eligible, fault_rate)
    return [thresholds[kind].tolist() for kind in RECORD_FAULTS]


def is_late_partner(causes: FaultCauses, visited: int) -> bool:
    return visited == causes.late_partner


def mispriced_charge(correct: Decimal, factor: Decimal) -> Decimal:
    """The bill of a record of the mispriced tariff: the right charge times the wrong factor,
    a cent over (as faults.misrated_charge) when that rounds to within one micro-unit of the right one."""
    billed = (correct * factor).quantize(Decimal("0.000001"), rounding="ROUND_HALF_UP")
    return billed if abs(billed - correct) > Decimal("0.000001") else correct + Decimal("0.01")

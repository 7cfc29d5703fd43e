"""The subscriber base, generated a chunk of subscribers at a time with numpy.

Who joins and who leaves during the period, how active each one is (heavy-tailed), their
plan, billing cycle day, opening prepaid balance and where they live on the network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.simulator.network import REGION_WEIGHTS, REGIONS

PLAN_IDS = ("SMART10", "BIZ30", "BASIC", "PAYG", "PREPAID5")
PLAN_SHARE = np.array([0.30, 0.08, 0.17, 0.25, 0.20])
PREPAID_PLANS = np.array([False, False, False, True, True])
# Activity multiplier per plan: business lines talk more, prepaid lines less.
PLAN_ACTIVITY = np.array([1.0, 1.6, 0.8, 0.7, 0.8])
SEGMENTS = ("consumer", "youth", "senior", "business")
STATUSES = ("active", "suspended", "terminated")
ACTIVE, SUSPENDED, TERMINATED = 0, 1, 2

DAY = 86400
JOIN_HAZARD_PER_DAY = 0.003
CHURN_HAZARD_PER_DAY = 0.004
SUSPENDED_SHARE = 0.015
DORMANT_SHARE = 0.03
NEVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Subscribers:
    """A chunk of subscribers as parallel arrays (one element per subscriber)."""

    index: np.ndarray          # position in the whole base, int64
    msisdn: np.ndarray         # int64, digits of the E.164 number
    imsi: np.ndarray           # int64
    plan: np.ndarray           # index into PLAN_IDS
    prepaid: np.ndarray        # bool
    segment: np.ndarray        # index into SEGMENTS
    status: np.ndarray         # index into STATUSES, as at the end of the period
    activated_at: np.ndarray   # epoch seconds
    provisioned_at: np.ndarray
    terminated_at: np.ndarray  # epoch seconds, NEVER when staying
    cycle_day: np.ndarray      # 1..28
    balance_cents: np.ndarray  # prepaid opening balance, tax inclusive
    credit_limit: np.ndarray   # postpaid, whole currency units
    activity: np.ndarray       # float, expected-usage multiplier (0 = dormant)
    region: np.ndarray         # serving region, see network.element_index
    cell_base: np.ndarray      # home cell identity

    def __len__(self) -> int:
        return len(self.index)


def msisdn_of(index: np.ndarray) -> np.ndarray:
    """Distinct own-range numbers 4479xxxxxxxx: an affine map mod 10^8 is a permutation."""
    return 447900000000 + (index * 48271 + 13579) % 100_000_000


def subscribers_chunk(rng: np.random.Generator, first: int, count: int,
                      period_start: int, period_end: int) -> Subscribers:
    """Subscribers `first .. first+count-1` of the base, as the period leaves them."""
    index = np.arange(first, first + count, dtype=np.int64)
    days = (period_end - period_start) / DAY
    plan = rng.choice(len(PLAN_IDS), size=count, p=PLAN_SHARE).astype(np.int8)
    prepaid = PREPAID_PLANS[plan]
    segment = np.where(PLAN_IDS.index("BIZ30") == plan, 3,
                       rng.choice(3, size=count, p=[0.7, 0.18, 0.12])).astype(np.int8)

    tenure_days = rng.uniform(20, 2500, size=count)
    activated_at = (period_start - tenure_days * DAY).astype(np.int64)
    joins = rng.random(count) < 1 - (1 - JOIN_HAZARD_PER_DAY) ** days
    activated_at[joins] = rng.integers(period_start, period_end, size=int(joins.sum()))
    provisioned_at = activated_at - rng.integers(60, 3 * DAY, size=count)

    hazard = CHURN_HAZARD_PER_DAY * np.where(prepaid, 1.5, 1.0)
    leaves = (~joins) & (rng.random(count) < 1 - (1 - hazard) ** days)
    terminated_at = np.full(count, NEVER, dtype=np.int64)
    terminated_at[leaves] = rng.integers(period_start + DAY // 2, period_end, size=int(leaves.sum()))

    status = np.where(leaves, TERMINATED, ACTIVE).astype(np.int8)
    suspended = (~leaves) & (~joins) & (rng.random(count) < SUSPENDED_SHARE)
    status[suspended] = SUSPENDED

    activity = rng.lognormal(0.0, 0.9, size=count) * PLAN_ACTIVITY[plan]
    activity[rng.random(count) < DORMANT_SHARE] = 0.0
    activity[suspended] = 0.0

    balance_cents = np.where(
        prepaid,
        np.where(rng.random(count) < 0.1, rng.integers(0, 100, size=count),
                 (rng.lognormal(np.log(600), 0.8, size=count)).astype(np.int64)),
        0).astype(np.int64)
    credit_limit = np.where(prepaid, 0, rng.choice([50, 100, 200, 500], size=count,
                                                    p=[0.3, 0.4, 0.2, 0.1])).astype(np.int64)
    credit_limit[segment == 3] *= 4

    region = rng.choice(REGIONS, size=count, p=REGION_WEIGHTS / REGION_WEIGHTS.sum()).astype(np.int16)
    return Subscribers(
        index=index, msisdn=msisdn_of(index),
        imsi=234150000000000 + (index * 7919 + 271) % 10_000_000_000,
        plan=plan, prepaid=prepaid, segment=segment, status=status,
        activated_at=activated_at, provisioned_at=provisioned_at, terminated_at=terminated_at,
        cycle_day=rng.integers(1, 29, size=count).astype(np.int8),
        balance_cents=balance_cents, credit_limit=credit_limit, activity=activity,
        region=region, cell_base=rng.integers(1, 60000, size=count),
    )

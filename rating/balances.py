"""Prepaid balances and postpaid cycle totals (SPEC rules 7 and 8), vectorised.

Prepaid, per subscriber in processing order: the balance (tax inclusive) is debited each
rated record's ``total`` and credited each adjustment's ``amount``. It never goes below 0:
the clamped running balance is the Lindley recursion ``b_k = S_k - min(0, min_{j<=k} S_j)``
with ``S`` the running sum from the opening balance. The part of a debit the balance could
not cover is ``unfunded``. A debit with ``unfunded > 0`` blocks the subscriber; while
blocked the balance is 0, so later usage is unfunded in full; an adjustment with
``amount > 0`` unblocks. A negative adjustment lowers the balance (not below 0) without
blocking. Alerts: ``prepaid_cutoff`` when a debit blocks a subscriber that was not blocked;
``low_balance`` when an event takes the balance from ``>= threshold`` to ``< threshold``
(threshold > 0; the same record may raise both).

Postpaid, per subscriber and billing cycle: the cycle-to-date sum of ``total``;
``credit_warning`` at the first record where it reaches 80 % of ``credit_limit``
(``5 x total >= 4 x limit``), ``credit_limit_reached`` where it reaches 100 %, each once
per cycle (one record may raise both). No credit limit (empty or 0): no alerts.
Adjustments do not change postpaid totals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rating.grouped import carried, cumsum_before, previous, running_min


@dataclass(frozen=True)
class PrepaidLedger:
    balance_before: np.ndarray
    balance_after: np.ndarray
    unfunded: np.ndarray
    blocked_before: np.ndarray
    blocked_after: np.ndarray
    cutoff: np.ndarray  # bool: raises prepaid_cutoff
    low_balance: np.ndarray  # bool: raises low_balance


def prepaid_ledger(
    first: np.ndarray,
    opening: np.ndarray,
    opening_blocked: np.ndarray,
    debit: np.ndarray,
    credit: np.ndarray,
    is_usage: np.ndarray,
    threshold: int,
) -> PrepaidLedger:
    """Balances of events sorted by subscriber then processing order.

    ``opening``/``opening_blocked`` are given per event (the subscriber's state before the
    batch); ``debit`` is a usage total, ``credit`` an adjustment amount (either may be 0).
    """
    delta = np.asarray(credit, dtype=np.int64) - np.asarray(debit, dtype=np.int64)
    n = delta.shape[0]
    inclusive = np.cumsum(delta)
    start_idx = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    before_group = (inclusive - delta)[start_idx] if n else inclusive
    running = opening + inclusive - before_group
    floor = np.minimum(running_min(running, first), 0)
    after = running - floor
    before = previous(after, first, opening)
    unfunded = np.where(is_usage, after - before + debit, 0)
    blocks = is_usage & (unfunded > 0)
    unblocks = ~is_usage & (credit > 0)
    blocked_after = carried(blocks, blocks | unblocks, first, opening_blocked)
    blocked_before = previous(blocked_after, first, opening_blocked)
    cutoff = blocks & ~blocked_before
    low = (before >= threshold) & (after < threshold) if threshold > 0 else np.zeros(n, dtype=bool)
    return PrepaidLedger(before, after, unfunded, blocked_before, blocked_after, cutoff, low)


@dataclass(frozen=True)
class PostpaidTotals:
    cycle_total: np.ndarray
    warning: np.ndarray
    limit_reached: np.ndarray


def postpaid_totals(
    first: np.ndarray,
    opening_total: np.ndarray,
    opening_flags: np.ndarray,
    total: np.ndarray,
    credit_limit: np.ndarray,
) -> PostpaidTotals:
    """Cycle-to-date totals of records sorted by (subscriber, cycle) then processing order.

    ``opening_flags`` bit 0: warning already raised this cycle; bit 1: limit reached raised.
    """

    total = np.asarray(total, dtype=np.int64)
    cum = opening_total + cumsum_before(total, first) + total
    has_limit = credit_limit > 0
    at_warning = has_limit & (cum * 5 >= credit_limit * 4)
    at_limit = has_limit & (cum >= credit_limit)
    warning = at_warning & (cumsum_before(at_warning, first) == 0) & ((opening_flags & 1) == 0)
    reached = at_limit & (cumsum_before(at_limit, first) == 0) & ((opening_flags & 2) == 0)
    return PostpaidTotals(cum, warning, reached)

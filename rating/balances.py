"""Prepaid balances and postpaid cycle totals (SPEC rules 7 and 8), over columnar events.

Prepaid, per subscriber in processing order: the balance (tax inclusive) is debited each
rated record's ``total`` and credited each adjustment's ``amount``. It never goes below 0:
``b_k = max(b_(k-1) + credit_k - debit_k, 0)`` from the opening balance. The part of a
debit the balance could not cover is ``unfunded``. A debit with ``unfunded > 0`` blocks the
subscriber; while blocked the balance is 0, so later usage is unfunded in full; an
adjustment with ``amount > 0`` unblocks. A negative adjustment lowers the balance (not below 0) without
blocking. Alerts: ``prepaid_cutoff`` when a debit blocks a subscriber that was not blocked;
``low_balance`` when an event takes the balance from ``>= threshold`` to ``< threshold``
(threshold > 0; the same record may raise both).

Postpaid, per subscriber and billing cycle: the cycle-to-date sum of ``total``;
``credit_warning`` at the first record where it reaches 80 % of ``credit_limit``
(``5 x total >= 4 x limit``), ``credit_limit_reached`` where it reaches 100 %, each once
per cycle (one record may raise both). No credit limit (empty or 0): no alerts.
Adjustments do not change postpaid totals.

Both are one compiled pass over the events in order: as numpy expressions (running sums,
minima and carries reset at group starts) they were some forty array operations per batch,
each a release and a retaking of the GIL that the other workers' threads wait on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


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
    batch; read at each subscriber's first event); ``debit`` is a usage total, ``credit`` an
    adjustment amount (either may be 0).
    """
    return PrepaidLedger(*_prepaid(
        np.asarray(first, dtype=np.bool_), np.asarray(opening, dtype=np.int64),
        np.asarray(opening_blocked, dtype=np.bool_), np.asarray(debit, dtype=np.int64),
        np.asarray(credit, dtype=np.int64), np.asarray(is_usage, dtype=np.bool_), np.int64(threshold),
    ))


@numba.njit(cache=True, nogil=True)
def _prepaid(first, opening, opening_blocked, debit, credit, is_usage, threshold):
    n = first.shape[0]
    before, after, unfunded = np.empty(n, np.int64), np.empty(n, np.int64), np.zeros(n, np.int64)
    blocked_before, blocked_after = np.empty(n, np.bool_), np.empty(n, np.bool_)
    cutoff, low = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    balance, blocked = np.int64(0), False
    for k in range(n):
        if first[k]:
            balance, blocked = opening[k], opening_blocked[k]
        before[k], blocked_before[k] = balance, blocked
        balance = max(balance + credit[k] - debit[k], 0)
        if is_usage[k]:
            unfunded[k] = balance - before[k] + debit[k]
            if unfunded[k] > 0:
                cutoff[k] = not blocked
                blocked = True
        elif credit[k] > 0:
            blocked = False
        after[k], blocked_after[k] = balance, blocked
        low[k] = threshold > 0 and before[k] >= threshold and balance < threshold
    return before, after, unfunded, blocked_before, blocked_after, cutoff, low


@dataclass(frozen=True)
class PostpaidTotals:
    cycle_total: np.ndarray
    warning: np.ndarray
    limit_reached: np.ndarray
    raised: np.ndarray  # alerts raised this cycle so far, this record's included: bit 0 warning, bit 1 limit


def postpaid_totals(
    first: np.ndarray,
    opening_total: np.ndarray,
    opening_flags: np.ndarray,
    total: np.ndarray,
    credit_limit: np.ndarray,
) -> PostpaidTotals:
    """Cycle-to-date totals of records sorted by (subscriber, cycle) then processing order.

    ``opening_total``/``opening_flags`` are given per record (read at each group's first):
    ``opening_flags`` bit 0: warning already raised this cycle; bit 1: limit reached raised.
    """
    return PostpaidTotals(*_postpaid(
        np.asarray(first, dtype=np.bool_), np.asarray(opening_total, dtype=np.int64),
        np.asarray(opening_flags, dtype=np.int64), np.asarray(total, dtype=np.int64),
        np.asarray(credit_limit, dtype=np.int64),
    ))


@numba.njit(cache=True, nogil=True)
def _postpaid(first, opening_total, opening_flags, total, credit_limit):
    n = first.shape[0]
    cum, raised = np.empty(n, np.int64), np.empty(n, np.int64)
    warning, reached = np.zeros(n, np.bool_), np.zeros(n, np.bool_)
    running, flags, at_warning_before, at_limit_before = np.int64(0), np.int64(0), False, False
    for k in range(n):
        if first[k]:
            running, flags, at_warning_before, at_limit_before = opening_total[k], opening_flags[k], False, False
        running += total[k]
        cum[k] = running
        has_limit = credit_limit[k] > 0
        at_warning = has_limit and running * 5 >= credit_limit[k] * 4
        at_limit = has_limit and running >= credit_limit[k]
        # Once per cycle: the first record at the level, unless an earlier batch raised it.
        warning[k] = at_warning and not at_warning_before and (opening_flags[k] & 1) == 0
        reached[k] = at_limit and not at_limit_before and (opening_flags[k] & 2) == 0
        at_warning_before |= at_warning
        at_limit_before |= at_limit
        flags |= np.int64(warning[k]) | (np.int64(reached[k]) << 1)
        raised[k] = flags
    return cum, warning, reached, raised


def warm_up() -> None:
    """Loads (or on a first run compiles) the ledgers before the first batch needs them."""
    one = np.ones(1, dtype=np.bool_)
    prepaid_ledger(one, np.zeros(1, np.int64), ~one, np.zeros(1, np.int64), np.zeros(1, np.int64), one, 0)
    postpaid_totals(one, np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64))

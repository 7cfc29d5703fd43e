"""The faults the simulator injects (SPEC section 4) and how each one alters the billing.

Every kind is injected at `fault_rate` of its own population:
- record kinds (`unbilled`, `duplicate_billing`, `misrated`, `usage_mismatch`) per network
  record of a subscriber billing knows; a record carries at most one of them, so they are
  tried in that order and each kind's population is the eligible records no earlier kind
  took (`misrated` and `usage_mismatch` need a non-zero quantity to get wrong);
- `phantom_billing` per such network record (an invented billed record after it);
- `unfunded_usage` per prepaid usage attempt the online charging would have refused;
- `ghost_subscriber` per subscriber active in billing, `unbilled_subscriber` per active
  subscriber with usage;
- `element_gap` per element-day on which an outage could be seen (`element_outages`).
"""
from __future__ import annotations

from decimal import Decimal


from flows.simulator.reference_rater import MICRO, round_half_up

RECORD_FAULTS = ("unbilled", "duplicate_billing", "misrated", "usage_mismatch")
FAULT_KINDS = ("unbilled", "duplicate_billing", "phantom_billing", "misrated", "usage_mismatch",
               "unbilled_subscriber", "ghost_subscriber", "unfunded_usage", "element_gap")
WRONG_PRICE_FACTORS = (Decimal("0.5"), Decimal("0.8"), Decimal("1.25"), Decimal("2"))
CENT = Decimal("0.01")


def record_fault(draws: list[float], fault_rate: float, can_misrate: bool,
                 can_mismatch: bool) -> tuple[str, list[str]]:
    """The record kind drawn for one record (or ""), and the kinds it was eligible for.

    `can_misrate`: the record has billable units; `can_mismatch`: it is a call or a data
    session with a non-zero duration or volume."""
    eligible = {"unbilled": True, "duplicate_billing": True, "misrated": can_misrate,
                "usage_mismatch": can_mismatch}
    considered = []
    for kind, draw in zip(RECORD_FAULTS, draws):
        if not eligible[kind]:
            continue
        considered.append(kind)
        if draw < fault_rate:
            return kind, considered
    return "", considered


def misrated_charge(correct: Decimal, unpriced_allowance: Decimal, discount_percent: Decimal,
                    method_draw: float, factor_draw: float) -> Decimal:
    """A wrong charge for a record whose correct charge is `correct`.

    Free usage gets billed as if the allowance were not applied (`unpriced_allowance`);
    charged usage gets a wrong unit price, or loses the plan's discount. The result always
    differs by more than one micro-unit."""
    if correct == 0:
        billed = unpriced_allowance
    elif method_draw < 0.5 and discount_percent > 0:
        billed = round_half_up(correct / (1 - discount_percent / 100))
    else:
        billed = round_half_up(correct * WRONG_PRICE_FACTORS[int(factor_draw * 4) % 4])
    # a wrong charge within one micro-unit of the right one is no misrating anyone could see
    return billed if abs(billed - correct) > MICRO else correct + CENT


def altered_quantity(quantity: int, is_voice: bool, direction_draw: float, size_draw: float) -> int:
    """A billed duration or volume that differs from the network's `quantity` (> 0)."""
    if is_voice:
        if direction_draw < 0.6:  # truncated call
            altered = quantity - max(1, int(quantity * 0.5 * size_draw))
        else:  # padded call
            altered = quantity + 1 + int(60 * size_draw)
    else:
        if direction_draw < 0.7:  # lost part of a session
            altered = int(quantity * (0.5 + 0.45 * size_draw))
        else:  # double-counted part
            altered = quantity + 1 + int(quantity * 0.3 * size_draw)
    altered = max(altered, 0)
    return altered if altered != quantity else quantity + 1


def unfunded_amount(unfunded: Decimal, charge: Decimal, total: Decimal) -> Decimal:
    """The ex-tax share of an uncovered total."""
    return round_half_up(unfunded * charge / total)

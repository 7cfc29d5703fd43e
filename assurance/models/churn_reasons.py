"""Why a subscriber scores high: the top three drivers, in words a marketer reads.

Attribution by substitution, one feature at a time: for each feature, the subscriber's value
is replaced by the typical value of the scored base (median for numbers, the most common
category), and the change in the model's log-odds is that feature's contribution. It asks
"how much less likely to leave would this subscriber look if only this were ordinary?",
needs nothing but the fitted model (no library beyond scikit-learn), and ranks the drivers
of each subscriber by the same scale. It ignores interactions between features (two drivers
that only matter together each get part of the credit), which is why reasons are worded as
observations ("data use down 62 % over 28 days"), not as a decomposition that sums up.
Only drivers that raise the probability are named, and a missing value only when it means
something ("no top-up on record"), not when the feature does not apply to the line.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

REASONS = 3


def _pct(value: float) -> str:
    return f"{abs(value) * 100:.0f} %"


def _trend(noun: str) -> Callable[[float, str], str]:
    def words(value: float, currency: str) -> str:
        return f"{noun} {'down' if value < 0 else 'up'} {_pct(value)} over 28 days"
    return words


def _money(template: str) -> Callable[[float, str], str]:
    return lambda value, currency: template.format(f"{value:,.2f} {currency}")


PHRASES: dict[str, Callable[[float, str], str]] = {
    "voice_change": _trend("call time"),
    "sms_change": _trend("texts"),
    "data_change": _trend("data use"),
    "events_change": _trend("usage"),
    "events_14_change": lambda v, c: f"usage {'down' if v < 0 else 'up'} {_pct(v)} in the last two weeks",
    "voice_min_28": lambda v, c: f"{v:,.0f} call minutes in 28 days",
    "sms_28": lambda v, c: f"{v:,.0f} texts in 28 days",
    "data_mb_28": lambda v, c: f"{v:,.0f} MB of data in 28 days",
    "active_days_28": lambda v, c: f"active on {v:.0f} of the last 28 days",
    "active_days_change": lambda v, c: f"active on {abs(v):.0f} {'fewer' if v < 0 else 'more'} days than the 28 before",
    "contacts_28": lambda v, c: f"in touch with {v:.0f} numbers in 28 days",
    "contacts_change": lambda v, c: f"{_pct(v)} {'fewer' if v < 0 else 'more'} numbers called or texted",
    "days_since_use": lambda v, c: f"no usage for {v:.0f} days" if v >= 1 else "used the line today",
    "days_since_topup": lambda v, c: f"no top-up for {v:.0f} days",
    "topups_56": lambda v, c: f"{v:.0f} top-ups in 8 weeks",
    "topup_amount_56": _money("topped up {} in 8 weeks"),
    "last_topup_amount": _money("last top-up {}"),
    "balance": _money("prepaid balance {}"),
    "charges_28": _money("{} of charges in 28 days"),
    "charge_change": lambda v, c: f"bill {'down' if v < 0 else 'up'} {_pct(v)} on the 28 days before",
    "charges_share_of_limit": lambda v, c: f"charges at {v * 100:.0f} % of the credit limit",
    "world_roaming_days_56": lambda v, c: f"{v:.0f} days roaming outside the EU",
    "world_charges_56": _money("{} of roaming charges outside the EU"),
    "tenure_days": lambda v, c: f"customer for only {v:.0f} days" if v < 365 else f"customer for {v / 365:.1f} years",
    "findings_56": lambda v, c: f"{v:.0f} billing problems found on the line in 8 weeks",
}
MISSING: dict[str, str] = {
    "days_since_topup": "no top-up on record",
    "days_since_use": "no usage on record",
    "voice_change": "no calls in the 28 days before",
    "data_change": "no data use in the 28 days before",
    "sms_change": "no texts in the 28 days before",
    "events_change": "no usage in the 28 days before",
    "events_14_change": "no usage in the two weeks before the last two",
    "contacts_change": "nobody called or texted in the 28 days before",
    "charge_change": "no charges in the 28 days before",
}
CATEGORY_PHRASES = {"plan_id": "on the {} plan", "segment": "{} segment", "payment": "a {} line"}


def typical_values(X: pd.DataFrame) -> dict[str, object]:
    """The reference each feature is replaced by: median of numbers, most common category."""
    typical: dict[str, object] = {}
    for name in X.columns:
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            typical[name] = column.mode(dropna=True).iloc[0] if column.notna().any() else column.iloc[0]
        else:
            median = column.median()
            typical[name] = float(median) if not math.isnan(median) else np.nan
    return typical


def contributions(probability: Callable[[pd.DataFrame], np.ndarray], X: pd.DataFrame,
                  typical: dict[str, object] | None = None) -> pd.DataFrame:
    """Per subscriber and feature: log-odds now minus log-odds with that feature typical."""
    typical = typical if typical is not None else typical_values(X)
    base = _logit(probability(X))
    found = {}
    for name in X.columns:
        replaced = X.copy()
        if isinstance(X[name].dtype, pd.CategoricalDtype):
            replaced[name] = pd.Categorical([typical[name]] * len(X), categories=X[name].cat.categories)
        else:
            replaced[name] = typical[name]
        change = base - _logit(probability(replaced))
        if name not in MISSING and not isinstance(X[name].dtype, pd.CategoricalDtype):
            # a missing value that only means "does not apply" (a balance on a postpaid line)
            # is no reason to leave: only the missing values with a meaning of their own count
            change = np.where(X[name].isna().to_numpy(), 0.0, change)
        found[name] = change
    return pd.DataFrame(found, index=X.index)


def reasons(X: pd.DataFrame, contribution: pd.DataFrame, currency: str = "EUR", count: int = REASONS) -> list[list[str]]:
    """The `count` largest positive contributions of each row, as phrases."""
    values = contribution.to_numpy()
    names = list(contribution.columns)
    found: list[list[str]] = []
    for row in range(len(X)):
        order = np.argsort(-values[row], kind="stable")
        words = []
        for column in order[:count]:
            if values[row, column] <= 1e-9:
                break
            words.append(phrase(names[column], X.iloc[row][names[column]], currency))
        found.append(words)
    return found


def phrase(name: str, value: object, currency: str = "EUR") -> str:
    """One feature's value in words."""
    if name in CATEGORY_PHRASES:
        return CATEGORY_PHRASES[name].format(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING.get(name, f"no {name.replace('_', ' ')} on record")
    return PHRASES[name](float(value), currency)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))

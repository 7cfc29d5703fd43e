"""msisdn masking: masked everywhere by default, unmasked only by an explicit switch that the
operator can take away (`REVGUARD_DASHBOARD_UNMASK=disabled`)."""
from __future__ import annotations

import os
import re

import pandas as pd

UNMASK_ENV = "REVGUARD_DASHBOARD_UNMASK"
MASK = "••••"


def unmask_allowed() -> bool:
    """False when the operator disabled unmasking in the app's environment."""
    return os.environ.get(UNMASK_ENV, "allowed").strip().lower() not in {"disabled", "off", "false", "0", "no"}


def masked(msisdn: str) -> str:
    """`447912345678` -> `4479••••5678`: country and range prefix, last four digits."""
    text = str(msisdn or "")
    if len(text) <= 8:
        return text[:2] + MASK if len(text) > 2 else MASK if text else ""
    return f"{text[:4]}{MASK}{text[-4:]}"


# A number inside free text (a reject's raw line): E.164 digits, 10 to 15 of them, standing alone.
_NUMBER_IN_TEXT = re.compile(r"(?<!\d)\d{10,15}(?!\d)")


def masked_text(text: str) -> str:
    """Free text with every msisdn-like number in it masked."""
    return _NUMBER_IN_TEXT.sub(lambda match: masked(match.group(0)), str(text or ""))


def shown_msisdns(frame: pd.DataFrame, unmasked: bool, columns: tuple[str, ...] = ("msisdn",),
                  texts: tuple[str, ...] = ("raw",)) -> pd.DataFrame:
    """The frame as the analyst may see it: msisdn columns, and numbers inside free-text columns,
    masked unless unmasking is on and allowed."""
    if unmasked and unmask_allowed():
        return frame
    shown = frame.copy()
    for column in columns:
        if column in shown.columns:
            shown[column] = shown[column].map(masked)
    for column in texts:
        if column in shown.columns:
            shown[column] = shown[column].map(masked_text)
    return shown

"""Anomaly detection measured against the simulator's ground truth, event by event.

A found event matches a truth event of its kind when the keys agree (`msisdn` for
`usage_spike` and `sim_box`, `element_id` for `volume_truncation`) and the windows overlap
(half-open windows: touching ends do not overlap). Precision is the share of found events
matching some truth event, recall the share of truth events matched. Money: `injected` sums
the truth amounts, `estimated` the amounts of the found events that match. For
`volume_truncation` the delay is found start minus true start of each matched pair.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from assurance.models.anomalies import KINDS, Anomaly

_KEY = {"usage_spike": "msisdn", "sim_box": "msisdn", "volume_truncation": "element_id"}


@dataclass(frozen=True)
class EventScore:
    kind: str
    found: int
    injected: int
    found_matched: int
    injected_matched: int
    money_injected: Decimal
    money_estimated: Decimal
    delays_s: tuple[float, ...] = ()

    @property
    def precision(self) -> float | None:
        return self.found_matched / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.injected_matched / self.injected if self.injected else None


def score_events(found: Iterable[Anomaly], truth: Iterable[Mapping[str, Any]]) -> dict[str, EventScore]:
    """Per anomaly kind: how the found events match the truth lines of that kind."""
    found = list(found)
    truth = [t for t in truth if t.get("kind") in _KEY]
    return {kind: _score(kind, [f for f in found if f.kind == kind], [t for t in truth if t["kind"] == kind])
            for kind in KINDS}


def _score(kind: str, found: list[Anomaly], true: list[Mapping[str, Any]]) -> EventScore:
    key = _KEY[kind]
    windows = [(str(t.get(key, "")), _time(t["window_start"]), _time(t["window_end"])) for t in true]
    pairs = [(fi, ti) for fi, f in enumerate(found) for ti, (k, start, end) in enumerate(windows)
             if getattr(f, key) == k and f.window_start < end and start < f.window_end]
    matched_found = {fi for fi, _ in pairs}
    matched_true = {ti for _, ti in pairs}
    first_pair = {}
    for fi, ti in pairs:
        first_pair.setdefault(ti, fi)
    delays = tuple((found[fi].window_start - windows[ti][1]).total_seconds() for ti, fi in sorted(first_pair.items()))
    return EventScore(
        kind=kind, found=len(found), injected=len(true), found_matched=len(matched_found),
        injected_matched=len(matched_true),
        money_injected=sum((Decimal(str(t.get("amount") or 0)) for t in true), Decimal(0)),
        money_estimated=sum((found[fi].amount for fi in matched_found), Decimal(0)),
        delays_s=delays if kind == "volume_truncation" else ())


def _time(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo is None else moment.astimezone(timezone.utc).replace(tzinfo=None)

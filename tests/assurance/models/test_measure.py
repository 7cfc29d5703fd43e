"""Event-level matching of found anomalies against truth lines: keys agree, windows overlap."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from assurance.models.anomalies import Anomaly
from assurance.models.measure import score_events


def found(kind: str, start: int, end: int, msisdn: str = "", element: str = "", amount: str = "1") -> Anomaly:
    return Anomaly(kind, msisdn, element, datetime(2026, 11, 2, start), datetime(2026, 11, 2, end),
                   1.0, 0.0, 0.0, Decimal(amount), {})


def truth(kind: str, start: int, end: int, amount: str, **keys: str) -> dict:
    return {"kind": kind, "window_start": f"2026-11-02T{start:02d}:00:00Z",
            "window_end": f"2026-11-02T{end:02d}:00:00Z", "amount": amount, **keys}


def test_overlapping_window_same_key_matches_and_touching_window_does_not():
    t = [truth("usage_spike", 10, 13, "30", msisdn="a"), truth("usage_spike", 10, 12, "5", msisdn="b")]
    f = [found("usage_spike", 12, 14, msisdn="a", amount="25"),   # overlaps a's 12:00-13:00
         found("usage_spike", 12, 13, msisdn="b"),                # touches b's end: no overlap
         found("usage_spike", 10, 12, msisdn="c")]                # no such truth key
    s = score_events(f, t)["usage_spike"]
    assert (s.found, s.found_matched, s.injected, s.injected_matched) == (3, 1, 2, 1)
    assert (s.money_injected, s.money_estimated) == (Decimal("35"), Decimal("25"))


def test_truncation_keys_on_element_and_reports_the_delay():
    t = [truth("volume_truncation", 8, 23, "100", element_id="pgw-01")]
    f = [found("volume_truncation", 9, 23, element="pgw-01"), found("volume_truncation", 9, 23, element="pgw-02")]
    s = score_events(f, t)["volume_truncation"]
    assert (s.precision, s.recall, s.delays_s) == (0.5, 1.0, (3600.0,))


def test_other_kinds_in_truth_are_ignored():
    s = score_events([], [{"kind": "unbilled", "record_id": "r1", "amount": "1"}])
    assert all(v.injected == 0 and v.found == 0 for v in s.values())

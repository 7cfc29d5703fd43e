"""The demo's finance step reads daily billed revenue from a bill file, exactly, in local days."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from forecasting.month_close import billed_history


def test_bills_are_summed_exactly_per_local_day_and_service(tmp_path: Path) -> None:
    bills = [("2026-11-01T10:00:00Z", "voice", "0.100000"), ("2026-11-01T23:30:00Z", "voice", "0.200000"),
             ("2026-11-01T12:00:00Z", "data", "1.000001"), ("2026-11-02T22:59:00Z", "voice", "0.050000"),
             ("2026-11-03T23:01:00Z", "sms", "0.070000")]
    path = tmp_path / "billed.ndjson"
    path.write_text("".join(json.dumps({"start_time": t, "service": s, "charge": c}) + "\n" for t, s, c in bills))
    # Athens is UTC+2 in November: 23:30Z and 22:59Z fall on the next local day, 23:01Z too.
    history = billed_history(path, "Europe/Athens")
    assert [d.strftime("%m-%d") for d in history.days] == ["11-01", "11-02", "11-03", "11-04"]
    assert history.exact["service=voice"] == [Decimal("0.1"), Decimal("0.2"), Decimal("0.05"), Decimal(0)]
    assert history.exact["service=data"] == [Decimal("1.000001"), Decimal(0), Decimal(0), Decimal(0)]
    assert history.exact["service=sms"] == [Decimal(0), Decimal(0), Decimal(0), Decimal("0.07")]
    assert history.total[0] == Decimal("1.100001")

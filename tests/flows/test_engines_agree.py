"""Two independent implementations of SPEC section 3 check each other.

The vectorised engine (`rating/`, run through the whole `revguard rate` dataflow) and the
simulator's plain per-record reference rater (`flows/simulator/reference_rater.py`, Decimal,
one record at a time, sharing no code with `rating/`) must agree to the micro-unit on every
record of simulated streams covering every plan of the catalog.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.rate_file import rate_file
from flows.simulator import simulate
from flows.simulator.reference_rater import ReferenceRater, rate_stream, read_subscribers

COMPARED = ("status", "plan_id", "dest_class", "roaming_zone", "offpeak", "billable_units",
            "allowance_units", "charged_units", "charge", "tax", "total", "unfunded", "balance_after")
MONEY = {"charge", "tax", "total", "unfunded", "balance_after"}


def reference_ratings(directory: Path) -> list[dict]:
    catalog = yaml.safe_load((directory / "catalog.yaml").read_text())
    rater = ReferenceRater(catalog, read_subscribers(directory / "subscribers.csv"))
    records = [json.loads(line) for line in (directory / "network.ndjson").read_text().splitlines()]
    adjustments = [json.loads(line) for line in (directory / "adjustments.ndjson").read_text().splitlines()]
    return [rating._asdict() for rating in rate_stream(rater, records, adjustments)]


def comparable(row: dict) -> dict:
    out = {}
    for name in COMPARED:
        value = row.get(name)
        if name in MONEY and value is not None:
            value = Decimal(str(value))
        out[name] = None if value == "" else value
    return out


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10_000), fault_rate=st.sampled_from([0.0, 0.02, 0.1]),
       start=st.sampled_from([dt.date(2026, 3, 27), dt.date(2026, 10, 23), dt.date(2026, 11, 1)]))
def test_engine_and_reference_rater_agree_to_the_micro_unit(tmp_path_factory, seed: int, fault_rate: float,
                                                           start: dt.date) -> None:
    # Starts around the DST changes (29 March, 25 October 2026) put cycles and off-peak
    # bands across a clock change.
    directory = tmp_path_factory.mktemp("sim")
    simulate(directory, subscribers=80, days=3, seed=seed, start=start, fault_rate=fault_rate, progress=False)
    out = directory / "rated.ndjson"
    rate_file(directory / "catalog.yaml", directory / "subscribers.csv", directory / "network.ndjson", out,
              directory / "adjustments.ndjson", batch_lines=700)
    ours = [json.loads(line) for line in out.read_text().splitlines()]
    theirs = reference_ratings(directory)
    assert len(ours) == len(theirs)
    plans = yaml.safe_load((directory / "catalog.yaml").read_text())["plans"]
    assert {p["id"] for p in plans} <= {row["plan_id"] for row in ours if row["status"] == "rated"}
    for position, (mine, reference) in enumerate(zip(ours, theirs)):
        assert mine["status"] == reference["status"], (position, mine, reference)
        if mine["status"] == "rated":
            assert comparable(mine) == comparable(reference), (position, mine["record_id"])

"""`revguard rate`: an adjustment applies before the first record (input order) of its
subscriber whose start_time is at or after the adjustment's time (SPEC section 5)."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.rating_flow import placement_rows

T0 = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def targets(usage: list[tuple[str, int]], adjustments: list[tuple[str, int]]) -> list[int]:
    ts = pa.timestamp("us", tz="UTC")
    return placement_rows(
        pa.chunked_array([pa.array([m for m, _ in usage], pa.string())]),
        pa.chunked_array([pa.array([at(t) for _, t in usage], ts)]),
        pa.chunked_array([pa.array([m for m, _ in adjustments], pa.string())]),
        pa.chunked_array([pa.array([at(t) for _, t in adjustments], ts)]),
    ).tolist()


def test_adjustment_goes_before_the_first_later_record() -> None:
    assert targets([("A", 10), ("A", 20)], [("A", 15)]) == [1]


def test_adjustment_first_on_a_tie() -> None:
    assert targets([("A", 10), ("A", 20)], [("A", 10)]) == [0]


def test_records_out_of_time_order_take_the_first_in_input_order() -> None:
    # A's rows start at 10, 5, 20 (input order). At 7: row 0 (10 >= 7) comes first in input order.
    assert targets([("A", 10), ("A", 5), ("A", 20)], [("A", 7), ("A", 15)]) == [0, 2]


def test_other_subscribers_rows_never_take_an_adjustment() -> None:
    assert targets([("B", 30), ("A", 5), ("B", 40)], [("A", 7), ("B", 35)]) == [-1, 2]


def test_adjustment_after_every_record_stays_pending() -> None:
    assert targets([("A", 10)], [("A", 11), ("C", 0)]) == [-1, -1]


@settings(max_examples=200, deadline=None)
@given(usage=st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 30)), max_size=30),
       adjustments=st.lists(st.tuples(st.sampled_from("ABD"), st.integers(0, 30)), max_size=10))
def test_each_adjustment_takes_the_first_row_of_its_subscriber_at_or_after_its_time(usage, adjustments) -> None:
    expected = [next((i for i, (m, t) in enumerate(usage) if m == msisdn and t >= time), -1)
                for msisdn, time in adjustments]
    assert targets(usage, adjustments) == expected

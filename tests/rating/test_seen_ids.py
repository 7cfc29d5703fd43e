"""The remembered record ids (`rating.seen_ids`) answer as a dict of the newest entry per key.

Duplicates (SPEC rule 1) are found through this table: a lost entry lets a duplicate be
billed twice, a stale start time misjudges the horizon.
"""
import pickle

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rating.seen_ids import SeenIds

keys = st.integers(min_value=0, max_value=2**64 - 1) | st.integers(min_value=0, max_value=30)
entry = st.tuples(keys, st.integers(min_value=0, max_value=10**6))


def never_expires(slots: np.ndarray) -> np.ndarray:
    return np.full(slots.shape[0], np.iinfo(np.int64).min)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(entry, max_size=400), max_size=8), st.lists(keys, max_size=50))
def test_lookup_gives_the_newest_start_of_every_key_through_growth(batches, strangers):
    seen = SeenIds()
    newest: dict[int, int] = {}
    for batch in batches:
        k = np.array([key for key, _ in batch], dtype=np.uint64)
        s = np.array([start for _, start in batch], dtype=np.int64)
        seen.add(k, s, np.zeros(len(batch), np.int32), never_expires)
        newest.update(dict(batch))
    asked = list(newest) + strangers
    found, start = seen.lookup(np.array(asked, dtype=np.uint64))
    assert found.tolist() == [key in newest for key in asked]
    assert [int(t) for t, f in zip(start, found) if f] == [newest[key] for key, f in zip(asked, found) if f]
    assert len(seen) == len(newest)
    again = pickle.loads(pickle.dumps(seen))
    assert [a.tolist() for a in again.lookup(np.array(asked, dtype=np.uint64))] == [found.tolist(), start.tolist()]


row = st.tuples(keys, st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6),
                st.booleans())  # key, start, floor, eligible


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(row, max_size=400), max_size=6))
@example([[(5, 100, 0, True)], [(5, 200, 100, True), (5, 300, 101, True), (5, 400, 300, True)]])  # floors at a start
def test_checked_rows_are_repeats_of_a_held_start_at_their_floor_and_the_rest_are_held(batches):
    # The rule, one row at a time with a dict: what `rating.duplicates` asks of the table.
    seen = SeenIds()
    held: dict[int, int] = {}
    for batch in batches:
        expected = []
        for key, start, floor, eligible in batch:
            repeat = eligible and key in held and held[key] >= floor
            expected.append(repeat)
            if eligible and not repeat:
                held[key] = start
        columns = list(zip(*batch)) or [(), (), (), ()]
        repeat = seen.checked(np.array(columns[0], dtype=np.uint64), np.array(columns[1], dtype=np.int64),
                              np.zeros(len(batch), np.int32), np.array(columns[2], dtype=np.int64),
                              np.array(columns[3], dtype=np.bool_), never_expires)
        assert repeat.tolist() == expected
    found, start = seen.lookup(np.array(list(held), dtype=np.uint64))
    assert found.all() and start.tolist() == list(held.values())
    assert len(seen) == len(held)


def test_entries_past_their_slots_expiry_are_dropped_when_the_table_fills_and_live_ones_kept():
    seen = SeenIds()
    old = np.arange(1, 701, dtype=np.uint64) << np.uint64(40)  # spread over the buckets
    seen.add(old, np.full(700, 100, np.int64), np.zeros(700, np.int32), never_expires)
    expiry = {0: 0, 1: 150}  # slot 1's entries before start 150 can no longer match
    fresh = (np.arange(701, 1401, dtype=np.uint64) << np.uint64(40))
    seen.add(fresh, np.full(700, 200, np.int64), np.ones(700, np.int32),
             lambda slots: np.array([expiry[int(s)] for s in slots], dtype=np.int64))
    found, _ = seen.lookup(np.concatenate([old, fresh]))
    assert found.all()  # slot 0's entries are live (expiry 0), slot 1's just arrived
    # 700 + 700 entries made a table of 4,096 buckets; 1,500 more fill it past 70 %.
    late = (np.arange(1401, 2901, dtype=np.uint64) << np.uint64(40))
    seen.add(late, np.full(late.size, 300, np.int64), np.ones(late.size, np.int32),
             lambda slots: np.where(slots == 0, 101, 150))  # now slot 0's start 100 is past
    found, _ = seen.lookup(np.concatenate([old, fresh, late]))
    assert not found[:700].any() and found[700:].all()
    assert len(seen) == 700 + late.size


def test_snapshots_of_the_sorted_runs_format_still_load():
    old_format = SeenIds.__new__(SeenIds)
    old_format.__setstate__({"runs": [
        (np.array([5, 9], np.uint64), np.array([10, 20], np.int64), np.array([0, 1], np.int32)),
        (np.array([9], np.uint64), np.array([30], np.int64), np.array([1], np.int32)),  # newer run
    ]})
    found, start = old_format.lookup(np.array([5, 9, 7], np.uint64))
    assert found.tolist() == [True, True, False] and start[:2].tolist() == [10, 30]

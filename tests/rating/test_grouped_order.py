"""Grouping rows keeps their order inside each group: the permutation is the one a stable
sort by the keys gives, checked against Python's own stable `sorted`."""
from hypothesis import given, settings
from hypothesis import strategies as st

import numpy as np

from rating.grouped import ascending, distinct_places, latest_by_key, regrouped, stable_order


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(0, 40), max_size=60), wide=st.booleans())
def test_stable_order_is_a_stable_sort(keys: list[int], wide: bool) -> None:
    # A span of 41 is narrow (counted); 10**9 takes the general sort.
    span = 10**9 if wide else 41
    expected = sorted(range(len(keys)), key=lambda i: keys[i])
    assert stable_order(np.array(keys, dtype=np.int64), span).tolist() == expected


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 2)), max_size=50))
def test_regrouped_groups_by_the_keys_major_first_and_keeps_row_order(rows: list[tuple[int, int, int]]) -> None:
    keys = [np.array([r[k] for r in rows], dtype=np.int64) for k in range(3)]
    expected = sorted(range(len(rows)), key=lambda i: rows[i])
    assert regrouped(keys, [7, 3, 3]).tolist() == expected


def test_ascending_means_never_decreasing() -> None:
    assert ascending(np.array([], dtype=np.int64)) and ascending(np.array([3, 3, 5]))
    assert not ascending(np.array([3, 5, 4]))


@settings(max_examples=150, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(0, 30), st.integers(-10**12, 10**12)), max_size=40), wide=st.booleans())
def test_latest_by_key_is_each_keys_largest_value(pairs: list[tuple[int, int]], wide: bool) -> None:
    expected: dict[int, int] = {}
    for key, value in pairs:
        expected[key] = max(expected.get(key, value), value)
    keys = np.array([k for k, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.int64)
    distinct, latest = latest_by_key(keys, values, 10**9 if wide else 31)
    assert dict(zip(distinct.tolist(), latest.tolist())) == expected
    assert distinct.tolist() == sorted(expected)


@settings(max_examples=200, deadline=None)
@given(keys=st.lists(st.integers(-50, 50), max_size=60), wide=st.booleans())
def test_distinct_places_are_what_np_unique_gives(keys: list[int], wide: bool) -> None:
    # Keys 10**9 apart take the sort; a narrow range is marked key by key.
    values = np.array([k * 10**9 if wide else k for k in keys], dtype=np.int64)
    distinct, places = distinct_places(values)
    expected, inverse = np.unique(values, return_inverse=True)
    assert distinct.tolist() == expected.tolist() and places.tolist() == inverse.tolist()

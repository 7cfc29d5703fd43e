"""The compiled code index (`rating.code_index`) answers as a plain dict of first positions.

The engine finds subscribers in the reference and slots in the rating state through it; a
wrong answer would rate a record against another subscriber's plan and balance.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rating.code_index import CodeIndex
from rating.state import RatingState

codes = st.integers(min_value=-3, max_value=2**63 - 1) | st.integers(min_value=0, max_value=40)


def first_positions(batches: list[list[int]]) -> dict[int, int]:
    """The independent answer: each non-negative code at the position it was first added."""
    seen: dict[int, int] = {}
    position = 0
    for batch in batches:
        for code in batch:
            if code >= 0 and code not in seen:
                seen[code] = position
            position += 1
    return seen


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(codes, max_size=60), max_size=12), st.lists(codes, max_size=60))
def test_positions_are_first_positions_through_any_growth(batches, queries):
    index = CodeIndex()
    for batch in batches:
        index.extend(np.array(batch, dtype=np.int64))
    expected = first_positions(batches)
    asked = [code for batch in batches for code in batch] + queries
    answered = index.positions(np.array(asked, dtype=np.int64))
    assert answered.tolist() == [expected.get(code, -1) for code in asked]
    assert index.size == sum(len(b) for b in batches)


def test_a_built_index_finds_every_code_and_nothing_else():
    rng = np.random.default_rng(5)
    known = rng.choice(10**12, size=50_000, replace=False).astype(np.int64) + 10**12
    index = CodeIndex(known)
    assert (index.positions(known) == np.arange(known.size)).all()
    strangers = np.setdiff1d(rng.integers(10**12, 2 * 10**12, 5_000), known)
    assert (index.positions(strangers) == -1).all()
    assert index.positions(np.array([-1], dtype=np.int64)).tolist() == [-1]


def test_state_slots_survive_pickling_and_growth():
    import pickle

    state = RatingState()
    state.add_slots(np.array([1447, 1448, 1449], dtype=np.int64), np.zeros(3, dtype=np.int64))
    restored = pickle.loads(pickle.dumps(state))
    restored.add_slots(np.array([1500], dtype=np.int64), np.zeros(1, dtype=np.int64))
    assert restored.slots(np.array([1449, 1500, 1447, 1234], dtype=np.int64)).tolist() == [2, 3, 0, -1]

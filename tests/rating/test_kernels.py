"""The compiled loops give what plain Python computes from the definitions, on any text.

Each reference below is written from the docstring it checks, one value at a time, so the
columnar code is compared against an independent reading of the same rule.
"""
import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rating.calendar import civil_dates
from rating.catalog import PrefixRule
from rating.classes import longest_prefix_match
from rating.engine import _codes, msisdn_order
from rating.kernels import picked
from rating.hashing import string_hashes

texts = st.lists(st.one_of(st.none(), st.text(max_size=30), st.from_regex(r"[0-9]{0,20}", fullmatch=True)), max_size=40)
arrow_types = st.sampled_from([pa.string(), pa.large_string()])
MASK = (1 << 64) - 1


def column(values: list, arrow_type: pa.DataType, skip: int) -> pa.Array:
    """The values as an array that starts `skip` rows into its buffers."""
    return pa.array([None] * skip + values, arrow_type).slice(skip)


def code_of(text: str | None) -> int:
    if text is None or not 1 <= len(text) <= 18 or any(c not in "0123456789" for c in text):
        return -1
    return int("1" + text)


@settings(max_examples=150, deadline=None)
@given(values=texts, arrow_type=arrow_types, skip=st.integers(0, 3))
@example(values=["0", "007", "9" * 18, "9" * 19, "", "12a", "١٢", " 1", None], arrow_type=pa.string(), skip=0)
def test_msisdn_codes_are_one_then_the_digits_and_minus_one_otherwise(values, arrow_type, skip):
    assert _codes(column(values, arrow_type, skip)).tolist() == [code_of(v) for v in values]


def mixed(h: int) -> int:
    h = (h + 0x9E3779B97F4A7C15) & MASK
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK
    return h ^ (h >> 31)


def hash_of(text: str | None, seed: int | None) -> int:
    data = (text or "").encode("utf-8")
    h = mixed(len(data))
    if seed is not None:
        h = mixed(h ^ (seed & MASK))
    for i in range(0, len(data), 8):
        h = mixed(h ^ int.from_bytes(data[i:i + 8], "little"))
    return h


@settings(max_examples=150, deadline=None)
@given(values=texts, arrow_type=arrow_types, skip=st.integers(0, 3), seeded=st.booleans(), data=st.data())
def test_string_hashes_follow_the_documented_mix_of_length_seed_and_words(values, arrow_type, skip, seeded, data):
    seeds = data.draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=len(values), max_size=len(values)))
    got = string_hashes(column(values, arrow_type, skip), np.array(seeds, dtype=np.int64) if seeded else None)
    assert got.tolist() == [hash_of(v, s if seeded else None) for v, s in zip(values, seeds)]


def test_a_pinned_hash_stays_the_same_across_versions():
    # Snapshots hold these hashes: the value, computed once with `hash_of` above, is fixed.
    assert string_hashes(pa.array(["r-000001"]), np.array([14470000001])).tolist() == [1665933635606331504]


prefixes = st.text(alphabet="0123+é", max_size=4)


def best_rule(value: str | None, rules: list[PrefixRule], names: tuple[str, ...]) -> int:
    data = (value or "").encode("utf-8")
    best, length = -1, -1
    for rule in rules:  # the first rule wins among equal prefixes
        prefix = rule.prefix.encode("utf-8")
        if data.startswith(prefix) and len(prefix) > length:
            best, length = names.index(rule.name), len(prefix)
    return best


@settings(max_examples=150, deadline=None)
@given(
    rules=st.lists(st.builds(PrefixRule, prefixes, st.sampled_from("abc")), max_size=8),
    values=st.lists(st.one_of(st.none(), st.text(alphabet="0123+é", max_size=7)), max_size=30),
    arrow_type=arrow_types,
    skip=st.integers(0, 3),
)
@example(rules=[PrefixRule("44", "a"), PrefixRule("447", "b"), PrefixRule("", "c")],
         values=["447700", "4412", "4", None, "+44"], arrow_type=pa.string(), skip=0)
def test_the_longest_matching_prefix_names_the_class(rules, values, arrow_type, skip):
    names = ("a", "b", "c")
    got = longest_prefix_match(column(values, arrow_type, skip), tuple(rules), names)
    assert got.tolist() == [best_rule(v, rules, names) for v in values]


@settings(max_examples=100, deadline=None)
@given(days=st.lists(st.integers(-719_162, 2_932_896), max_size=50))  # years 1 to 9999
@example(days=[0, -1, 59, 60, 11_016, 11_017, 10_957, 47_541])  # 1970-01-01, leap days, 2000-03-01
def test_civil_dates_are_the_gregorian_calendar(days):
    epoch = dt.date(1970, 1, 1).toordinal()
    year, month, day = civil_dates(np.array(days, dtype=np.int64))
    expected = [dt.date.fromordinal(epoch + d) for d in days]
    assert list(zip(year.tolist(), month.tolist(), day.tolist())) == [(d.year, d.month, d.day) for d in expected]


@settings(max_examples=200, deadline=None)
@given(texts, arrow_types, st.integers(min_value=0, max_value=3), st.data())
def test_picked_strings_are_the_picked_values_and_null_where_the_pick_is_negative(values, arrow_type, skip, data):
    strings = column(values, arrow_type, skip)
    picks = data.draw(st.lists(st.integers(min_value=-1, max_value=len(values) - 1), max_size=50)) if values else []
    got = picked(strings, np.array(picks, dtype=np.int64))
    assert got.type == pa.string()
    assert got.to_pylist() == [None if p < 0 else values[p] for p in picks]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[0-9]{1,18}", fullmatch=True), unique=True, max_size=40))
def test_msisdn_order_is_the_order_of_the_msisdn_strings(msisdns):
    codes = np.array([int("1" + m) for m in msisdns], dtype=np.int64)
    assert [msisdns[i] for i in msisdn_order(codes)] == sorted(msisdns)

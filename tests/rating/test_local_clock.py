"""Local wall-clock time from UTC (`rating.calendar.local_wall_clock_us`) is exactly the IANA rules'.

Off-peak bands and billing cycles are decided on it (rules 4 and 5). The conversion looks the
zone's offset up per UTC hour; these tests compare it with a conversion of every instant by
the standard library's zoneinfo, an implementation of the rules independent of pandas.
"""
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rating.calendar import local_wall_clock_us

ZONES = ["Europe/London", "America/New_York", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu",
         "Pacific/Chatham", "UTC"]
EPOCH = dt.datetime(1970, 1, 1)


def utc_us(*when: int) -> int:
    return int((dt.datetime(*when) - EPOCH).total_seconds()) * 1_000_000


# Offset changes, each with its zone: instants on both sides are where a wrong offset shows.
CHANGES = [
    ("Europe/London", utc_us(2026, 3, 29, 1)),  # forward
    ("Europe/London", utc_us(2026, 10, 25, 1)),  # back
    ("America/New_York", utc_us(2026, 3, 8, 7)),
    ("Australia/Lord_Howe", utc_us(2026, 4, 4, 15)),  # back half an hour
    ("Pacific/Chatham", utc_us(2026, 4, 4, 14)),  # +13:45 -> +12:45
    # Changes inside a UTC hour, the case the per-hour table must split:
    ("America/St_Johns", utc_us(2026, 3, 8, 5, 30)),  # -3:30 -> -2:30 at 05:30Z
    ("Asia/Kathmandu", utc_us(1985, 12, 31, 18, 30)),  # +5:30 -> +5:45
]


def by_zoneinfo(utc_us: int, zone: str) -> int:
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=utc_us)
    local = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return (local - EPOCH) // dt.timedelta(microseconds=1)


HOURS_3_US = 3 * 3_600_000_000
anywhen = st.integers(min_value=0, max_value=4_102_444_800 * 1_000_000)  # 1970 to 2100


def assert_matches_zoneinfo(instants: list[int], zone: str) -> None:
    got = local_wall_clock_us(np.array(instants, dtype=np.int64), zone)
    assert got.tolist() == [by_zoneinfo(t, zone) for t in instants]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CHANGES), st.lists(st.integers(min_value=-HOURS_3_US, max_value=HOURS_3_US), min_size=1, max_size=40))
def test_wall_clock_matches_zoneinfo_around_a_change(change, deltas):
    # One batch's instants lie within hours of each other: the per-hour table is used.
    zone, at = change
    assert_matches_zoneinfo([at + d for d in deltas], zone)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), st.lists(anywhen, min_size=1, max_size=40))
def test_wall_clock_matches_zoneinfo_for_instants_decades_apart(zone, instants):
    assert_matches_zoneinfo(instants, zone)


def test_an_hour_holding_a_change_is_split_exactly_at_the_change():
    change = utc_us(2026, 3, 8, 5, 30)  # St John's goes from -3:30 to -2:30
    instants = np.array([change - 3_600_000_000, change - 1, change, change + 1], dtype=np.int64)
    got = local_wall_clock_us(instants, "America/St_Johns")
    assert (got - instants).tolist() == [-12_600_000_000, -12_600_000_000, -9_000_000_000, -9_000_000_000]


def test_cycle_starts_are_local_midnight_first_occurrence_or_first_instant_after_a_gap():
    from rating.calendar import cycle_start_us

    # By hand: Santiago's clocks went from 2026-09-06 00:00 -04 to 01:00 -03, so that midnight
    # never happened and the cycle starts at 01:00 -03, 04:00Z; 2026-10-06 00:00 -03 is 03:00Z.
    cycles = np.array([2026 * 12 + 8, 2026 * 12 + 9], dtype=np.int64)
    got = cycle_start_us(cycles, np.array([6, 6]), "America/Santiago")
    assert got.tolist() == [utc_us(2026, 9, 6, 4), utc_us(2026, 10, 6, 3)]


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

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "UTC"]
EPOCH = dt.datetime(1970, 1, 1)
# Instants on both sides of DST changes of 2026, where a wrong offset would show.
CHANGES_UTC_US = [
    int((dt.datetime(2026, 3, 29, 1) - EPOCH).total_seconds()) * 1_000_000,  # London forward
    int((dt.datetime(2026, 10, 25, 1) - EPOCH).total_seconds()) * 1_000_000,  # London back
    int((dt.datetime(2026, 3, 8, 7) - EPOCH).total_seconds()) * 1_000_000,  # New York forward
    int((dt.datetime(2026, 4, 4, 15) - EPOCH).total_seconds()) * 1_000_000,  # Lord Howe back half an hour
]


def by_zoneinfo(utc_us: int, zone: str) -> int:
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=utc_us)
    local = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return (local - EPOCH) // dt.timedelta(microseconds=1)


near_a_change = st.builds(lambda base, d: base + d, st.sampled_from(CHANGES_UTC_US),
                          st.integers(min_value=-3 * 3_600_000_000, max_value=3 * 3_600_000_000))
anywhen = st.integers(min_value=0, max_value=4_102_444_800 * 1_000_000)  # 1970 to 2100


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ZONES), st.lists(near_a_change | anywhen, min_size=1, max_size=40))
def test_wall_clock_matches_zoneinfo_for_every_instant(zone, instants):
    got = local_wall_clock_us(np.array(instants, dtype=np.int64), zone)
    assert got.tolist() == [by_zoneinfo(t, zone) for t in instants]


def test_the_hour_of_a_change_is_split_exactly_at_the_change():
    change = CHANGES_UTC_US[0]  # 2026-03-29 01:00 UTC: London goes from +0 to +1
    instants = np.array([change - 1, change, change + 1], dtype=np.int64)
    got = local_wall_clock_us(instants, "Europe/London")
    assert (got - instants).tolist() == [0, 3_600_000_000, 3_600_000_000]

"""Local calendar in the catalog time zone: off-peak bands and billing cycles (rules 4, 5).

All conversions go from UTC instants to local wall-clock time with the IANA rules, so DST
changes are exact. The band decision uses the record's ``start_time`` alone (a call that
crosses a band edge is priced by where it started).

Billing cycles: a cycle starts at 00:00 local time on the subscriber's ``cycle_day``. A
record whose local date has day-of-month >= cycle_day belongs to the cycle starting that
month, otherwise to the one starting the month before. Cycles are numbered by the month
they start in (``year x 12 + month - 1``). If local midnight does not exist on that day
(a DST gap at midnight in some zones) the cycle starts at the first instant after the gap;
if it occurs twice, at the first occurrence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from rating.catalog import OffpeakBand
from rating.grouped import distinct_places

_DAY_S = 86_400


@dataclass(frozen=True)
class LocalTimes:
    weekday: np.ndarray  # 0 = Monday
    second_of_day: np.ndarray
    year: np.ndarray
    month: np.ndarray
    day: np.ndarray


def local_times(utc_us: np.ndarray, timezone: str) -> LocalTimes:
    """Local wall-clock parts of UTC microsecond instants."""
    return LocalTimes(*_local_parts(local_wall_clock_us(utc_us, timezone)))


@numba.njit(cache=True, nogil=True)
def _local_parts(local_us):
    """(weekday, second of day, year, month, day) of local wall-clock microseconds, one pass."""
    n = local_us.shape[0]
    weekday, second = np.empty(n, np.int8), np.empty(n, np.int32)
    year, month, day = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int32)
    for i in range(n):
        days, rem = divmod(local_us[i], _DAY_S * 1_000_000)  # floor division, as numpy's
        weekday[i] = (days + 3) % 7  # 1970-01-01 was a Thursday
        second[i] = rem // 1_000_000
        year[i], month[i], day[i] = _civil(days)
    return weekday, second, year, month, day


def local_wall_clock_us(utc_us: np.ndarray, timezone: str) -> np.ndarray:
    """Local wall-clock time of UTC instants, as microseconds since 1970-01-01 local.

    The zone's UTC offset is looked up per UTC hour (the IANA rules asked once per hour,
    through pandas, and kept); an hour whose offset differs from the next one's holds a
    change, and its instants are converted one by one (this assumes a zone's offset changes at
    most once within an hour). pandas' conversion of every batch
    cost ~0.7 ms a call whatever its size, a twentieth of rating 2,000 records.
    """
    utc_us = np.asarray(utc_us, dtype=np.int64)
    if utc_us.size == 0:
        return utc_us.copy()
    hours = np.floor_divide(utc_us, _HOUR_US)
    first, last = int(hours.min()), int(hours.max()) + 1
    if last - first > _MOST_HOURS:  # times decades apart: not worth a table
        return _converted(utc_us, timezone)
    table = _hour_offsets(timezone, first, last)
    at = hours - table.first_hour
    offset = table.offsets[at]
    changing = offset != table.offsets[at + 1]
    local = utc_us + offset
    if changing.any():
        local[changing] = _converted(utc_us[changing], timezone)
    return local


def _converted(utc_us: np.ndarray, timezone: str) -> np.ndarray:
    idx = pd.DatetimeIndex(utc_us.astype("datetime64[us]")).tz_localize("UTC").tz_convert(timezone)
    return idx.tz_localize(None).asi8


@dataclass(frozen=True)
class _HourOffsets:
    first_hour: int
    offsets: np.ndarray  # microseconds to add at the start of each hour from first_hour


_HOUR_US = 3_600_000_000
_MOST_HOURS = 20 * 366 * 24  # a table of 1.4 MB
_HOUR_TABLES: dict[str, _HourOffsets] = {}


def _hour_offsets(timezone: str, first: int, last: int) -> _HourOffsets:
    """Offsets at the start of hours first..last (inclusive) at least, kept per zone and
    widened by a year's margin each way when a batch reaches past them."""
    table = _HOUR_TABLES.get(timezone)
    if table is None or first < table.first_hour or last >= table.first_hour + table.offsets.size:
        lo, hi = first - 366 * 24, last + 366 * 24 + 1
        if table is not None and max(hi, table.first_hour + table.offsets.size) - min(lo, table.first_hour) <= _MOST_HOURS:
            lo, hi = min(lo, table.first_hour), max(hi, table.first_hour + table.offsets.size)
        starts = np.arange(lo, hi, dtype=np.int64) * _HOUR_US
        table = _HourOffsets(lo, _converted(starts, timezone) - starts)
        _HOUR_TABLES[timezone] = table
    return table


def civil_dates(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 in the proleptic Gregorian calendar.

    Howard Hinnant's ``civil_from_days``: years counted from March, so the leap day ends a
    year, in 400-year eras. One pass of integer arithmetic; pandas' field accessors convert
    the time zone again for each field and cost three times as much.
    """
    days = np.asarray(days, dtype=np.int64)
    year, month, day = (np.empty(days.shape[0], np.int32) for _ in range(3))
    _civil_dates(days, year, month, day)
    return year, month, day


@numba.njit(cache=True, nogil=True)
def _civil_dates(days, year, month, day):
    for i in range(days.shape[0]):
        year[i], month[i], day[i] = _civil(days[i])


@numba.njit(cache=True, nogil=True, inline="always")
def _civil(days):
    z = days + 719_468  # days since 0000-03-01
    era = z // 146_097  # floor division, also before year 0
    doe = z - era * 146_097  # day of era, 0..146096
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365  # year of era, 0..399
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # day of the March-based year, 0..365
    mp = (5 * doy + 2) // 153  # March-based month, 0..11
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


def offpeak_mask(times: LocalTimes, bands: tuple[OffpeakBand, ...]) -> np.ndarray:
    """True where the local start falls in any band ``[from, to)`` (wrapping past midnight)."""
    out = np.zeros(times.weekday.shape, dtype=bool)
    wd = times.weekday
    sod = times.second_of_day
    prev_wd = (wd - 1) % 7
    for band in bands:
        days = np.array(sorted(band.days), dtype=np.int8)
        on_day = np.isin(wd, days)
        if band.end_s > band.start_s:
            out |= on_day & (sod >= band.start_s) & (sod < band.end_s)
        else:
            out |= (on_day & (sod >= band.start_s)) | (np.isin(prev_wd, days) & (sod < band.end_s))
    return out


def cycle_numbers(times: LocalTimes, cycle_day: np.ndarray) -> np.ndarray:
    """Billing cycle of each record, as the month number its cycle starts in."""
    m = times.year.astype(np.int32) * 12 + (times.month.astype(np.int32) - 1)
    return m - (times.day < np.asarray(cycle_day, dtype=np.int32)).astype(np.int32)


def cycle_start_us(cycle: np.ndarray, cycle_day: np.ndarray, timezone: str) -> np.ndarray:
    """UTC microseconds of 00:00 local time on ``cycle_day`` of month number ``cycle``."""
    cycle = np.asarray(cycle, dtype=np.int64)
    cycle_day = np.asarray(cycle_day, dtype=np.int64)
    if cycle.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, inverse = distinct_places(cycle * 32 + cycle_day)  # a batch spans a few months: no sort
    cache = _CYCLE_STARTS.setdefault(timezone, {})
    if len(cache) > 100_000:  # (month, cycle day) pairs seen: never near this in practice
        cache.clear()
    missing = [p for p in uniq.tolist() if p not in cache]
    if missing:
        todo = np.array(missing, dtype=np.int64)
        months = (todo // 32 - 1970 * 12).astype("datetime64[M]")
        local_midnight = months.astype("datetime64[D]") + (todo % 32 - 1).astype("timedelta64[D]")
        local = pd.DatetimeIndex(local_midnight.astype("datetime64[us]")).tz_localize(
            timezone, ambiguous=np.ones(todo.size, dtype=bool), nonexistent="shift_forward"
        )
        cache.update(zip(missing, local.tz_convert("UTC").as_unit("us").asi8.tolist()))
    starts = np.array([cache[p] for p in uniq.tolist()], dtype=np.int64)
    return starts[inverse]


# Cycle starts by time zone and (month number x 32 + cycle day): a few hundred entries.
_CYCLE_STARTS: dict[str, dict[int, int]] = {}

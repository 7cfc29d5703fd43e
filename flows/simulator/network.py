"""The simulated operator's network: elements, numbering plan, visited networks, clock.

Numbers are built as integers whose leading digits are the catalog prefixes, so every
destination falls under the class the traffic generator meant for it.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

TIMEZONE = ZoneInfo("Europe/London")
SERVICES = ("voice", "sms", "data")
VOICE, SMS, DATA = 0, 1, 2

MSC = ("msc-01", "msc-02", "msc-03", "msc-04")
SMSC = ("smsc-01", "smsc-02")
PGW = ("pgw-01", "pgw-02", "pgw-03")
ELEMENTS = MSC + SMSC + PGW
# Subscribers live in regions; each region is served by one element per service.
REGIONS = 12
REGION_WEIGHTS = np.array([14, 11, 10, 9, 9, 8, 8, 7, 7, 6, 6, 5], dtype=float)


def element_index(region: np.ndarray, service: np.ndarray) -> np.ndarray:
    """Index into ELEMENTS of the element serving `region` for `service`."""
    msc = region % len(MSC)
    smsc = len(MSC) + region % len(SMSC)
    pgw = len(MSC) + len(SMSC) + region % len(PGW)
    return np.where(service == VOICE, msc, np.where(service == SMS, smsc, pgw)).astype(np.int16)


# Destination classes as (leading digits, digits that follow). 4479 = own ranges (onnet),
# 441/442/443 = UK geographic (national), 4490 = premium, others = international.
ONNET_NUMBERS = ((4479, 8),)
NATIONAL_NUMBERS = ((441, 9), (442, 9), (443, 9))
PREMIUM_NUMBERS = ((4490, 8),)
INTERNATIONAL_NUMBERS = ((33, 9), (49, 10), (1, 10), (34, 9), (39, 10), (353, 9), (91, 10),
                         (86, 11), (48, 9), (234, 10))
NUMBER_PLAN = (ONNET_NUMBERS, NATIONAL_NUMBERS, PREMIUM_NUMBERS, INTERNATIONAL_NUMBERS)
ONNET, NATIONAL, PREMIUM, INTERNATIONAL = 0, 1, 2, 3


def destination_numbers(rng: np.random.Generator, classes: np.ndarray) -> np.ndarray:
    """A called number (as int64) under the catalog prefix of each requested class."""
    numbers = np.zeros(len(classes), dtype=np.int64)
    for cls, ranges in enumerate(NUMBER_PLAN):
        where = np.flatnonzero(classes == cls)
        if not len(where):
            continue
        pick = rng.integers(0, len(ranges), size=len(where))
        heads = np.array([head for head, _ in ranges], dtype=np.int64)[pick]
        scale = np.array([10 ** width for _, width in ranges], dtype=np.int64)[pick]
        numbers[where] = heads * scale + (rng.random(len(where)) * scale).astype(np.int64)
    return numbers


# Visited networks (MCC+MNC) per roaming zone of the catalog.
EU_NETWORKS = ("20801", "20810", "20820", "21401", "21403", "22201", "22210", "26201", "26202", "26203")
WORLD_NETWORKS = ("310260", "310410", "44010", "45005", "50501", "72405", "60201")
VISITED_NETWORKS = EU_NETWORKS + WORLD_NETWORKS


def utc_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def local_midnights(start: date, days: int) -> np.ndarray:
    """UTC epoch seconds of local midnight for each day of the period and the day after."""
    return np.array([
        utc_seconds(datetime.combine(start + timedelta(days=d), time(0), TIMEZONE))
        for d in range(days + 1)], dtype=np.int64)


def local_instant(day: date, hour: int = 0) -> int:
    return utc_seconds(datetime.combine(day, time(hour), TIMEZONE))


_DAY_PREFIX: dict[int, str] = {}


def rfc3339(epoch_seconds: int) -> str:
    """`2026-11-02T08:15:00Z` for whole UTC epoch seconds."""
    day, second = divmod(int(epoch_seconds), 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * 86400, timezone.utc).strftime("%Y-%m-%dT")
        _DAY_PREFIX[day] = prefix
    hour, rest = divmod(second, 3600)
    minute, sec = divmod(rest, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{sec:02d}Z"

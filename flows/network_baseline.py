"""What each network element should send, learned from the store, for the stream's network alerts.

Per element × service and local hour of week (the catalog's time zone): the median of the
records that hour held in the weeks the store covers. With fewer than two weeks of that hour
stored, the median of the same local hour on the days of the same type (weekday or weekend)
stands in: the simulator's traffic and an operator's both follow the hour of the day first,
the weekday second. Medians, because the store's history has outages of its own.

Premium or international voice is learned the same way per voice element, and per subscriber
as a mean per 5-minute window over the whole history (one subscriber's hour of week is too
sparse to learn), at least the population's mean and one call in the whole history. Hours at the edges of the history (partly covered) are left out.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

PREMIUM_CLASSES = ("premium", "international")
WINDOW_S = 300

_HOURLY = """
SELECT element_id, service, toUnixTimestamp(toStartOfHour(start_time)) AS hour, count() AS n,
       countIf(service = 'voice' AND dest_class IN {premium:Array(String)}) AS p
FROM revguard.rated_usage
WHERE status != 'duplicate' AND element_id != ''
GROUP BY element_id, service, hour
"""
_SUBSCRIBERS = """
SELECT msisdn, countIf(service = 'voice' AND dest_class IN {premium:Array(String)}) AS p
FROM revguard.rated_usage
WHERE status != 'duplicate'
GROUP BY msisdn
"""


@dataclass(frozen=True)
class NetworkBaseline:
    """Expected records per hour, by (element, service) and local hour of week (0 = Monday 00h)."""

    hourly: dict[tuple[str, str], tuple[float, ...]] = field(default_factory=dict)
    premium_hourly: dict[str, tuple[float, ...]] = field(default_factory=dict)  # voice elements
    subscriber_premium: dict[str, float] = field(default_factory=dict)  # per 5-minute window
    premium_floor: float = 0.0  # per 5-minute window, for a subscriber the store has not seen
    timezone: str = "UTC"

    def hour_of_week(self, epoch_s: float) -> int:
        local = dt.datetime.fromtimestamp(epoch_s, ZoneInfo(self.timezone))
        return local.weekday() * 24 + local.hour

    def per_minute(self, key: tuple[str, str], epoch_s: float) -> float:
        hours = self.hourly.get(key)
        return hours[self.hour_of_week(epoch_s)] / 60.0 if hours else 0.0

    def premium_per_window(self, element: str, epoch_s: float) -> float:
        hours = self.premium_hourly.get(element)
        return hours[self.hour_of_week(epoch_s)] * WINDOW_S / 3600.0 if hours else 0.0

    def subscriber_per_window(self, msisdn: str) -> float:
        return max(self.subscriber_premium.get(msisdn, 0.0), self.premium_floor)

    @property
    def subscribers(self) -> int:
        return len(self.subscriber_premium)


def learned_baseline(client, timezone: str = "UTC") -> NetworkBaseline:
    """The baseline of what `revguard.rated_usage` holds (empty if it holds less than a day)."""
    rows = client.query(_HOURLY, parameters={"premium": list(PREMIUM_CLASSES)}).result_rows
    if not rows:
        return NetworkBaseline(timezone=timezone)
    first, last = min(r[2] for r in rows), max(r[2] for r in rows)
    hours = list(range(first + 3600, last, 3600))  # edges left out: partly covered
    if len(hours) < 24:
        return NetworkBaseline(timezone=timezone)
    zone = ZoneInfo(timezone)
    local = {h: dt.datetime.fromtimestamp(h, zone) for h in hours}
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    premium: dict[str, dict[int, int]] = defaultdict(dict)
    for element, service, hour, n, p in rows:
        counts[(element, service)][hour] = n
        if service == "voice":
            premium[element][hour] = p
    hourly = {key: _profile(by_hour, hours, local) for key, by_hour in counts.items()}
    premium_hourly = {element: _profile(by_hour, hours, local) for element, by_hour in premium.items()}
    windows = len(hours) * 3600 / WINDOW_S
    subscribers = {m: p / windows for m, p in client.query(
        _SUBSCRIBERS, parameters={"premium": list(PREMIUM_CLASSES)}).result_rows}
    # At least one such call in the whole history: a subscriber never seen calling premium
    # still has an expectation to be measured against.
    floor = max((sum(subscribers.values()) / len(subscribers)) if subscribers else 0.0, 1.0 / windows)
    return NetworkBaseline(hourly, premium_hourly, subscribers, floor, timezone)


def _profile(by_hour: dict[int, int], hours: list[int], local: dict[int, dt.datetime]) -> tuple[float, ...]:
    """168 medians: same hour of week when two weeks or more hold it, else same hour and day type."""
    week: dict[int, list[int]] = defaultdict(list)
    day_type: dict[tuple[bool, int], list[int]] = defaultdict(list)
    for h in hours:
        moment, n = local[h], by_hour.get(h, 0)
        week[moment.weekday() * 24 + moment.hour].append(n)
        day_type[(moment.weekday() >= 5, moment.hour)].append(n)
    profile = []
    for how in range(168):
        same_hour = week.get(how, [])
        if len(same_hour) >= 2:
            profile.append(float(statistics.median(same_hour)))
        else:
            fallback = day_type.get((how // 24 >= 5, how % 24)) or day_type.get((how // 24 < 5, how % 24), [0])
            profile.append(float(statistics.median(fallback)))
    return tuple(profile)

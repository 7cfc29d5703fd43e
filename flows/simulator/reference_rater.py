"""A plain, per-record rater written straight from SPEC section 3.

It is the simulator's billing system and the yardstick the vectorised engine in `rating/` is
checked against, so it shares no code with it: Decimal arithmetic, one record at a time, the
catalog read as the mapping `yaml.safe_load` returns. Readability beats speed here.

Interpretations fixed for the project:
- allowance pools are per (subscriber, cycle start, service); voice and SMS draw only when
  their destination class is in `allowance_classes`, data at home or in an allowance zone
  always draws; roaming outside the allowance zones never draws and takes the plan's
  `roaming` prices for its zone;
- voice price = per_minute x charged_seconds / 60, data price = per_mb x charged_bytes /
  1048576; `overage_discount_percent` multiplies that raw product by (1 - p/100) before the
  single half-up rounding of `charge` to 6 decimal places;
- the off-peak factor applies to voice priced at home prices only (never to roaming prices);
  `offpeak` in the result says whether `start_time` lies in an off-peak band, whatever the
  service;
- a billing cycle starts at 00:00 local time (catalog timezone) on the subscriber's
  `cycle_day`;
- an adjustment takes effect before any record of its subscriber whose start_time is at or
  after the adjustment time (`rate_stream` does that merge); a positive credit unblocks.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

MICRO = Decimal("0.000001")
ZERO = Decimal("0.000000")
BYTES_PER_MB = 1048576
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALLOWANCE_KEY = {"voice": "voice_s", "sms": "sms", "data": "data_bytes"}


def round_half_up(amount: Decimal) -> Decimal:
    """Money rounded half-up to 6 decimal places, never a negative zero."""
    rounded = amount.quantize(MICRO, rounding=ROUND_HALF_UP)
    return ZERO if rounded == 0 else rounded


class Rating(NamedTuple):
    """The rated fields SPEC section 3 adds to a network record.

    An immutable NamedTuple rather than a frozen dataclass: one is built per record, and
    it is several times cheaper to build."""

    plan_id: str
    payment: str
    dest_class: str
    roaming_zone: str
    offpeak: bool
    billable_units: int
    allowance_units: int
    charged_units: int
    charge: Decimal
    tax: Decimal
    total: Decimal
    unfunded: Decimal
    balance_after: Decimal | None
    status: str
    reason: str


def _not_rated(status: str, reason: str) -> Rating:
    return Rating("", "", "", "", False, 0, 0, 0, ZERO, ZERO, ZERO, ZERO, None, status, reason)


@dataclass
class SubscriberState:
    """What the rater remembers about one subscriber between records."""

    allowance_used: dict[tuple[date, str], int] = field(default_factory=dict)
    balance: Decimal | None = None
    blocked: bool = False
    cycle_totals: dict[date, Decimal] = field(default_factory=dict)
    seen_record_ids: set[str] = field(default_factory=set)


def prefix_rules(rules: list[dict[str, str]], name_key: str) -> list[tuple[str, str]]:
    """(prefix, name) pairs, longest prefix first, so the first match is the longest."""
    pairs = [(str(rule["prefix"]), str(rule[name_key])) for rule in rules]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def longest_prefix(value: str, rules: list[tuple[str, str]]) -> str:
    """The name of the rule whose prefix is the longest one `value` starts with."""
    for prefix, name in rules:
        if value.startswith(prefix):
            return name
    return ""


def billable_voice_seconds(duration_s: int, rounding: str) -> int:
    """SPEC rule 3: at least A seconds, then whole B-second increments, rounded up."""
    if duration_s <= 0:
        return 0
    first, step = (int(part) for part in rounding.split("/"))
    if duration_s <= first:
        return first
    beyond = duration_s - first
    return first + -(-beyond // step) * step


def billable_data_bytes(volume_bytes: int, increment_kb: int) -> int:
    """SPEC rule 3: bytes rounded up to a multiple of increment_kb x 1024."""
    if volume_bytes <= 0:
        return 0
    increment = int(increment_kb) * 1024
    return -(-volume_bytes // increment) * increment


def _clock_seconds(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


@dataclass(frozen=True)
class Band:
    """An off-peak band of the catalog: listed weekdays (0 = Monday), `[start, end)` in
    seconds after local midnight."""

    days: frozenset[int]
    start: int
    end: int


def offpeak_bands(entries: list[dict[str, Any]]) -> list[Band]:
    """The catalog's `offpeak` entries, read once."""
    return [Band(frozenset(WEEKDAYS.index(str(day).lower()[:3]) for day in entry["days"]),
                 _clock_seconds(str(entry["from"])), _clock_seconds(str(entry["to"])))
            for entry in entries]


def in_offpeak(local: datetime, bands: list[Band]) -> bool:
    """SPEC rule 5: `[from, to)` on each listed day; `to <= from` runs into the next day."""
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    today = local.weekday()
    yesterday = (today - 1) % 7
    for band in bands:
        if band.end > band.start:
            if today in band.days and band.start <= seconds < band.end:
                return True
        else:
            if today in band.days and seconds >= band.start:
                return True
            if yesterday in band.days and seconds < band.end:
                return True
    return False


def cycle_start(local: datetime, cycle_day: int) -> date:
    """The local date on which the billing cycle holding `local` began."""
    if local.day >= cycle_day:
        return date(local.year, local.month, cycle_day)
    if local.month == 1:
        return date(local.year - 1, 12, cycle_day)
    return date(local.year, local.month - 1, cycle_day)


def parse_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


class ReferenceRater:
    """Rates records one at a time against a catalog mapping and subscriber rows.

    `subscribers` maps msisdn to a row of subscribers.csv (a mapping of its columns as
    strings, as `csv.DictReader` gives them).
    """

    def __init__(self, catalog: Mapping[str, Any], subscribers: Mapping[str, Mapping[str, str]]):
        self.catalog = catalog
        self.subscribers = subscribers
        self.timezone = ZoneInfo(str(catalog["timezone"]))
        self.tax_rate = Decimal(str(catalog["tax_rate"]))
        self.plans = {str(plan["id"]): plan for plan in catalog["plans"]}
        self.bands = offpeak_bands(catalog.get("offpeak") or [])
        self.destination_rules = prefix_rules(catalog["destination_classes"], "class")
        self.zone_rules = prefix_rules(catalog["roaming_zones"], "zone")
        self.states: dict[str, SubscriberState] = {}

    def state(self, msisdn: str) -> SubscriberState:
        """The subscriber's state, opened from their subscribers.csv row on first use."""
        if msisdn not in self.states:
            row = self.subscribers[msisdn]
            state = SubscriberState()
            if self._payment(row) == "prepaid":
                state.balance = Decimal(row.get("balance") or "0")
            self.states[msisdn] = state
        return self.states[msisdn]

    def _payment(self, row: Mapping[str, str]) -> str:
        plan = self.plans.get(row["plan_id"], {})
        return row.get("payment") or plan.get("payment", "postpaid")

    def adjust(self, msisdn: str, amount: Decimal) -> None:
        """A balance adjustment: credits a prepaid balance; a credit unblocks."""
        if msisdn not in self.subscribers:
            return
        state = self.state(msisdn)
        if state.balance is None:
            return
        state.balance += amount
        if amount > 0:
            state.blocked = False

    def rate(self, record: Mapping[str, Any], commit: bool = True, use_allowance: bool = True) -> Rating:
        """The rating of `record`; with `commit=False` nothing is remembered (a what-if)."""
        msisdn = str(record["msisdn"])
        row = self.subscribers.get(msisdn)
        if row is None:
            return _not_rated("rejected", "unknown_subscriber")
        plan = self.plans.get(row["plan_id"])
        if plan is None:
            return _not_rated("rejected", "unknown_plan")
        state = self.state(msisdn)
        record_id = str(record.get("record_id") or "")
        if record_id and record_id in state.seen_record_ids:
            return _not_rated("duplicate", "")

        service = str(record["service"])
        local = parse_time(record["start_time"]).astimezone(self.timezone)
        offpeak = in_offpeak(local, self.bands)

        mccmnc = str(record.get("roaming_mccmnc") or "")
        zone = longest_prefix(mccmnc, self.zone_rules) if mccmnc else ""
        at_home_prices = zone == "" or zone in (plan.get("allowance_zones") or [])

        dest_class = ""
        if service in ("voice", "sms"):
            dest_class = longest_prefix(str(record.get("destination") or ""), self.destination_rules)

        if service == "voice":
            billable = billable_voice_seconds(int(record.get("duration_s") or 0), str(plan["voice"]["rounding"]))
        elif service == "sms":
            billable = 1
        else:
            billable = billable_data_bytes(int(record.get("volume_bytes") or 0), plan["data"]["increment_kb"])

        draws = use_allowance and at_home_prices and (
            service == "data" or dest_class in (plan.get("allowance_classes") or []))
        allowance_units = 0
        pool = (cycle_start(local, int(row["cycle_day"])), service)
        if draws:
            granted = int((plan.get("allowances") or {}).get(ALLOWANCE_KEY[service], 0))
            left = max(granted - state.allowance_used.get(pool, 0), 0)
            allowance_units = min(billable, left)
        charged = billable - allowance_units

        with localcontext() as exact:
            # enough digits that the only rounding is the half-up one of SPEC rule 6
            exact.prec = 80
            charge = self._charge(plan, service, dest_class, zone, at_home_prices, offpeak, charged)
        tax = round_half_up(charge * self.tax_rate)
        total = charge + tax

        payment = self._payment(row)
        unfunded = ZERO
        balance_after: Decimal | None = None
        balance, blocked = state.balance, state.blocked
        if payment == "prepaid":
            assert balance is not None
            if blocked:
                unfunded = total
            elif balance >= total:
                balance -= total
            else:
                unfunded = total - balance
                balance = ZERO
                blocked = True
            balance_after = balance

        if commit:
            if record_id:
                state.seen_record_ids.add(record_id)
            if allowance_units:
                state.allowance_used[pool] = state.allowance_used.get(pool, 0) + allowance_units
            state.balance, state.blocked = balance, blocked
            if payment == "postpaid":
                cycle = pool[0]
                state.cycle_totals[cycle] = state.cycle_totals.get(cycle, ZERO) + total

        return Rating(
            plan_id=str(plan["id"]), payment=payment, dest_class=dest_class, roaming_zone=zone,
            offpeak=offpeak, billable_units=billable, allowance_units=allowance_units,
            charged_units=charged, charge=charge, tax=tax, total=total, unfunded=unfunded,
            balance_after=balance_after, status="rated", reason="")

    def _charge(self, plan: Mapping[str, Any], service: str, dest_class: str, zone: str,
                at_home_prices: bool, offpeak: bool, charged: int) -> Decimal:
        """SPEC rule 5: charged units x unit price, off-peak and discount applied, rounded."""
        if at_home_prices:
            if service == "voice":
                raw = Decimal(str(plan["voice"]["per_minute"][dest_class])) * charged / 60
                if offpeak:
                    raw *= Decimal(str(plan["voice"].get("offpeak_factor", "1")))
            elif service == "sms":
                raw = Decimal(str(plan["sms"]["per_message"][dest_class])) * charged
            else:
                raw = Decimal(str(plan["data"]["per_mb"])) * charged / BYTES_PER_MB
        else:
            prices = plan["roaming"][zone]
            if service == "voice":
                raw = Decimal(str(prices["per_minute"])) * charged / 60
            elif service == "sms":
                raw = Decimal(str(prices["per_message"])) * charged
            else:
                raw = Decimal(str(prices["per_mb"])) * charged / BYTES_PER_MB
        discount = Decimal(str(plan.get("overage_discount_percent", "0")))
        return round_half_up(raw * (1 - discount / 100))


def read_subscribers(path: Path) -> dict[str, dict[str, str]]:
    """subscribers.csv as msisdn -> row."""
    with open(path, newline="") as handle:
        return {row["msisdn"]: row for row in csv.DictReader(handle)}


def rate_stream(
    rater: ReferenceRater,
    records: Iterable[Mapping[str, Any]],
    adjustments: Iterable[Mapping[str, Any]] = (),
) -> Iterator[Rating]:
    """Ratings in record arrival order, each subscriber's adjustments applied first when
    their time is at or before the record's start_time (the adjustment first on a tie)."""
    pending: dict[str, list[tuple[datetime, int, Decimal]]] = {}
    for position, adjustment in enumerate(adjustments):
        pending.setdefault(str(adjustment["msisdn"]), []).append(
            (parse_time(adjustment["time"]), position, Decimal(str(adjustment["amount"]))))
    for queue in pending.values():
        queue.sort(key=lambda item: (item[0], item[1]))
        queue.reverse()  # pop() from the end takes the earliest
    for record in records:
        msisdn = str(record["msisdn"])
        queue = pending.get(msisdn)
        if queue:
            start = parse_time(record["start_time"])
            while queue and queue[-1][0] <= start:
                rater.adjust(msisdn, queue.pop()[2])
        yield rater.rate(record)

"""The tariff catalog of SPEC section 2, loaded from YAML and checked (SPEC rule 9).

Loading refuses a catalog that could not rate every record, with one ``CatalogError`` line
naming the plan and the field. Prices become integer micro-units; factors, percentages and
the tax rate exact fractions.

Defaults where a plan is silent:
- ``payment``: ``postpaid``; ``monthly_fee``: 0 (informational, never charged per record).
- ``allowances``: each of ``voice_s``, ``sms``, ``data_bytes`` absent means 0.
- ``allowance_classes`` / ``allowance_zones``: empty.
- ``voice.offpeak_factor``: 1; ``overage_discount_percent``: 0; ``roaming``: empty (then
  every roaming zone must be in ``allowance_zones``, rule 9).
- ``low_balance_threshold``: 0 (no ``low_balance`` alert can fire); ``tax_rate``: required.
Required and never defaulted because a guess would misprice: ``timezone``, ``tax_rate``,
``voice.rounding``, ``voice.per_minute`` for every destination class, ``sms.per_message``
for every class, ``data.per_mb``, ``data.increment_kb``, and per roaming zone outside
``allowance_zones`` all of ``per_minute``, ``per_message``, ``per_mb``.

Prices may not have more than 6 decimal places and may not be negative. ``offpeak`` bands:
``days`` from mon..sun, ``from``/``to`` as ``HH:MM`` between 00:00 and 24:00.
"""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import yaml

from rating.money import fraction_from_text, micro_from_text

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PAYMENTS = ("prepaid", "postpaid")
_WEEKDAY_NAMES = {
    **{d: i for i, d in enumerate(WEEKDAYS)},
    **{d: i for i, d in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))},
}
_ROUNDING = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]+)\s*$")
_CLOCK = re.compile(r"^([0-9]{2}):([0-9]{2})$")


class CatalogError(ValueError):
    """The catalog cannot be used; the message names the plan (if any) and the field."""


@dataclass(frozen=True)
class PrefixRule:
    prefix: str
    name: str


@dataclass(frozen=True)
class OffpeakBand:
    """``[start_s, end_s)`` seconds of local day on each of ``days`` (0 = Monday).

    When ``end_s <= start_s`` the band runs from ``start_s`` on a listed day to ``end_s``
    on the following day (SPEC rule 5).
    """

    days: frozenset[int]
    start_s: int
    end_s: int


@dataclass(frozen=True)
class Rounding:
    """Voice rounding ``"A/B"``: at least ``minimum_s``, then whole ``increment_s`` steps."""

    minimum_s: int
    increment_s: int


@dataclass(frozen=True)
class RoamingPrices:
    per_minute: int  # micro-units
    per_message: int
    per_mb: int


@dataclass(frozen=True)
class Plan:
    id: str
    payment: str
    monthly_fee: int
    allowance_voice_s: int
    allowance_sms: int
    allowance_data_bytes: int
    allowance_classes: frozenset[str]
    allowance_zones: frozenset[str]
    rounding: Rounding
    voice_per_minute: dict[str, int] = field(hash=False)
    offpeak_factor: Fraction
    sms_per_message: dict[str, int] = field(hash=False)
    data_per_mb: int
    data_increment_kb: int
    roaming: dict[str, RoamingPrices] = field(hash=False)
    overage_discount_percent: Fraction


@dataclass(frozen=True)
class Catalog:
    currency: str
    timezone: str
    tax_rate: Fraction
    low_balance_threshold: int  # micro-units, tax inclusive
    destination_classes: tuple[PrefixRule, ...]
    roaming_zones: tuple[PrefixRule, ...]
    offpeak: tuple[OffpeakBand, ...]
    plans: dict[str, Plan] = field(hash=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.name for r in self.destination_classes))

    @property
    def zone_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.name for r in self.roaming_zones))


def load_catalog(source: str | Path) -> Catalog:
    """The catalog from a YAML file path or YAML text; ``CatalogError`` if unusable.

    A ``str`` without a line break is taken as a path, anything else as YAML text.
    """
    if isinstance(source, Path):
        text = _read(source)
    elif "\n" not in source:
        text = _read(Path(source))
    else:
        text = source
    try:
        doc = yaml.load(text, Loader=_ExactLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog: not valid YAML{_where(exc)}") from None
    if not isinstance(doc, dict):
        raise CatalogError("catalog: expected a mapping at the top level")
    return _catalog(doc)


def _where(error: yaml.YAMLError) -> str:
    """` at line L, column C: what` for a YAML error, 1-based as editors count."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "context", None)
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return at + (f": {problem}" if problem else f" ({error.__class__.__name__})")


class _ExactLoader(yaml.SafeLoader):
    """SafeLoader that reads unquoted decimals as ``Decimal``, never as binary floats."""


def _exact_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("NaN")


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"catalog: cannot read {path}: {exc.strerror}") from None


def _catalog(doc: dict) -> Catalog:
    where = "catalog"
    tz = _required(doc, "timezone", where)
    try:
        zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CatalogError(f"catalog: timezone: unknown time zone {tz!r}") from None
    tax_rate = _fraction(_required(doc, "tax_rate", where), f"{where}: tax_rate")
    threshold = _micro(doc.get("low_balance_threshold", "0"), f"{where}: low_balance_threshold")
    classes = _prefix_rules(doc.get("destination_classes"), "destination_classes", "class")
    zones = _prefix_rules(doc.get("roaming_zones", []), "roaming_zones", "zone")
    bands = tuple(_band(b, i) for i, b in enumerate(_list(doc.get("offpeak", []), "offpeak")))
    class_names = tuple(dict.fromkeys(r.name for r in classes))
    zone_names = tuple(dict.fromkeys(r.name for r in zones))
    plans: dict[str, Plan] = {}
    for i, raw in enumerate(_list(_required(doc, "plans", where), "plans")):
        if not isinstance(raw, dict) or "id" not in raw:
            raise CatalogError(f"catalog: plans[{i}]: missing field id")
        plan = _plan(raw, class_names, zone_names)
        if plan.id in plans:
            raise CatalogError(f"catalog: plan {plan.id}: defined twice")
        plans[plan.id] = plan
    return Catalog(
        currency=str(doc.get("currency", "")),
        timezone=str(tz),
        tax_rate=tax_rate,
        low_balance_threshold=threshold,
        destination_classes=classes,
        roaming_zones=zones,
        offpeak=bands,
        plans=plans,
    )


def _plan(raw: dict, class_names: tuple[str, ...], zone_names: tuple[str, ...]) -> Plan:
    pid = str(raw["id"])
    where = f"catalog: plan {pid}"
    payment = str(raw.get("payment", "postpaid"))
    if payment not in PAYMENTS:
        raise CatalogError(f"{where}: payment: expected prepaid or postpaid, got {payment!r}")
    allowances = _mapping(raw.get("allowances", {}) or {}, f"{where}: allowances")
    allowance_classes = frozenset(str(c) for c in _list(raw.get("allowance_classes", []) or [], f"{where}: allowance_classes"))
    allowance_zones = frozenset(str(z) for z in _list(raw.get("allowance_zones", []) or [], f"{where}: allowance_zones"))
    for c in sorted(allowance_classes - set(class_names)):
        raise CatalogError(f"{where}: allowance_classes: unknown destination class {c!r}")
    for z in sorted(allowance_zones - set(zone_names)):
        raise CatalogError(f"{where}: allowance_zones: unknown roaming zone {z!r}")

    voice = _mapping(_required(raw, "voice", where), f"{where}: voice")
    rounding = _rounding(_required(voice, "rounding", f"{where}: voice"), f"{where}: voice.rounding")
    per_minute = _class_prices(voice, "per_minute", class_names, f"{where}: voice")
    offpeak_factor = _fraction(voice.get("offpeak_factor", "1"), f"{where}: voice.offpeak_factor")
    if offpeak_factor < 0:
        raise CatalogError(f"{where}: voice.offpeak_factor: may not be negative")
    sms = _mapping(_required(raw, "sms", where), f"{where}: sms")
    per_message = _class_prices(sms, "per_message", class_names, f"{where}: sms")
    data = _mapping(_required(raw, "data", where), f"{where}: data")
    per_mb = _price(_required(data, "per_mb", f"{where}: data"), f"{where}: data.per_mb")
    increment_kb = _count(_required(data, "increment_kb", f"{where}: data"), f"{where}: data.increment_kb", minimum=1)

    roaming_raw = _mapping(raw.get("roaming", {}) or {}, f"{where}: roaming")
    roaming: dict[str, RoamingPrices] = {}
    for zone in zone_names:
        if zone in allowance_zones and zone not in roaming_raw:
            continue
        if zone not in roaming_raw:
            raise CatalogError(f"{where}: roaming: no price for roaming zone {zone!r}")
        zp = _mapping(roaming_raw[zone], f"{where}: roaming.{zone}")
        roaming[zone] = RoamingPrices(
            per_minute=_price(_required(zp, "per_minute", f"{where}: roaming.{zone}"), f"{where}: roaming.{zone}.per_minute"),
            per_message=_price(_required(zp, "per_message", f"{where}: roaming.{zone}"), f"{where}: roaming.{zone}.per_message"),
            per_mb=_price(_required(zp, "per_mb", f"{where}: roaming.{zone}"), f"{where}: roaming.{zone}.per_mb"),
        )
    discount = _fraction(raw.get("overage_discount_percent", "0"), f"{where}: overage_discount_percent")
    if not 0 <= discount <= 100:
        raise CatalogError(f"{where}: overage_discount_percent: must be between 0 and 100")
    return Plan(
        id=pid,
        payment=payment,
        monthly_fee=_micro(raw.get("monthly_fee", "0"), f"{where}: monthly_fee"),
        allowance_voice_s=_count(allowances.get("voice_s", 0), f"{where}: allowances.voice_s"),
        allowance_sms=_count(allowances.get("sms", 0), f"{where}: allowances.sms"),
        allowance_data_bytes=_count(allowances.get("data_bytes", 0), f"{where}: allowances.data_bytes"),
        allowance_classes=allowance_classes,
        allowance_zones=allowance_zones,
        rounding=rounding,
        voice_per_minute=per_minute,
        offpeak_factor=offpeak_factor,
        sms_per_message=per_message,
        data_per_mb=per_mb,
        data_increment_kb=increment_kb,
        roaming=roaming,
        overage_discount_percent=discount,
    )


def _class_prices(section: dict, key: str, class_names: tuple[str, ...], where: str) -> dict[str, int]:
    table = _mapping(_required(section, key, where), f"{where}.{key}")
    prices = {}
    for cls in class_names:
        if cls not in table:
            raise CatalogError(f"{where}.{key}: no price for destination class {cls!r}")
        prices[cls] = _price(table[cls], f"{where}.{key}.{cls}")
    return prices


def _prefix_rules(raw: object, name: str, label: str) -> tuple[PrefixRule, ...]:
    if raw is None:
        raise CatalogError(f"catalog: missing field {name}")
    rules = []
    seen = set()
    for i, item in enumerate(_list(raw, name)):
        if not isinstance(item, dict) or "prefix" not in item or label not in item:
            raise CatalogError(f"catalog: {name}[{i}]: needs prefix and {label}")
        prefix = "" if item["prefix"] is None else str(item["prefix"])
        if prefix and not prefix.isdigit():
            raise CatalogError(f"catalog: {name}[{i}]: prefix must be digits, got {prefix!r}")
        if prefix in seen:
            raise CatalogError(f"catalog: {name}[{i}]: prefix {prefix!r} listed twice")
        seen.add(prefix)
        rules.append(PrefixRule(prefix=prefix, name=str(item[label])))
    return tuple(rules)


def _band(raw: object, i: int) -> OffpeakBand:
    where = f"catalog: offpeak[{i}]"
    band = _mapping(raw, where)
    days = _list(_required(band, "days", where), f"{where}.days")
    numbers = set()
    for d in days:
        key = _WEEKDAY_NAMES.get(str(d).strip().lower())
        if key is None:
            raise CatalogError(f"{where}.days: unknown weekday {d!r}")
        numbers.add(key)
    return OffpeakBand(
        days=frozenset(numbers),
        start_s=_clock(_required(band, "from", where), f"{where}.from"),
        end_s=_clock(_required(band, "to", where), f"{where}.to"),
    )


def _clock(raw: object, where: str) -> int:
    m = _CLOCK.match(str(raw).strip())
    if not m:
        raise CatalogError(f"{where}: expected HH:MM, got {raw!r}")
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and mi != 0):
        raise CatalogError(f"{where}: not a time of day between 00:00 and 24:00: {raw!r}")
    return h * 3600 + mi * 60


def _rounding(raw: object, where: str) -> Rounding:
    m = _ROUNDING.match(str(raw))
    if not m or int(m.group(2)) < 1:
        raise CatalogError(f"{where}: unknown rounding format {raw!r}, expected \"A/B\" such as \"60/1\"")
    return Rounding(minimum_s=int(m.group(1)), increment_s=int(m.group(2)))


def _required(doc: dict, key: str, where: str) -> object:
    if key not in doc or doc[key] is None:
        raise CatalogError(f"{where}: missing field {key}")
    return doc[key]


def _mapping(raw: object, where: str) -> dict:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected a mapping")
    return raw


def _list(raw: object, where: str) -> list:
    if not isinstance(raw, list):
        raise CatalogError(f"{where}: expected a list")
    return raw


def _price(raw: object, where: str) -> int:
    micro = _micro(raw, where)
    if micro < 0:
        raise CatalogError(f"{where}: price may not be negative")
    return micro


def _micro(raw: object, where: str) -> int:
    try:
        return micro_from_text(raw)
    except ValueError as exc:
        raise CatalogError(f"{where}: bad decimal: {exc}") from None


def _fraction(raw: object, where: str) -> Fraction:
    try:
        return fraction_from_text(raw)
    except ValueError as exc:
        raise CatalogError(f"{where}: bad decimal: {exc}") from None


def _count(raw: object, where: str, minimum: int = 0) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise CatalogError(f"{where}: expected a whole number >= {minimum}, got {raw!r}")
    return raw

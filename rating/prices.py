"""Plan prices as arrays, and the exact charge of SPEC rules 5 and 6.

``charge = round_half_up(unit_price x charged_units / unit x factor, 6)`` where ``unit`` is
60 s for per-minute prices, 1 message, 1,048,576 bytes for per-MB prices, and ``factor`` is
``(1 - overage_discount_percent / 100)``, times ``offpeak_factor`` for voice priced from the
destination-class table in an off-peak band (home, or roaming in an ``allowance_zones``
zone: rated as at home). Plan ``roaming`` prices are never off-peak discounted, but the
overage discount applies to them too ("every charge it produces"). One rounding per record,
of the exact product. ``tax = round_half_up(charge x tax_rate, 6)``; ``total = charge + tax``.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from rating.catalog import Catalog
from rating.money import half_up_scaled

VOICE, SMS, DATA = 0, 1, 2
SERVICE_NAMES = ("voice", "sms", "data")
UNIT_DIVISOR = np.array([60, 1, 1_048_576], dtype=np.int64)


@dataclass(frozen=True)
class PlanTable:
    """Every plan's parameters as arrays indexed by plan number (and class / zone number)."""

    plan_ids: tuple[str, ...]
    payment_prepaid: np.ndarray  # bool per plan
    minimum_s: np.ndarray
    increment_s: np.ndarray
    increment_bytes: np.ndarray
    allowance: np.ndarray  # (plan, service)
    allowance_class: np.ndarray  # (plan, class) bool
    allowance_zone: np.ndarray  # (plan, zone) bool
    class_price: np.ndarray  # (plan, service voice/sms, class) micro
    data_price: np.ndarray  # (plan,) micro per MB
    roaming_price: np.ndarray  # (plan, service, zone) micro; -1 where not priced
    factor_num: np.ndarray  # (plan, offpeak 0/1)
    factor_den: np.ndarray


def plan_table(catalog: Catalog) -> PlanTable:
    classes = catalog.class_names
    zones = catalog.zone_names
    plans = list(catalog.plans.values())
    p, c, z = len(plans), len(classes), len(zones)
    allowance = np.zeros((p, 3), dtype=np.int64)
    allowance_class = np.zeros((p, max(c, 1)), dtype=bool)
    allowance_zone = np.zeros((p, max(z, 1)), dtype=bool)
    class_price = np.zeros((p, 2, max(c, 1)), dtype=np.int64)
    roaming_price = np.full((p, 3, max(z, 1)), -1, dtype=np.int64)
    factor_num = np.zeros((p, 2), dtype=np.int64)
    factor_den = np.ones((p, 2), dtype=np.int64)
    for i, plan in enumerate(plans):
        allowance[i] = (plan.allowance_voice_s, plan.allowance_sms, plan.allowance_data_bytes)
        for j, cls in enumerate(classes):
            allowance_class[i, j] = cls in plan.allowance_classes
            class_price[i, VOICE, j] = plan.voice_per_minute[cls]
            class_price[i, SMS, j] = plan.sms_per_message[cls]
        for j, zone in enumerate(zones):
            allowance_zone[i, j] = zone in plan.allowance_zones
            if zone in plan.roaming:
                r = plan.roaming[zone]
                roaming_price[i, :, j] = (r.per_minute, r.per_message, r.per_mb)
        plain = 1 - plan.overage_discount_percent / 100
        for k, f in enumerate((Fraction(plain), Fraction(plain) * plan.offpeak_factor)):
            factor_num[i, k] = f.numerator
            factor_den[i, k] = f.denominator
    return PlanTable(
        plan_ids=tuple(pl.id for pl in plans),
        payment_prepaid=np.array([pl.payment == "prepaid" for pl in plans], dtype=bool),
        minimum_s=np.array([pl.rounding.minimum_s for pl in plans], dtype=np.int64),
        increment_s=np.array([pl.rounding.increment_s for pl in plans], dtype=np.int64),
        increment_bytes=np.array([pl.data_increment_kb * 1024 for pl in plans], dtype=np.int64),
        allowance=allowance,
        allowance_class=allowance_class,
        allowance_zone=allowance_zone,
        class_price=class_price,
        data_price=np.array([pl.data_per_mb for pl in plans], dtype=np.int64),
        roaming_price=roaming_price,
        factor_num=factor_num,
        factor_den=factor_den,
    )


def charges_micro(
    table: PlanTable,
    plan: np.ndarray,
    service: np.ndarray,
    dest_class: np.ndarray,
    zone: np.ndarray,
    roaming_priced: np.ndarray,
    offpeak: np.ndarray,
    charged_units: np.ndarray,
) -> np.ndarray:
    """Charge of each record in micro-units, exact and rounded half up once."""
    n = plan.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cls = np.maximum(dest_class, 0)
    zn = np.maximum(zone, 0)
    svc_cls = np.minimum(service, SMS)
    home_price = np.where(service == DATA, table.data_price[plan], table.class_price[plan, svc_cls, cls])
    roam_price = table.roaming_price[plan, service, zn]
    price = np.where(roaming_priced, roam_price, home_price)
    discounted_offpeak = (offpeak & (service == VOICE) & ~roaming_priced).astype(np.int64)
    numer = table.factor_num[plan, discounted_offpeak]
    denom = table.factor_den[plan, discounted_offpeak] * UNIT_DIVISOR[service]
    return half_up_scaled(price, charged_units, numer, denom)


def tax_micro(charge: np.ndarray, tax_rate: Fraction) -> np.ndarray:
    one = np.ones_like(charge)
    return half_up_scaled(charge, one, np.int64(tax_rate.numerator), np.int64(tax_rate.denominator))

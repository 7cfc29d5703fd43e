"""The simulated operator's tariff catalog (SPEC section 2) and its rule-9 check.

Plans cover both payment kinds, the three voice roundings, plans with and without
allowances, international in an allowance, world and eu roaming prices and discounts, so
that every branch of SPEC section 3 is exercised by the simulated traffic.
"""
from __future__ import annotations

from typing import Any

DESTINATION_CLASSES = ("onnet", "national", "premium", "international")
ROAMING_ZONES = ("eu", "world")

NO_ALLOWANCE = {"voice_s": 0, "sms": 0, "data_bytes": 0}


def _voice(rounding: str, onnet: str, national: str, premium: str, international: str,
           offpeak_factor: str) -> dict[str, Any]:
    return {"rounding": rounding,
            "per_minute": {"onnet": onnet, "national": national, "premium": premium,
                           "international": international},
            "offpeak_factor": offpeak_factor}


def _sms(onnet: str, national: str, premium: str, international: str) -> dict[str, Any]:
    return {"per_message": {"onnet": onnet, "national": national, "premium": premium,
                            "international": international}}


def _roaming_prices(per_minute: str, per_message: str, per_mb: str) -> dict[str, str]:
    return {"per_minute": per_minute, "per_message": per_message, "per_mb": per_mb}


def catalog_document() -> dict[str, Any]:
    """The catalog as the mapping written to catalog.yaml (all prices decimal strings)."""
    return {
        "currency": "EUR",
        "timezone": "Europe/London",
        "tax_rate": "0.20",
        "low_balance_threshold": "2.00",
        "destination_classes": [
            {"prefix": "4479", "class": "onnet"},
            {"prefix": "44", "class": "national"},
            {"prefix": "4490", "class": "premium"},
            {"prefix": "", "class": "international"},
        ],
        "roaming_zones": [
            {"prefix": "208", "zone": "eu"},
            {"prefix": "214", "zone": "eu"},
            {"prefix": "222", "zone": "eu"},
            {"prefix": "262", "zone": "eu"},
            {"prefix": "", "zone": "world"},
        ],
        "offpeak": [
            {"days": ["sat", "sun"], "from": "00:00", "to": "24:00"},
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "19:00", "to": "07:00"},
        ],
        "plans": [
            {
                "id": "SMART10", "payment": "postpaid", "monthly_fee": "10.00",
                "allowances": {"voice_s": 18000, "sms": 500, "data_bytes": 5368709120},
                "allowance_classes": ["onnet", "national"],
                "allowance_zones": ["eu"],
                "voice": _voice("60/1", "0.05", "0.10", "1.50", "0.80", "0.5"),
                "sms": _sms("0.05", "0.08", "0.50", "0.25"),
                "data": {"per_mb": "0.01", "increment_kb": 100},
                "roaming": {"world": _roaming_prices("1.50", "0.40", "5.00")},
                "overage_discount_percent": "10",
            },
            {
                "id": "BIZ30", "payment": "postpaid", "monthly_fee": "30.00",
                "allowances": {"voice_s": 60000, "sms": 2000, "data_bytes": 21474836480},
                "allowance_classes": ["onnet", "national", "international"],
                "allowance_zones": ["eu"],
                "voice": _voice("1/1", "0.04", "0.06", "1.20", "0.45", "0.8"),
                "sms": _sms("0.04", "0.06", "0.40", "0.20"),
                "data": {"per_mb": "0.005", "increment_kb": 10},
                "roaming": {"world": _roaming_prices("0.99", "0.25", "2.50")},
                "overage_discount_percent": "15",
            },
            {
                "id": "BASIC", "payment": "postpaid", "monthly_fee": "4.00",
                "allowances": dict(NO_ALLOWANCE),
                "allowance_classes": [],
                "allowance_zones": [],
                "voice": _voice("60/60", "0.06", "0.09", "1.80", "0.95", "0.5"),
                "sms": _sms("0.06", "0.09", "0.60", "0.30"),
                "data": {"per_mb": "0.015", "increment_kb": 1024},
                "roaming": {"eu": _roaming_prices("0.20", "0.08", "0.05"),
                            "world": _roaming_prices("1.99", "0.50", "7.50")},
                "overage_discount_percent": "0",
            },
            {
                "id": "PAYG", "payment": "prepaid", "monthly_fee": "0.00",
                "allowances": dict(NO_ALLOWANCE),
                "allowance_classes": [],
                "allowance_zones": [],
                "voice": _voice("1/1", "0.08", "0.12", "2.00", "1.10", "1"),
                "sms": _sms("0.06", "0.10", "0.75", "0.35"),
                "data": {"per_mb": "0.02", "increment_kb": 1},
                "roaming": {"eu": _roaming_prices("0.25", "0.10", "0.08"),
                            "world": _roaming_prices("2.50", "0.60", "9.00")},
                "overage_discount_percent": "0",
            },
            {
                "id": "PREPAID5", "payment": "prepaid", "monthly_fee": "5.00",
                "allowances": {"voice_s": 3000, "sms": 100, "data_bytes": 1073741824},
                "allowance_classes": ["onnet"],
                "allowance_zones": ["eu"],
                "voice": _voice("60/1", "0.07", "0.11", "1.90", "0.99", "0.5"),
                "sms": _sms("0.05", "0.09", "0.70", "0.30"),
                "data": {"per_mb": "0.012", "increment_kb": 100},
                "roaming": {"world": _roaming_prices("1.80", "0.45", "6.00")},
                "overage_discount_percent": "5",
            },
        ],
    }


def catalog_problems(catalog: dict[str, Any]) -> list[str]:
    """SPEC rule 9 violations, one line each naming the plan and the missing price."""
    classes = [str(rule["class"]) for rule in catalog["destination_classes"]]
    zones = sorted({str(rule["zone"]) for rule in catalog["roaming_zones"]})
    problems = []
    for plan in catalog["plans"]:
        plan_id = plan["id"]
        for service, table in (("voice", "per_minute"), ("sms", "per_message")):
            prices = (plan.get(service) or {}).get(table) or {}
            problems += [f"plan {plan_id}: {service}.{table} has no price for {c}"
                         for c in classes if c not in prices]
        if "per_mb" not in (plan.get("data") or {}):
            problems.append(f"plan {plan_id}: data.per_mb is missing")
        for zone in zones:
            if zone in (plan.get("allowance_zones") or []):
                continue
            prices = (plan.get("roaming") or {}).get(zone) or {}
            problems += [f"plan {plan_id}: roaming.{zone}.{key} is missing"
                         for key in ("per_minute", "per_message", "per_mb") if key not in prices]
    return problems

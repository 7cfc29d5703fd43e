"""Hand-made store rows for the assurance tests: every column given, defaults plain."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

# Every test dataset starts here; times are naive UTC, as the store returns them.
T0 = datetime(2026, 11, 2, 8, 0, 0)


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


def network_row(record_id: str, msisdn: str = "447900000001", *, service: str = "voice",
                start_time: datetime = T0, duration_s: int = 60, volume_bytes: int = 0,
                element_id: str = "msc-01") -> dict[str, Any]:
    return dict(record_id=record_id, msisdn=msisdn, service=service, start_time=start_time,
                duration_s=duration_s, volume_bytes=volume_bytes, destination="447911111111",
                roaming_mccmnc="", element_id=element_id, cell_id="", extra="", source="test")


def billed_row(bill_record_id: str, record_id: str, charge: str, *, msisdn: str = "447900000001",
               service: str = "voice", start_time: datetime = T0, duration_s: int = 60,
               volume_bytes: int = 0, billed_at: datetime | None = None) -> dict[str, Any]:
    return dict(bill_record_id=bill_record_id, record_id=record_id, msisdn=msisdn, service=service,
                start_time=start_time, duration_s=duration_s, volume_bytes=volume_bytes,
                charge=Decimal(charge), billed_at=billed_at or start_time + timedelta(hours=1),
                extra="", source="test")


def rated_row(record_id: str, charge: str, *, msisdn: str = "447900000001", status: str = "rated",
              reason: str = "", service: str = "voice", start_time: datetime = T0,
              duration_s: int = 60, volume_bytes: int = 0, element_id: str = "msc-01",
              payment: str = "postpaid", tax: str | None = None, unfunded: str = "0",
              source: str = "test") -> dict[str, Any]:
    charge_d = Decimal(charge)
    tax_d = Decimal(tax) if tax is not None else (charge_d * Decimal("0.20")).quantize(Decimal("0.000001"))
    return dict(record_id=record_id, msisdn=msisdn, service=service, start_time=start_time,
                duration_s=duration_s, volume_bytes=volume_bytes, destination="447911111111",
                roaming_mccmnc="", element_id=element_id, cell_id="", plan_id="SMART10",
                payment=payment, dest_class="national", roaming_zone="", offpeak=False,
                billable_units=duration_s, allowance_units=0, charged_units=duration_s,
                charge=charge_d, tax=tax_d, total=charge_d + tax_d, unfunded=Decimal(unfunded),
                balance_after=Decimal(0) if payment == "prepaid" else None, cycle_start=None,
                status=status, reason=reason, source=source)


def subscriber_row(msisdn: str, status: str = "active", *, activated_at: datetime = datetime(2026, 1, 1),
                   payment: str = "postpaid") -> dict[str, Any]:
    return dict(msisdn=msisdn, account_id=f"A{msisdn[-4:]}", plan_id="SMART10", payment=payment,
                status=status, activated_at=activated_at, cycle_day=1, balance=None,
                credit_limit=Decimal("100"), segment="consumer")


def provisioning_row(msisdn: str, status: str = "active") -> dict[str, Any]:
    return dict(msisdn=msisdn, imsi=f"23410{msisdn[-10:]}", status=status,
                provisioned_at=datetime(2026, 1, 1))


def insert(client: Any, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        client.insert(f"revguard.{table}", [[r[c] for c in columns] for r in rows], column_names=columns)

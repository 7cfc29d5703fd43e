"""The simulator's output lines, in the formats of SPEC section 1.

Money is written as a decimal string with 6 decimal places ("0.123400"); timestamps as
RFC 3339 UTC with `Z`. Every value written here is digits or a fixed ASCII token, so the
JSON lines are assembled directly rather than through a JSON encoder.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flows.simulator.network import rfc3339

OUTPUT_FILES = ("network.ndjson", "billed.ndjson", "adjustments.ndjson", "subscribers.csv",
                "provisioning.csv", "catalog.yaml", "truth.ndjson")
SUBSCRIBER_COLUMNS = ("msisdn", "account_id", "plan_id", "payment", "status", "activated_at",
                      "cycle_day", "balance", "credit_limit", "segment")
PROVISIONING_COLUMNS = ("msisdn", "imsi", "status", "provisioned_at")


def money_text(amount: Decimal) -> str:
    """`amount` with 6 decimals and no negative zero."""
    return "0.000000" if amount == 0 else f"{amount:.6f}"


# `start` arrives formatted (RFC 3339): a record's start is written up to three times.
def network_line(record_id: str, msisdn: str, service: str, start: str, duration_s: int,
                 volume_bytes: int, destination: str, roaming_mccmnc: str, element_id: str,
                 cell_id: str) -> str:
    return (f'{{"record_id":"{record_id}","msisdn":"{msisdn}","service":"{service}",'
            f'"start_time":"{start}","duration_s":{duration_s},'
            f'"volume_bytes":{volume_bytes},"destination":"{destination}",'
            f'"roaming_mccmnc":"{roaming_mccmnc}","element_id":"{element_id}",'
            f'"cell_id":"{cell_id}"}}\n')


def billed_line(bill_record_id: str, record_id: str, msisdn: str, service: str, start: str,
                duration_s: int, volume_bytes: int, charge: Decimal, billed_at: int) -> str:
    return (f'{{"bill_record_id":"{bill_record_id}","record_id":"{record_id}",'
            f'"msisdn":"{msisdn}","service":"{service}","start_time":"{start}",'
            f'"duration_s":{duration_s},"volume_bytes":{volume_bytes},'
            f'"charge":"{money_text(charge)}","billed_at":"{rfc3339(billed_at)}"}}\n')


def adjustment_line(adjustment_id: str, msisdn: str, amount: Decimal, time: int, kind: str) -> str:
    return (f'{{"adjustment_id":"{adjustment_id}","msisdn":"{msisdn}",'
            f'"amount":"{money_text(amount)}","time":"{rfc3339(time)}","kind":"{kind}"}}\n')


def truth_line(kind: str, **keys: Any) -> str:
    """One injected fault: its kind, the keys it concerns, and `amount` where it applies."""
    fields: dict[str, Any] = {"kind": kind}
    for name, value in keys.items():
        fields[name] = money_text(value) if isinstance(value, Decimal) else value
    return json.dumps(fields, separators=(",", ":")) + "\n"


def csv_line(values: tuple[str, ...]) -> str:
    # no value ever holds a comma, quote or newline: all are digits, ids or fixed tokens
    return ",".join(values) + "\n"

"""Findings out of the store as NDJSON, one finding per line (SPEC section 4)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

_FINDINGS = """
SELECT finding_id, kind, record_id, bill_record_id, msisdn, element_id,
       toDecimalString(amount, 6), event_time, detected_at, evidence
FROM revguard.discrepancies FINAL
ORDER BY event_time, kind, finding_id
"""

FIELDS: tuple[str, ...] = (
    "finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id",
    "amount", "event_time", "detected_at", "evidence",
)


def export_discrepancies(client: Any, out: Path) -> int:
    """Write every finding to `out` as NDJSON and return how many were written.

    Amounts are decimal strings (exact), times RFC 3339 in UTC with a `Z`, evidence a
    JSON object. The file is written beside `out` first and renamed, so a reader never
    sees half an export.
    """
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    count = 0
    with client.query_rows_stream(_FINDINGS) as rows, partial.open("w", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(finding_object(row), ensure_ascii=False, separators=(",", ":")))
            sink.write("\n")
            count += 1
    partial.replace(out)
    return count


def finding_object(row: tuple | list) -> dict[str, Any]:
    """One stored finding as the exported JSON object."""
    finding = dict(zip(FIELDS, row))
    finding["amount"] = str(Decimal(finding["amount"]))
    finding["event_time"] = rfc3339(finding["event_time"])
    finding["detected_at"] = rfc3339(finding["detected_at"])
    finding["evidence"] = json.loads(finding["evidence"] or "{}")
    return finding


def rfc3339(moment: datetime) -> str:
    """A naive-UTC (or aware) time as `2026-11-02T08:15:00Z`, milliseconds only when present."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"

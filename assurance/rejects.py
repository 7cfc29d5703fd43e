"""Refused input for the analyst: each rejected record with its raw text, its reason and what it
meets in the reconciliation (`revguard export rejects`, the analysts' app)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from assurance.export import rfc3339

_REFUSED = resources.files("assurance").joinpath("sql", "refused_records.sql").read_text()
_EVERY = 2**63  # LIMIT of "no limit"


@dataclass(frozen=True)
class RefusedRecord:
    """One rejected input record. The keys are those its raw text names (empty when it names
    none); `counterpart` says what it meets on the other side: `network record in the store`
    for a refused bill, `billed record in the store` for a refused network record, or empty."""

    stream: str
    source: str
    record_id: str
    bill_record_id: str
    msisdn: str
    reason: str
    raw: str
    counterpart: str
    rejected_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "rejected_at": rfc3339(self.rejected_at)}


def refused_records(client: Any, stream: str | None = None, limit: int | None = None) -> list[RefusedRecord]:
    """Rejected records of one stream (`network`, `billed`, `adjustments`) or all, oldest
    first, at most `limit`."""
    rows = client.query(_REFUSED, parameters={"stream": stream or "", "limit": _EVERY if limit is None else limit}).result_rows
    return [RefusedRecord(*row) for row in rows]


def export_rejects(client: Any, out: Path, stream: str | None = None) -> int:
    """Every refused record as NDJSON (fields of `RefusedRecord`); returns how many. Written
    beside `out` and renamed, so a reader never sees half an export."""
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    records = refused_records(client, stream)
    with partial.open("w", encoding="utf-8") as sink:
        for record in records:
            sink.write(json.dumps(record.to_json(), ensure_ascii=False, separators=(",", ":")))
            sink.write("\n")
    partial.replace(out)
    return len(records)

"""Reading findings back from the store in the shape the tests compare."""
from __future__ import annotations

import json
from typing import Any


def findings_of(client: Any, kind: str | None = None) -> list[dict[str, Any]]:
    rows = client.query(
        "SELECT kind, record_id, bill_record_id, msisdn, element_id, amount, event_time, evidence, finding_id"
        " FROM revguard.discrepancies FINAL"
        " WHERE {kind:String} = '' OR kind = {kind:String}"
        " ORDER BY kind, event_time, record_id, bill_record_id, msisdn, element_id",
        parameters={"kind": kind or ""},
    ).result_rows
    names = ("kind", "record_id", "bill_record_id", "msisdn", "element_id", "amount", "event_time",
             "evidence", "finding_id")
    found = [dict(zip(names, row)) for row in rows]
    for f in found:
        f["evidence"] = json.loads(f["evidence"])
    return found

"""A rejected network line names its `record_id` and `msisdn` whenever its text gives them:
in `revguard rate` output and in the `rejects` table written by `revguard load`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.load import load_directory
from flows.rate_file import rate_file
from tests.flows.conftest import usage

NEGATIVE = usage("n1", "447900000001", "voice", "2026-11-02T09:00:00Z", -5)
NO_SERVICE = json.dumps({"record_id": "s1", "msisdn": "447900000002", "start_time": "2026-11-02T09:00:00Z",
                         "duration_s": 0, "volume_bytes": 0, "destination": "441234", "element_id": "msc-01"})
BAD_TIME = usage("t1", "447900000001", "sms", "2026-11-02 nine o'clock")
NOT_JSON = "not json"
# (line, reason, record_id, msisdn), each worked out from the line itself
MALFORMED = [
    (NEGATIVE, "negative:duration_s", "n1", "447900000001"),
    (NO_SERVICE, "missing_field:service", "s1", "447900000002"),
    (BAD_TIME, "bad_timestamp:start_time", "t1", "447900000001"),
    (NOT_JSON, "bad_json", "", ""),
]
WHOLE = usage("ok", "447900000001", "sms", "2026-11-02T09:30:00Z")


@pytest.fixture
def malformed_dir(small_dir: Path) -> Path:
    (small_dir / "network.ndjson").write_text("\n".join([WHOLE] + [m[0] for m in MALFORMED]) + "\n")
    (small_dir / "billed.ndjson").unlink()
    (small_dir / "adjustments.ndjson").unlink()
    return small_dir


def test_rated_output_names_the_record_of_each_rejected_line_and_keeps_reason_and_raw(
    malformed_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rated.ndjson"
    counts = rate_file(malformed_dir / "catalog.yaml", malformed_dir / "subscribers.csv",
                       malformed_dir / "network.ndjson", out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["status"] == "rated"
    assert [(r["status"], r["reason"], r["record_id"], r["msisdn"], r["raw"]) for r in rows[1:]] == [
        ("rejected", reason, record_id, msisdn, line) for line, reason, record_id, msisdn in MALFORMED]
    assert (counts["in"], counts["rated"], counts["rejected"]) == (5, 1, 4)


def test_rejects_table_names_the_record_of_each_rejected_line(store_client, malformed_dir: Path) -> None:
    load_directory(store_client, malformed_dir)
    letters = store_client.query(
        "SELECT source, reason, record_id, msisdn, raw FROM revguard.rejects FINAL WHERE stream = 'network' "
        "ORDER BY toUInt32(splitByChar(':', source)[2])").result_rows
    assert letters == [(f"network.ndjson:{line_no}", reason, record_id, msisdn, line)
                       for line_no, (line, reason, record_id, msisdn) in enumerate(MALFORMED, start=2)]

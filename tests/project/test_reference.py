"""The project's own reference of its contracts is in the repository, and what a newcomer
reads points there and agrees with what the commands do."""
from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

from assurance.export import finding_object
from tests.flows.test_cli import REVGUARD

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
REFERENCE = (ROOT / "REFERENCE.md").read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def test_readme_points_to_the_reference_and_cites_no_missing_spec() -> None:
    assert "[REFERENCE.md](REFERENCE.md)" in README
    assert "SPEC" not in README


def test_help_points_to_the_reference() -> None:
    result = subprocess.run([REVGUARD, "--help"], capture_output=True, text=True, timeout=60)
    assert "REFERENCE.md" in result.stdout and "SPEC" not in result.stdout


def test_reference_covers_records_catalog_rules_findings_commands_tables_and_topics() -> None:
    headings = re.findall(r"^## (\d)\. (.+)$", REFERENCE, flags=re.M)
    assert [title.split()[0].lower() for _n, title in headings] == [
        "records", "tariff", "rating", "assurance", "commands", "tables", "kafka", "not"]


def test_every_command_in_help_is_in_the_reference() -> None:
    listing = subprocess.run([REVGUARD, "--help"], capture_output=True, text=True, timeout=60).stdout
    commands = re.findall(r"^  (\w[\w-]*)\s", listing.split("Commands:")[1], flags=re.M)
    table = section(REFERENCE, "## 5. Commands")
    assert commands, listing
    assert [c for c in commands if f"`revguard {c}" not in table] == []


def exported_fields() -> list[str]:
    """The fields `export discrepancies` writes, from one stored row shaped as the table holds it."""
    row = ("f1", "unbilled", "r1", "", "447900000001", "msc-01", "0.120000",
           dt.datetime(2026, 11, 2, 8, 15), dt.datetime(2026, 11, 4), "{}")
    return list(finding_object(row))


def test_readme_lists_every_field_export_discrepancies_writes() -> None:
    sentence = README[README.index("revguard export discrepancies --output F` (NDJSON:"):]
    listed = re.findall(r"`(\w+)`", sentence[:sentence.index(";")])
    assert listed == exported_fields()


def test_reference_lists_every_field_export_discrepancies_writes() -> None:
    findings = section(REFERENCE, "## 4. Assurance findings")
    first_table = findings[findings.index("| field |"):findings.index("| kind |")]
    listed = [name for cell in re.findall(r"^\| (.+?) \|", first_table, flags=re.M)
              for name in re.findall(r"`(\w+)`", cell)]
    assert listed == exported_fields()

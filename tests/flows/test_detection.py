"""Detection measured, not assumed: simulate -> load -> reconcile -> export, scored against truth.

The simulator labels every fault it injects (`truth.ndjson`); the findings the controls
export must match them kind by kind (SPEC section 4) with the precision, recall and money
the revenue-assurance issue asks for.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from assurance.export import export_discrepancies
from assurance.reconcile import reconcile
from assurance.scoring import score_against_truth
from flows.load import load_directory
from flows.simulator import simulate
from flows.simulator.anomalies import ANOMALY_KINDS

RECORD_KINDS = ("unbilled", "duplicate_billing", "phantom_billing", "misrated", "usage_mismatch", "unfunded_usage")
GROUP_KINDS = ("unbilled_subscriber", "ghost_subscriber", "element_gap")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("detect") / "sim"
    simulate(directory, subscribers=500, days=5, seed=7, start=dt.date(2026, 11, 1), fault_rate=0.03, progress=False)
    return directory


def ndjson(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def test_every_finding_kind_is_detected_with_its_money(chdb_client, simulated: Path, tmp_path: Path, capsys) -> None:
    load_directory(chdb_client, simulated)
    reconcile(chdb_client)
    export_discrepancies(chdb_client, tmp_path / "findings.ndjson")
    truth = ndjson(simulated / "truth.ndjson")
    scores = score_against_truth(ndjson(tmp_path / "findings.ndjson"), truth)

    with capsys.disabled():
        print("\nkind                  findings  injected  precision  recall  money reported  money injected")
        for kind, s in scores.items():
            print(f"{kind:<21} {s.findings:>9} {s.truths:>9} {s.precision or 0:>10.3f} {s.recall or 0:>7.3f}"
                  f" {s.money_reported:>15} {s.money_injected:>15}")

    # The anomaly kinds are the models' to find (`revguard score`), not the controls'.
    assert {t["kind"] for t in truth} - set(ANOMALY_KINDS) == set(RECORD_KINDS + GROUP_KINDS), \
        "every kind must be injected"
    for kind in RECORD_KINDS + GROUP_KINDS:
        floor = 0.99 if kind in RECORD_KINDS else 0.95
        s = scores[kind]
        assert s.precision >= floor and s.recall >= floor, (kind, s.precision, s.recall)
    for kind in RECORD_KINDS:
        # The money the findings report is within 0.5 % of the money injected. (Subscriber
        # kinds carry no amount; an element gap's estimate of lost revenue is evidence only.)
        s = scores[kind]
        assert abs(s.money_reported - s.money_injected) <= abs(s.money_injected) * Decimal("0.005"), kind


def test_reconcile_twice_changes_nothing(chdb_client, simulated: Path) -> None:
    load_directory(chdb_client, simulated)
    first = reconcile(chdb_client)
    rows = chdb_client.query("SELECT kind, count(), sum(amount) FROM revguard.discrepancies FINAL GROUP BY kind ORDER BY kind").result_rows
    second = reconcile(chdb_client)
    again = chdb_client.query("SELECT kind, count(), sum(amount) FROM revguard.discrepancies FINAL GROUP BY kind ORDER BY kind").result_rows
    assert again == rows
    assert [(k.kind, k.findings, k.amount) for k in second.kinds] == [(k.kind, k.findings, k.amount) for k in first.kinds]

"""The demo's closing lines for the analysts' app: the prioritisation figure and the exact
command and address that open the app on the demo's store."""
from __future__ import annotations

import json
from pathlib import Path

from flows.demo import analysts_app_lines, print_analysts_app
from tests.dashboards.seed import seed_small_store


def test_the_command_names_the_demo_home_and_the_default_address():
    lines = analysts_app_lines(Path("/data/.revguard/demo"), "revguard", "http://127.0.0.1:8501").splitlines()
    assert lines[1] == "  REVGUARD_HOME=/data/.revguard/demo revguard dashboard"
    assert lines[2] == "then browse to http://127.0.0.1:8501"


def test_the_demo_says_how_much_injected_leakage_the_largest_alarms_hold(chdb_client, tmp_path, capsys):
    seed_small_store(chdb_client)
    # F-unbilled (N2, 150.00) is found; an unbilled N9 of 50.00 was injected and missed: 150 / 200 = 75 %
    (tmp_path / "truth.ndjson").write_text(json.dumps({"kind": "unbilled", "record_id": "N2", "amount": "150.000000"}) + "\n"
                                           + json.dumps({"kind": "unbilled", "record_id": "N9", "amount": "50.000000"}) + "\n")
    print_analysts_app(chdb_client, tmp_path, tmp_path / "home", on_path=True)
    out = " ".join(capsys.readouterr().out.split())
    assert "the 2 largest of 2 leakage alarms hold 150.00 of the 200.00 leakage money injected (75.0%)" in out
    assert f"REVGUARD_HOME={tmp_path / 'home'} revguard dashboard" in out
    assert "http://127.0.0.1:8501" in out

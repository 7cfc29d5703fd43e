"""The delivery configuration: checked whole at start, routes by kind and severity."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows.alerting.config import ConfigError, parsed_config

REPO = Path(__file__).resolve().parents[2]


def document(**changes) -> dict:
    base = {"receivers": [{"name": "am", "type": "alertmanager", "url": "http://127.0.0.1:9093"},
                          {"name": "chat", "type": "slack", "url": "http://127.0.0.1:9/slack"}],
            "routes": [{"receivers": ["am"]},
                       {"receivers": ["chat"], "kinds": ["prepaid_cutoff", "element_silent"], "min_severity": "critical"}]}
    base.update(changes)
    return base


def test_every_alert_goes_to_the_catch_all_route():
    config = parsed_config(document())
    assert [r.name for r in config.receivers_for("low_balance", "info")] == ["am"]


def test_a_listed_kind_at_the_minimum_severity_also_goes_to_its_route():
    config = parsed_config(document())
    assert [r.name for r in config.receivers_for("element_silent", "critical")] == ["am", "chat"]


def test_a_listed_kind_below_the_minimum_severity_does_not():
    config = parsed_config(document())
    assert [r.name for r in config.receivers_for("element_silent", "warning")] == ["am"]


def test_an_unknown_top_level_key_is_refused_by_name():
    with pytest.raises(ConfigError, match="unknown key 'receiver'"):
        parsed_config(document(receiver=[]))


def test_an_unknown_receiver_key_is_refused_by_name():
    bad = document()
    bad["receivers"][0]["resend_every"] = 5
    with pytest.raises(ConfigError, match=r"receivers\[0\] \(alertmanager\): unknown key 'resend_every'"):
        parsed_config(bad)


def test_a_route_to_an_undefined_receiver_is_refused():
    with pytest.raises(ConfigError, match="routes\\[0\\]: unknown receiver 'pager'"):
        parsed_config(document(routes=[{"receivers": ["pager"]}]))


def test_a_webhook_without_a_signing_secret_is_refused():
    bad = document(receivers=[{"name": "hook", "type": "webhook", "url": "https://example.net/h"}],
                   routes=[{"receivers": ["hook"]}])
    with pytest.raises(ConfigError, match="exactly one of secret and secret_env"):
        parsed_config(bad)


def test_a_secret_named_by_an_unset_variable_is_refused(monkeypatch):
    monkeypatch.delenv("REVGUARD_TEST_NO_SUCH_SECRET", raising=False)
    bad = document(receivers=[{"name": "hook", "type": "webhook", "url": "https://example.net/h",
                               "secret_env": "REVGUARD_TEST_NO_SUCH_SECRET"}], routes=[{"receivers": ["hook"]}])
    with pytest.raises(ConfigError, match="REVGUARD_TEST_NO_SUCH_SECRET is not set"):
        parsed_config(bad)


def test_run_alerts_with_an_unknown_receiver_prints_one_line_and_exits_2(tmp_path):
    config = tmp_path / "alerts.yaml"
    config.write_text("receivers:\n  - {name: am, type: alertmanager, url: 'http://127.0.0.1:9093'}\n"
                      "routes:\n  - {receivers: [pager]}\n")
    result = subprocess.run([sys.executable, "-m", "flows.cli", "--kafka-bootstrap", "127.0.0.1:1", "run", "alerts",
                             "--config", str(config)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"revguard: error: {config}: routes[0]: unknown receiver 'pager' (defined: am)"]


def test_run_alerts_without_its_configuration_file_says_so_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "flows.cli", "run", "alerts", "--config", str(tmp_path / "none.yaml")],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"revguard: error: {tmp_path / 'none.yaml'}: no such alert delivery configuration"]

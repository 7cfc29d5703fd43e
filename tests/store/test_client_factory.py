"""store_client(): which store a process reaches, and one clear line when it reaches none."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from clickhouse.client import resolve_target, store_client
from clickhouse.endpoint_state import EndpointState, write_state
from clickhouse.errors import StoreUnavailable

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_python(code: str, **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("REVGUARD_CLICKHOUSE_URL", "REVGUARD_HOME")}
    env.update(environment)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def test_unknown_url_scheme_is_store_unavailable_in_one_line():
    with pytest.raises(StoreUnavailable) as raised:
        store_client("mysql://localhost:3306/revguard")
    assert "'mysql'" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_unreachable_server_is_store_unavailable_saying_connection_refused():
    port = free_port()  # bound then released: nothing listens there now
    with pytest.raises(StoreUnavailable) as raised:
        store_client(f"http://127.0.0.1:{port}")
    assert str(raised.value) == f"cannot reach ClickHouse at http://127.0.0.1:{port}: connection refused"


def test_password_in_url_is_not_repeated_in_the_error():
    port = free_port()
    with pytest.raises(StoreUnavailable) as raised:
        store_client(f"http://analyst:s3cret@127.0.0.1:{port}/revguard?password=other")
    assert "s3cret" not in str(raised.value) and "other" not in str(raised.value)


def test_relative_chdb_url_is_refused():
    with pytest.raises(StoreUnavailable, match="absolute"):
        store_client("chdb://relative/dir")


def test_environment_url_wins_over_home(monkeypatch, tmp_path):
    monkeypatch.setenv("REVGUARD_CLICKHOUSE_URL", "http://db.example:8123")
    monkeypatch.setenv("REVGUARD_HOME", str(tmp_path))
    assert resolve_target().url == "http://db.example:8123"


def test_without_url_or_endpoint_the_target_is_chdb_under_home(store_home):
    assert resolve_target().url == f"chdb://{store_home / 'chdb'}"


def test_a_state_file_of_a_dead_process_is_ignored(store_home):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write_state(store_home, EndpointState(pid=int(finished.stdout), port=free_port(), password=None, data_dir=str(store_home / "chdb")))
    assert resolve_target().scheme == "chdb"


def test_chdb_store_opens_under_home_in_this_process(store_home):
    client = store_client()
    assert client.command("SELECT 1") == 1
    assert (store_home / "chdb").is_dir()


def test_one_client_per_target_is_reused(chdb_client, chdb_url):
    assert store_client(chdb_url) is store_client(chdb_url) is chdb_client


def test_second_process_reads_through_the_endpoint_found_by_state_file(http_store, http_endpoint):
    http_store.insert("revguard.provisioning", [["447900000009", "imsi-9", "active", 0]], column_names=["msisdn", "imsi", "status", "provisioned_at"])
    code = (
        "from clickhouse.client import store_client\n"
        "client = store_client()\n"
        "print(type(client).__name__, client.command(\"SELECT imsi FROM revguard.provisioning WHERE msisdn = '447900000009'\"))\n"
    )
    finished = run_python(code, REVGUARD_HOME=str(http_endpoint.home))
    assert finished.stdout.split() == ["HttpClient", "imsi-9"], finished.stderr


def test_opening_the_endpoints_directory_from_another_process_is_refused(http_endpoint):
    code = (
        "from clickhouse.client import store_client\n"
        "from clickhouse.errors import StoreUnavailable\n"
        "try:\n"
        f"    store_client('chdb://{http_endpoint.home / 'chdb'}')\n"
        "except StoreUnavailable as error:\n"
        "    print(error)\n"
    )
    finished = run_python(code)
    assert "in use by another process" in finished.stdout, finished.stderr
    assert "revguard clickhouse serve" in finished.stdout

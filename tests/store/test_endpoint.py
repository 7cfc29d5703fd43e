"""The embedded endpoint speaks enough ClickHouse HTTP for clickhouse-connect and plain HTTP tools."""
import json
import signal
from concurrent.futures import ThreadPoolExecutor
import urllib.error
import urllib.request
from urllib.parse import quote

import pyarrow as pa
import pytest

from clickhouse.client import store_client
from clickhouse.endpoint import http_query
from clickhouse.endpoint_state import read_state, state_path
from clickhouse.errors import StoreUnavailable
from clickhouse.writer import TableWriter
from tests.fixtures.store import start_endpoint, stop_endpoint

LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, data: bytes | None = None):
    try:
        with LOOPBACK.open(url, data=data, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_ping_answers_ok(http_endpoint):
    status, _, body = fetch(f"{http_endpoint.url}/ping")
    assert (status, body) == (200, b"Ok.\n")


def test_select_reports_format_timezone_and_summary_headers(http_endpoint):
    status, headers, body = fetch(f"{http_endpoint.url}/?query={quote('SELECT 1 + 1')}")
    assert (status, body) == (200, b"2\n")
    assert headers["X-ClickHouse-Format"] == "TabSeparated"
    assert headers["X-ClickHouse-Timezone"]
    assert "read_rows" in json.loads(headers["X-ClickHouse-Summary"])


def test_engine_error_is_http_500_with_exception_code_header(http_endpoint):
    status, headers, body = fetch(http_endpoint.url + "/", data=b"SELECT * FROM revguard.no_such_table")
    assert status == 500
    assert headers["X-ClickHouse-Exception-Code"] == "60"
    assert body.startswith(b"Code: 60. DB::Exception:")


def test_query_in_url_joins_body_with_a_newline(http_endpoint):
    status, _, body = fetch(f"{http_endpoint.url}/?query={quote('SELECT')}&default_format=CSV", data=b"'a' AS x")
    assert (status, body) == (200, b'"a"\n')


def test_insert_larger_than_max_query_size_arrives_whole(http_store):
    # 100,000 rows of Native data is about 3 MB, ten times the engine's 256 KiB query size
    rows = [[f"44790{i:07d}", f"imsi-{i}", "active", 0] for i in range(100_000)]
    http_store.insert("revguard.provisioning", rows, column_names=["msisdn", "imsi", "status", "provisioned_at"])
    assert http_store.command("SELECT count() FROM revguard.provisioning") == 100_000


@pytest.mark.parametrize("compression", ["lz4", "zstd", "gzip"])
def test_compressed_insert_bodies_are_decoded(http_store, http_endpoint, compression):
    client = store_client(f"{http_endpoint.url}/?compress={compression}")
    rows = [[f"m{i}", f"imsi-{i}", "active", 0] for i in range(30_000)]  # several compressed chunks
    client.insert("revguard.provisioning", rows, column_names=["msisdn", "imsi", "status", "provisioned_at"])
    assert http_store.command("SELECT count() FROM revguard.provisioning") == 30_000


def test_arrow_insert_goes_through(http_store):
    writer = TableWriter(http_store, "revguard.provisioning", ["msisdn", "imsi", "status", "provisioned_at"])
    writer.add_batch({"msisdn": ["a", "b"], "imsi": ["1", "2"], "status": ["active", "active"], "provisioned_at": pa.array([0, 0], pa.timestamp("ms", "UTC"))})
    writer.flush()
    assert http_store.command("SELECT count() FROM revguard.provisioning") == 2


def test_insert_data_starts_after_the_first_newline_after_format():
    query = http_query({"query": "INSERT INTO t (a) FORMAT TabSeparated"}, b"  1\n")
    assert query.insert_data() == (b"INSERT INTO t (a) ", "TabSeparated", b"  1\n")


def test_statements_without_result_report_no_format():
    assert http_query({}, b"CREATE TABLE t (a UInt8) ENGINE = Memory").output_format is None
    assert http_query({"default_format": "JSON"}, b"-- note\nSELECT 1").output_format == "JSON"
    assert http_query({}, b"SELECT 1 FORMAT CSV").output_format == "CSV"


def test_transport_parameters_are_not_engine_settings():
    query = http_query({"query": "SELECT 1", "session_id": "s", "query_id": "q", "max_threads": "1", "param_x": "5"}, b"")
    assert (query.settings, query.parameters, query.query_id) == ({"max_threads": "1"}, {"x": "5"}, "q")


@pytest.fixture
def guarded_endpoint(tmp_path):
    process, endpoint = start_endpoint(tmp_path / "guarded", password="hunter2")
    yield process, endpoint
    stop_endpoint(process)


def test_password_protected_endpoint_refuses_a_wrong_password(guarded_endpoint):
    _, endpoint = guarded_endpoint
    with pytest.raises(StoreUnavailable, match="516|Authentication failed"):
        store_client(endpoint.url.replace("http://", "http://default:wrong@"))


def test_password_protected_endpoint_is_found_with_its_password_from_the_state_file(guarded_endpoint, monkeypatch):
    _, endpoint = guarded_endpoint
    monkeypatch.delenv("REVGUARD_CLICKHOUSE_URL", raising=False)
    client = store_client(home=endpoint.home)
    assert client.command("SELECT 7") == 7
    assert (state_path(endpoint.home).stat().st_mode & 0o777) == 0o600


def test_sigterm_stops_cleanly_and_removes_the_state_file(tmp_path):
    process, endpoint = start_endpoint(tmp_path / "short-lived")
    assert read_state(endpoint.home).pid == process.pid
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert not state_path(endpoint.home).exists()


def test_threads_sharing_one_client_query_concurrently(http_store):
    # one process-wide client, no server session: parallel queries must not collide
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda n: http_store.command(f"SELECT {n} * 2"), range(40)))
    assert results == [n * 2 for n in range(40)]

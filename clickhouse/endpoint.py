"""The embedded ClickHouse HTTP endpoint: one process holds the chDB directory, others talk HTTP.

chDB opens a data directory in one process only. When a live flow and the dashboard must
share the embedded store, `revguard clickhouse serve` runs `serve()`: it opens the
directory, applies migrations, listens on 127.0.0.1 and speaks the part of the ClickHouse
HTTP interface clickhouse-connect uses:

- the query in the `query` URL parameter, in the POST body, or both (parameter, newline,
  body: how ClickHouse joins them, which is also how `INSERT ... FORMAT Native` gets its
  data); multipart form fields `query` and `param_*` (clickhouse-connect's form encoding);
- `database`, `default_format`, `param_*` (server-side parameters), any other parameter is
  a query setting; `query_id`, `session_id` and the other transport parameters are accepted
  and ignored (no server sessions: each request runs on a fresh engine connection, so one
  request's settings never leak into another's);
- request bodies with `Content-Encoding` lz4, zstd, gzip or deflate; responses are sent
  uncompressed whatever `Accept-Encoding` asks, which every client accepts;
- errors as HTTP 500 with `X-ClickHouse-Exception-Code` and ClickHouse's
  `Code: N. DB::Exception: ...` body, so clickhouse-connect raises DatabaseError(code=N);
- `X-ClickHouse-Format`, `-Timezone`, `-Query-Id`, `-Summary` headers; `/ping` -> `Ok.`;
- an optional password: HTTP basic auth, `X-ClickHouse-User`/`X-ClickHouse-Key` headers,
  or `user`/`password` URL parameters.

Concurrency: chDB runs queries from different connections in parallel, so each request
thread opens its own connection to the one engine (about 1 ms); nothing is serialized
beyond opening and closing connections.
"""
from __future__ import annotations

import base64
import hmac
import gzip
import json
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import chdb
import clickhouse_connect
from clickhouse_connect.driver.compression import _require_lz4, _zstd_decompress

from clickhouse.client import CHDB_SUBDIR, revguard_home
from clickhouse.endpoint_state import EndpointState, PING_ANSWER, live_endpoint, remove_state, write_state
from clickhouse.errors import StoreUnavailable

HOST = "127.0.0.1"
DEFAULT_FORMAT = "TabSeparated"

# HTTP transport parameters a ClickHouse server consumes itself: never engine settings.
TRANSPORT_PARAMETERS = frozenset(
    {
        "query", "database", "default_format", "user", "password", "query_id", "session_id",
        "session_timeout", "session_check", "compress", "decompress", "buffer_size",
        "wait_end_of_query", "client_protocol_version", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms", "enable_http_compression",
        "http_zlib_compression_level", "quota_key", "role",
    }
)  # fmt: skip

# chdb's Python layer turns these format names into DataFrames or Arrow tables, not bytes.
_PYTHON_OBJECT_FORMATS = frozenset({"dataframe", "df", "arrowtable"})
_RESULT_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS", "CHECK", "("})
_LEADING_NOISE = re.compile(rb"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_FIRST_WORD = re.compile(rb"\(|[A-Za-z]+")
_TRAILING_FORMAT = re.compile(rb"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.IGNORECASE)
_ERROR_CODE = re.compile(r"Code:\s*(\d+)")
_SETTING_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_INSERT_FORMAT = re.compile(rb"\A(?P<head>.*?)\bFORMAT\s+(?P<format>\w+)", re.IGNORECASE | re.DOTALL)
_SETTINGS_CLAUSE = re.compile(rb"\bSETTINGS\b", re.IGNORECASE)

UNKNOWN_EXCEPTION = 1001  # STD_EXCEPTION
SYNTAX_ERROR = 62
UNKNOWN_FORMAT = 73
UNKNOWN_SETTING = 115
AUTHENTICATION_FAILED = 516
NOT_IMPLEMENTED = 48


class QueryFailed(Exception):
    """A request the engine or the endpoint refused, with its ClickHouse error code."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HttpQuery:
    """One request, as the engine will run it."""

    sql: bytes
    database: str | None
    default_format: str
    settings: dict[str, str]
    parameters: dict[str, str]
    query_id: str

    @property
    def first_word(self) -> str:
        rest = self.sql[_LEADING_NOISE.match(self.sql).end() :]
        match = _FIRST_WORD.match(rest)
        return match.group(0).decode().upper() if match else ""

    @property
    def output_format(self) -> str | None:
        """The format of the result set, or None for statements that return none (DDL, INSERT)."""
        if self.first_word == "INSERT":
            return None
        match = _TRAILING_FORMAT.search(self.sql)
        if match:
            return match.group(1).decode()
        return self.default_format if self.first_word in _RESULT_KEYWORDS else None

    def insert_data(self) -> tuple[bytes, str, bytes] | None:
        """(statement before FORMAT, format, data) for an INSERT carrying data after FORMAT.

        The data starts after the first newline following the format name, or after the
        spaces if there is no newline: ClickHouse's own rule for inline insert data."""
        if self.first_word != "INSERT":
            return None
        match = _INSERT_FORMAT.match(self.sql)
        if match is None:
            return None
        position = match.end()
        while position < len(self.sql) and self.sql[position : position + 1] in (b" ", b"\t", b"\f"):
            position += 1
        if self.sql[position : position + 1] == b"\r":
            position += 1
        if self.sql[position : position + 1] == b"\n":
            position += 1
        data = self.sql[position:]
        if not data:
            return None
        return match.group("head"), match.group("format").decode(), data


def http_query(url_parameters: dict[str, str], body: bytes) -> HttpQuery:
    """Join URL parameters and body the way a ClickHouse server does."""
    text = url_parameters.get("query", "").encode()
    sql = text + b"\n" + body if text and body else text or body
    if not sql.strip():
        raise QueryFailed(SYNTAX_ERROR, "Empty query. (SYNTAX_ERROR)")
    settings = {}
    parameters = {}
    for key, value in url_parameters.items():
        if key.startswith("param_"):
            parameters[key[len("param_") :]] = value
        elif key not in TRANSPORT_PARAMETERS:
            if not _SETTING_NAME.match(key):
                raise QueryFailed(UNKNOWN_SETTING, f"Setting {key} is neither a builtin setting nor started with the prefix 'custom_'. (UNKNOWN_SETTING)")
            settings[key] = value
    default_format = url_parameters.get("default_format") or DEFAULT_FORMAT
    if default_format.lower() in _PYTHON_OBJECT_FORMATS:
        raise QueryFailed(UNKNOWN_FORMAT, f"Unknown format {default_format}. (UNKNOWN_FORMAT)")
    return HttpQuery(
        sql=sql,
        database=url_parameters.get("database") or None,
        default_format=default_format,
        settings=settings,
        parameters=parameters,
        query_id=url_parameters.get("query_id") or str(uuid.uuid4()),
    )


@dataclass(frozen=True)
class QueryOutcome:
    body: bytes
    summary: dict[str, str]


class Engine:
    """The chDB engine on one directory, kept open by a base connection for the server's life."""

    def __init__(self, data_dir: Path):
        self.path = os.path.realpath(data_dir)
        try:
            self._base = chdb.connect(self.path)
        except RuntimeError as error:
            raise StoreUnavailable(
                f"the embedded store {self.path} is in use by another process; stop it before serving this directory"
            ) from error
        self._connections = threading.Lock()
        self._scratch = Path(self.path).parent / "tmp"
        self._scratch.mkdir(exist_ok=True)
        version, timezone = self._base.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().split()
        self.version = version
        self.timezone = timezone

    def run(self, query: HttpQuery) -> QueryOutcome:
        with self._connections:
            connection = chdb.connect(self.path)
        try:
            if query.database:
                self._query(connection, f"USE {_identifier(query.database)}", "TabSeparated")
            for name, value in query.settings.items():
                self._query(connection, f"SET {name} = {_string_literal(value)}", "TabSeparated")
            started = time.perf_counter_ns()
            insert = query.insert_data()
            if insert is None:
                result = self._query(connection, query.sql, query.default_format, query.parameters)
            else:
                result = self._insert_from_file(connection, *insert, query.parameters)
            elapsed = time.perf_counter_ns() - started
        finally:
            with self._connections:
                connection.close()
        return QueryOutcome(body=result.bytes() or b"", summary=_summary(result, elapsed))

    def _insert_from_file(self, connection, head: bytes, fmt: str, data: bytes, parameters: dict[str, str]):
        """Inline insert data is cut at max_query_size (256 KiB) by the engine's parser, so the
        data goes through a file: `INSERT ... FROM INFILE`, which streams any size (measured:
        a 2.9 MB Native body inline fails with 'Cannot read all data', from a file it loads)."""
        with tempfile.NamedTemporaryFile(prefix="insert-", suffix=f".{fmt.lower()}", dir=self._scratch) as scratch:
            scratch.write(data)
            scratch.flush()
            source = f" FROM INFILE {_string_literal(scratch.name)} ".encode()
            settings = _SETTINGS_CLAUSE.search(head)
            if settings is None:
                sql = head.rstrip() + source + f"FORMAT {fmt}".encode()
            else:
                sql = head[: settings.start()].rstrip() + source + head[settings.start() :].rstrip() + f" FORMAT {fmt}".encode()
            return self._query(connection, sql, "TabSeparated", parameters)

    def _query(self, connection, sql: str | bytes, fmt: str, parameters: dict[str, str] | None = None):
        try:
            return connection.query(sql, fmt, params=parameters or {})
        except Exception as error:  # chdb raises ChdbError or RuntimeError with ClickHouse's text
            message = _engine_message(str(error))
            match = _ERROR_CODE.search(message)
            raise QueryFailed(int(match.group(1)) if match else UNKNOWN_EXCEPTION, message) from error

    def close(self) -> None:
        self._base.close()


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _string_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _engine_message(text: str) -> str:
    start = text.find("Code: ")
    message = text[start:] if start > 0 else text
    return message.strip().splitlines()[0] if message.strip() else "Unknown error"


def _summary(result, elapsed_ns: int) -> dict[str, str]:
    return {
        "read_rows": str(result.rows_read()),
        "read_bytes": str(result.bytes_read()),
        "written_rows": str(result.rows_written()),
        "written_bytes": str(result.bytes_written()),
        "total_rows_to_read": "0",
        "result_rows": "0",
        "result_bytes": str(len(result.bytes() or b"")),
        "elapsed_ns": str(elapsed_ns),
    }


def decoded_body(data: bytes, encoding: str) -> bytes:
    """A request body as sent with Content-Encoding; the codecs are clickhouse-connect's own."""
    if encoding == "lz4":
        # A streamed insert body is one LZ4 frame per chunk, one after the other.
        frames, rest = [], data
        while rest:
            decompressor = _require_lz4().LZ4FrameDecompressor()
            frames.append(decompressor.decompress(rest))
            rest = decompressor.unused_data
        return b"".join(frames)
    if encoding == "zstd":
        return _zstd_decompress(data)
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    raise ValueError(f"unsupported Content-Encoding {encoding}")


def _content_type(fmt: str | None) -> str:
    name = (fmt or "").lower()
    if name.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("json"):
        return "application/json; charset=UTF-8"
    if name.startswith("csv"):
        return "text/csv; charset=UTF-8"
    if name.startswith(("native", "rowbinary", "arrow", "parquet", "orc", "avro")):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


class _EndpointServer(ThreadingHTTPServer):
    daemon_threads = True
    engine: Engine
    password: str | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clickhouse-connect pools its connections
    server: _EndpointServer
    server_version = "revguard-clickhouse"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; with Nagle on, the second waits out the peer's
        # delayed ACK (40 ms per query).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: one line per query is noise
        return

    def _handle(self) -> None:
        try:
            body = self._body()
        except QueryFailed as failure:
            self._fail(failure, close=True)
            return
        route = urlsplit(self.path)
        if route.path == "/ping":
            self._send(200, PING_ANSWER, {"Content-Type": "text/plain; charset=UTF-8"})
            return
        if route.path not in ("", "/"):
            self._send(404, b"There is no handle " + route.path.encode() + b"\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        parameters = dict(parse_qsl(route.query, keep_blank_values=True))
        try:
            body = self._form_fields(body, parameters)
            self._authenticate(parameters)
            if "query" not in parameters and not body:
                self._send(200, PING_ANSWER, {"Content-Type": "text/plain; charset=UTF-8"})
                return
            query = http_query(parameters, body)
            outcome = self.server.engine.run(query)
        except QueryFailed as failure:
            self._fail(failure)
            return
        headers = {
            "Content-Type": _content_type(query.output_format),
            "X-ClickHouse-Query-Id": query.query_id,
            "X-ClickHouse-Timezone": self.server.engine.timezone,
            "X-ClickHouse-Summary": json.dumps(outcome.summary, separators=(",", ":")),
        }
        if query.output_format is not None:
            headers["X-ClickHouse-Format"] = query.output_format
        self._send(200, outcome.body, headers)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = self._chunked_body()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        if not data or encoding in ("", "identity"):
            return data
        try:
            return decoded_body(data, encoding)
        except Exception as error:  # noqa: BLE001 - any decoder failure is the client's bad body
            raise QueryFailed(NOT_IMPLEMENTED, f"Cannot decode request body with Content-Encoding {encoding}: {error}") from error

    def _chunked_body(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _form_fields(self, body: bytes, parameters: dict[str, str]) -> bytes:
        """Move multipart form fields into the parameters; the body then holds no SQL."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return body
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename() is not None:
                raise QueryFailed(NOT_IMPLEMENTED, "External data tables are not supported by the embedded endpoint. (NOT_IMPLEMENTED)")
            if name:
                parameters[name] = (part.get_payload(decode=True) or b"").decode()
        return b""

    def _authenticate(self, parameters: dict[str, str]) -> None:
        expected = self.server.password
        if not expected:
            return
        user, given = parameters.pop("user", None), parameters.pop("password", None)
        if self.headers.get("X-ClickHouse-Key") is not None:
            user, given = self.headers.get("X-ClickHouse-User", "default"), self.headers["X-ClickHouse-Key"]
        authorization = self.headers.get("Authorization", "")
        if authorization.lower().startswith("basic "):
            try:
                user, _, given = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                given = None
        if user not in (None, "", "default") or given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise QueryFailed(
                AUTHENTICATION_FAILED,
                f"{user or 'default'}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)",
            )

    def _fail(self, failure: QueryFailed, close: bool = False) -> None:
        text = str(failure)
        if not text.startswith("Code:"):
            text = f"Code: {failure.code}. DB::Exception: {text}"
        body = f"{text} (version {self.server.engine.version})\n".encode()
        status = 403 if failure.code == AUTHENTICATION_FAILED else 500
        headers = {"Content-Type": "text/plain; charset=UTF-8", "X-ClickHouse-Exception-Code": str(failure.code)}
        if close:
            headers["Connection"] = "close"
            self.close_connection = True
        self._send(status, body, headers)

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass(frozen=True)
class RunningEndpoint:
    """Handed to `serve`'s ready callback once the endpoint listens and its state file exists."""

    home: Path
    port: int
    data_dir: Path
    stop: Callable[[], None] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __str__(self) -> str:
        return self.url


def serve(
    home: Path | None = None,
    port: int = 0,
    password: str | None = None,
    ready: Callable[[RunningEndpoint], None] | None = None,
) -> None:
    """Serve the embedded store of `home` on 127.0.0.1:`port` (0 picks a free port) until
    SIGTERM/SIGINT or `RunningEndpoint.stop()`; migrations are applied before listening.
    Raises StoreUnavailable when the directory or the port is taken."""
    from clickhouse.migrations import migrate

    home = revguard_home(home)
    home.mkdir(parents=True, exist_ok=True)
    running = live_endpoint(home)
    if running is not None:
        raise StoreUnavailable(f"an endpoint already serves {home} at {running.url} (pid {running.pid})")
    data_dir = home / CHDB_SUBDIR
    data_dir.mkdir(exist_ok=True)
    engine = Engine(data_dir)
    try:
        # The migrating client shares this process's engine through its own connection.
        migrating = clickhouse_connect.get_client(dsn=f"chdb://{engine.path}")
        try:
            migrate(migrating)
        finally:
            migrating.close()
        try:
            server = _EndpointServer((HOST, port), _Handler)
        except OSError as error:
            raise StoreUnavailable(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from error
        server.engine = engine
        server.password = password or None
        bound_port = server.server_address[1]
        write_state(home, EndpointState(pid=os.getpid(), port=bound_port, password=password or None, data_dir=str(data_dir)))

        def stop() -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        previous = _install_stop_signals(stop)
        try:
            if ready is not None:
                ready(RunningEndpoint(home=home, port=bound_port, data_dir=data_dir, stop=stop))
            server.serve_forever(poll_interval=0.2)
        finally:
            _restore_signals(previous)
            remove_state(home, os.getpid())
            server.server_close()
    finally:
        engine.close()


def _install_stop_signals(stop: Callable[[], None]) -> dict:
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals can only be handled in the main thread; stop() still works
    previous = {}
    for number in (signal.SIGTERM, signal.SIGINT):
        previous[number] = signal.signal(number, lambda _signum, _frame: stop())
    return previous


def _restore_signals(previous: dict) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


def print_ready(endpoint: RunningEndpoint) -> None:
    """The ready callback of the command line: where to connect, on one line."""
    print(f"ClickHouse endpoint for {endpoint.data_dir} listening on {endpoint.url}", file=sys.stdout, flush=True)

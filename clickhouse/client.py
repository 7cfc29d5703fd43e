"""The client factory: one clickhouse-connect client per process for the store it resolves to.

Resolution order (first that applies):
1. an explicit `url` argument;
2. `REVGUARD_CLICKHOUSE_URL`;
3. the embedded endpoint serving `REVGUARD_HOME` (default `./.revguard`), found through its
   state file, checked alive (pid exists and `/ping` answers);
4. chDB in this process, data under `REVGUARD_HOME/chdb`.

URLs: `http://user:password@host:8123/database?setting=value`, `https://...`, and
`chdb:///absolute/path`. Anything else, or a server that does not answer, raises
`StoreUnavailable` with a one-line message.

The client is shared by every caller in the process (and so by threads), which is why
HTTP clients are created without a ClickHouse session id: a server rejects concurrent
queries in one session. Clients for the local endpoint are created with compression off:
loopback bytes cost nothing and the endpoint then never has to decode a body.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from inspect import signature
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError, OperationalError
from clickhouse_connect.driver.httpclient import HttpClient

from clickhouse.endpoint_state import live_endpoint
from clickhouse.errors import StoreUnavailable

URL_ENV = "REVGUARD_CLICKHOUSE_URL"
HOME_ENV = "REVGUARD_HOME"
DEFAULT_HOME = ".revguard"
CHDB_SUBDIR = "chdb"
SCHEMES = ("http", "https", "chdb")


@dataclass(frozen=True)
class StoreTarget:
    """Where a client connects: `url` carries credentials, `shown` is safe to print."""

    url: str
    shown: str
    scheme: str
    local_endpoint: bool = False


def revguard_home(home: Path | None = None) -> Path:
    """The embedded store's home directory, absolute."""
    chosen = home if home is not None else Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)
    return Path(chosen).expanduser().resolve()


def chdb_directory(home: Path | None = None) -> Path:
    return revguard_home(home) / CHDB_SUBDIR


def redacted(url: str) -> str:
    """The URL without its password (in the netloc or the query string)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = "&".join(
        f"{key}=***" if key == "password" else pair
        for pair in parts.query.split("&")
        if pair
        for key in [pair.split("=", 1)[0]]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def resolve_target(url: str | None = None, home: Path | None = None) -> StoreTarget:
    """The store this process should use, following the module's resolution order."""
    chosen = url or os.environ.get(URL_ENV) or None
    if chosen:
        return _target_from_url(chosen)
    resolved_home = revguard_home(home)
    endpoint = live_endpoint(resolved_home)
    if endpoint is not None:
        netloc = f"default:{endpoint.password}@127.0.0.1:{endpoint.port}" if endpoint.password else f"127.0.0.1:{endpoint.port}"
        return StoreTarget(
            url=f"http://{netloc}", shown=f"{endpoint.url} (embedded endpoint for {resolved_home})", scheme="http", local_endpoint=True
        )
    path = resolved_home / CHDB_SUBDIR
    return StoreTarget(url=f"chdb://{path}", shown=f"chdb://{path}", scheme="chdb")


def _target_from_url(url: str) -> StoreTarget:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise StoreUnavailable(
            f"unsupported ClickHouse URL scheme {scheme or '(none)'!r} in {redacted(url)}: use http://, https:// or chdb:///absolute/path"
        )
    if scheme == "chdb":
        path = urlsplit(url).path
        if not path.startswith("/") or urlsplit(url).netloc:
            raise StoreUnavailable(f"a chDB URL names an absolute directory, chdb:///absolute/path, not {url}")
        return StoreTarget(url=f"chdb://{path}", shown=f"chdb://{path}", scheme="chdb")
    return StoreTarget(url=url, shown=redacted(url), scheme=scheme)


# The driver logs a warning before raising on a refused connection; the exception already
# says it, and a user should see one line, so its records only go where the app sends them.
logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())

_HTTP_OPTIONS = frozenset(signature(HttpClient).parameters) - {"interface", "host", "port", "username", "password", "database"}

_clients: dict[str, Client] = {}
_clients_lock = threading.Lock()


def store_client(url: str | None = None, home: Path | None = None) -> Client:
    """The process's client for the resolved store, created on first use and then reused."""
    target = resolve_target(url, home)
    with _clients_lock:
        client = _clients.get(target.url)
        if client is None:
            client = _open(target)
            _clients[target.url] = client
        return client


def close_store_clients() -> None:
    """Close every cached client; in particular this releases the process's chDB directory."""
    with _clients_lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        _clients.clear()


def _open(target: StoreTarget) -> Client:
    if target.scheme == "chdb":
        return _open_chdb(target)
    return _open_http(target)


def http_client_arguments(url: str) -> dict:
    """get_client keyword arguments for an http(s) URL: credentials and database from the
    netloc, path or query string; client options by name; every other query key a setting."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    arguments: dict = {
        "interface": parts.scheme.lower(),
        "host": parts.hostname or "localhost",
        "username": unquote(parts.username) if parts.username else query.pop("user", None) or query.pop("username", None),
        "password": unquote(parts.password) if parts.password else query.pop("password", ""),
        "database": unquote(parts.path.strip("/")) or query.pop("database", None),
        "autogenerate_session_id": False,
    }
    if parts.port:
        arguments["port"] = parts.port
    query.pop("user", None), query.pop("username", None), query.pop("password", None), query.pop("database", None)
    settings = {}
    for key, value in query.items():
        if key in _HTTP_OPTIONS:
            arguments[key] = value
        else:
            settings[key] = value
    if settings:
        arguments["settings"] = settings
    return arguments


def _open_http(target: StoreTarget) -> Client:
    arguments = http_client_arguments(target.url)
    if target.local_endpoint:
        arguments["compress"] = False
    try:
        return clickhouse_connect.get_client(**arguments)
    except OperationalError as error:
        raise StoreUnavailable(f"cannot reach ClickHouse at {target.shown}: {_root_reason(error)}") from error
    except DatabaseError as error:
        raise StoreUnavailable(f"ClickHouse at {target.shown} refused the connection: {_first_line(error)}") from error
    except (ClickHouseError, ValueError, TypeError) as error:
        raise StoreUnavailable(f"cannot use ClickHouse URL {target.shown}: {_first_line(error)}") from error


def _open_chdb(target: StoreTarget) -> Client:
    path = Path(urlsplit(target.url).path)
    held = next((Path(urlsplit(key).path) for key in _clients if key.startswith("chdb:")), None)
    if held is not None and held != path:
        raise StoreUnavailable(
            f"this process already has the embedded store {held} open; chDB opens one directory per process, not also {path}"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreUnavailable(f"cannot create the embedded store directory {path}: {error.strerror}") from error
    try:
        return clickhouse_connect.get_client(dsn=f"chdb://{path}")
    except ClickHouseError as error:
        message = str(error)
        if "different path" in message:
            raise StoreUnavailable(
                f"this process already has another chDB directory open; chDB opens one directory per process, not also {path}"
            ) from error
        raise StoreUnavailable(
            f"the embedded store {path} is in use by another process: run `revguard clickhouse serve` "
            f"to share it, or set {URL_ENV}"
        ) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _root_reason(error: BaseException) -> str:
    """The innermost cause in a few words: 'connection refused', 'timed out', a host lookup failure."""
    seen: BaseException | None = error
    innermost = error
    while seen is not None:
        innermost = seen
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, TimeoutError):
            return "timed out"
        reason = getattr(seen, "reason", None)
        if isinstance(reason, BaseException):
            seen = reason
            continue
        seen = seen.__cause__ or seen.__context__
    text = _first_line(innermost)
    if "Connection refused" in text:
        return "connection refused"
    return text

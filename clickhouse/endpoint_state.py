"""The state file the embedded endpoint leaves in REVGUARD_HOME so other processes find it.

`revguard clickhouse serve` writes `<home>/endpoint.json` (mode 0600: it may hold the
password) once it listens, and removes it on a clean shutdown. A file left behind by a
killed endpoint is recognised as stale: its pid is gone, or its port does not answer
`/ping` the way ClickHouse does.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "endpoint.json"
PING_ANSWER = b"Ok.\n"


@dataclass(frozen=True)
class EndpointState:
    pid: int
    port: int
    password: str | None
    data_dir: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def state_path(home: Path) -> Path:
    return Path(home) / STATE_FILE


def write_state(home: Path, state: EndpointState) -> Path:
    """Write atomically so a reader never sees half a file."""
    path = state_path(home)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(state), out)
    os.replace(tmp, path)
    return path


def read_state(home: Path) -> EndpointState | None:
    """The recorded endpoint, or None when there is no readable state file."""
    try:
        raw = json.loads(state_path(home).read_text())
        return EndpointState(
            pid=int(raw["pid"]), port=int(raw["port"]), password=raw.get("password"), data_dir=str(raw["data_dir"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_state(home: Path, pid: int) -> None:
    """Remove the state file only if it is still the one this pid wrote."""
    state = read_state(home)
    if state is not None and state.pid == pid:
        try:
            state_path(home).unlink()
        except FileNotFoundError:
            pass


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


# Loopback never goes through an HTTP proxy, whatever the environment says.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def endpoint_answers(port: int, timeout: float = 2.0) -> bool:
    try:
        with _LOOPBACK.open(f"http://127.0.0.1:{port}/ping", timeout=timeout) as response:
            return response.status == 200 and response.read() == PING_ANSWER
    except (OSError, urllib.error.URLError):
        return False


def live_endpoint(home: Path) -> EndpointState | None:
    """The endpoint serving `home`, if its state file is present and it is really running."""
    state = read_state(home)
    if state is None or not process_alive(state.pid) or not endpoint_answers(state.port):
        return None
    return state

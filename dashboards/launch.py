"""`revguard dashboard`: the Streamlit server for the analysts' app, on a store it can share.

The app must never hold the embedded chDB directory itself: chDB opens a directory in one
process only, and a flow or a `revguard load` has to be able to write beside it. So:
- with REVGUARD_CLICKHOUSE_URL (or --clickhouse-url), the app uses that store;
- else, when an endpoint already serves REVGUARD_HOME, the app connects to it over HTTP;
- else this command starts one (`python -m clickhouse.serve`, a free loopback port) for as
  long as the app runs, and other revguard processes find it through its state file.
"""
from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from clickhouse.client import URL_ENV, resolve_target, revguard_home
from clickhouse.endpoint_state import live_endpoint
from clickhouse.errors import StoreUnavailable

APP = Path(__file__).resolve().parent / "app.py"
DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"
_ENDPOINT_START_S = 60.0


@dataclass(frozen=True)
class AppStore:
    url: str  # handed to the app (may carry a password)
    shown: str
    endpoint: subprocess.Popen | None = None  # the endpoint this command started, if it did


def app_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, store_url: str) -> str | None:
    """A warning when the app listens beyond loopback while its store has no password."""
    if is_loopback(host):
        return None
    if urlsplit(store_url).password:
        return None
    return (f"the app listens on {host}, beyond this machine, and its store has no password: anyone who reaches it reads "
            "every finding; set REVGUARD_CLICKHOUSE_PASSWORD (and `revguard clickhouse serve --password`) or keep --host 127.0.0.1")


def app_store(clickhouse_url: str | None, home: Path | None = None) -> AppStore:
    """The store the app will use, starting an endpoint on the embedded store when none serves it."""
    if clickhouse_url or os.environ.get(URL_ENV):
        target = resolve_target(clickhouse_url)
        return AppStore(url=target.url, shown=target.shown)
    home = revguard_home(home)
    if live_endpoint(home) is None:
        process = _start_endpoint(home)
        target = resolve_target(home=home)
        return AppStore(url=target.url, shown=target.shown, endpoint=process)
    target = resolve_target(home=home)
    return AppStore(url=target.url, shown=target.shown)


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def start_app(host: str, port: int, store_url: str, log: Path | None = None) -> subprocess.Popen:
    """The Streamlit server for the app as a child process on `store_url` (tests and bench use it)."""
    environment = {**os.environ, URL_ENV: store_url}
    output = log.open("w") if log is not None else None
    try:
        return subprocess.Popen(streamlit_command(host, port), env=environment, stdout=output or subprocess.DEVNULL,
                                stderr=subprocess.STDOUT)
    finally:
        if output is not None:
            output.close()


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Return once the Streamlit server at `url` answers its health check."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app's server exited with code {process.returncode}")
        try:
            with opener.open(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the app at {url} did not answer within {timeout:.0f} s")


def run_dashboard(host: str, port: int, clickhouse_url: str | None, say=None) -> int:
    """Serve the app until interrupted; the exit code of the Streamlit server."""
    say = say or (lambda line, err=True: print(line, file=sys.stderr if err else sys.stdout, flush=True))
    chosen = app_store(clickhouse_url)
    try:
        warning = exposure_warning(host, chosen.url)
        if warning:
            say(f"revguard: warning: {warning}", err=True)
        say(f"revguard: the analysts' app on {app_url(host, port)} (store: {chosen.shown}); Ctrl-C stops it", err=True)
        environment = {**os.environ, URL_ENV: chosen.url}
        server = subprocess.Popen(streamlit_command(host, port), env=environment)
        # SIGTERM (a service manager, `timeout`) stops the app like Ctrl-C: the server and the
        # endpoint this command started go with it instead of living on as orphans.
        previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() else None
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            return 0
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    finally:
        if chosen.endpoint is not None:
            chosen.endpoint.terminate()
            try:
                chosen.endpoint.wait(timeout=15)
            except subprocess.TimeoutExpired:
                chosen.endpoint.kill()


def _start_endpoint(home: Path) -> subprocess.Popen:
    home.mkdir(parents=True, exist_ok=True)
    log = home / "dashboard-endpoint.log"
    environment = {key: value for key, value in os.environ.items() if key != URL_ENV}
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "clickhouse.serve", "--home", str(home)], env=environment,
                                   stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + _ENDPOINT_START_S
    while time.monotonic() < deadline:
        state = live_endpoint(home)
        if state is not None and state.pid == process.pid:
            return process
        if process.poll() is not None:
            lines = [line for line in log.read_text().splitlines() if line.strip()]
            reason = lines[-1].removeprefix("error: ") if lines else f"exit code {process.returncode}"
            raise StoreUnavailable(f"cannot serve the embedded store {home} to the app: {reason}")
        time.sleep(0.1)
    process.kill()
    raise StoreUnavailable(f"the embedded store {home} did not start serving within {_ENDPOINT_START_S:.0f} s")


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt

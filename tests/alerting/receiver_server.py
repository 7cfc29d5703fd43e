"""A local HTTP receiver on 127.0.0.1 for delivery tests: scripted answers, every request kept.

`answers` is consumed one per request (then 200 for ever); `delay_s` holds each answer.
`hold_after`: once that many requests were answered 200, the next ones are held unanswered
(`held` set) until `release()`, then dropped unanswered and unrecorded: a test kills the
sender while it waits, at a known count instead of a moment.
The receiver keeps every request as it came and, like a well-behaved webhook consumer, the
first body per `Idempotency-Key` (`unique`).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Request:
    at: float  # time.monotonic()
    code: int  # what the receiver answered
    headers: dict[str, str]
    body: bytes

    @property
    def document(self):
        return json.loads(self.body)


class ScriptedReceiver:
    def __init__(self, port: int = 0, answers: list[int] | None = None, delay_s: float = 0.0,
                 hold_after: int | None = None) -> None:
        self.answers = list(answers or [])
        self.delay_s = delay_s
        self.hold_after = hold_after
        self.held = threading.Event()
        self._released = threading.Event()
        self._answered_ok = 0
        self.requests: list[Request] = []
        self.unique: dict[str, Request] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                with receiver._lock:
                    hold = receiver.hold_after is not None and receiver._answered_ok >= receiver.hold_after
                if hold and not receiver._released.is_set():
                    receiver.held.set()
                    receiver._released.wait()
                    self.close_connection = True
                    return
                with receiver._lock:
                    code = receiver.answers.pop(0) if receiver.answers else 200
                    receiver._answered_ok += code == 200
                    request = Request(time.monotonic(), code, {k.lower(): v for k, v in self.headers.items()}, body)
                    receiver.requests.append(request)
                    key = request.headers.get("idempotency-key")
                    if code == 200 and key is not None:
                        receiver.unique.setdefault(key, request)
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def accepted(self) -> list[Request]:
        """Requests answered 200, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.code == 200]

    def release(self) -> None:
        """Held requests are dropped and later ones answered as before."""
        self.hold_after = None
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

"""HTTP POST to one receiver over a kept-alive connection (the standard library's client).

A receiver worker owns one `HttpPoster` (no sharing between threads). A connection is kept
between posts because a burst of alerts would otherwise open one per alert.
"""
from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    code: int  # HTTP status; 0: no answer (refused, timed out, cut)
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def worth_retrying(self) -> bool:
        """No answer, a server error, a time-out or a rate limit: later may work; other 4xx will not."""
        return self.code == 0 or self.code >= 500 or self.code in (408, 425, 429)


class HttpPoster:
    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        reused = self._connection is not None
        try:
            return self._post_once(body, headers)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            self.close()
            if not reused:
                return Answer(0, f"{type(exc).__name__}: {exc}")
            # The server closed the idle kept-alive connection: one fresh try (a receiver that
            # did take the first one dedups by the idempotency key).
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Answer(0, f"{type(exc).__name__}: {exc}")
        try:
            return self._post_once(body, headers)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Answer(0, f"{type(exc).__name__}: {exc}")

    def _post_once(self, body: bytes, headers: dict[str, str]) -> Answer:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self._timeout_s)
        self._connection.request("POST", self._path, body, {"Content-Type": "application/json", **headers})
        response = self._connection.getresponse()
        text = response.read()
        if response.will_close:
            self.close()
        error = "" if 200 <= response.status < 300 else text[:200].decode("utf-8", "replace").strip()
        return Answer(response.status, error)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

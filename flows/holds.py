"""Test hooks: hold the streaming flow at a named point, so a test kills it at a known moment.

Off unless `REVGUARD_HOLDS` names a directory (read once, at import); then, and only then:

- `source_limit()`: each network partition hands over records only below the offset written in
  `<dir>/source-limit` (re-read at every poll; no file, no limit). The source holds without
  blocking, so epochs keep closing and snapshots keep committing while it waits.
- `reach(point, amount)`: adds `amount` to the point's count in this process; once the count
  reaches the number written in `<dir>/hold-<point>`, runs `before` (e.g. a flush), writes
  `<dir>/held-<point>` (the count) and blocks the calling thread until the process is killed.

A kill timed by a clock lands wherever the machine's speed put the flow; a kill after
`held-<point>` appears lands exactly there.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

_DIR = Path(os.environ["REVGUARD_HOLDS"]) if os.environ.get("REVGUARD_HOLDS") else None
ACTIVE = _DIR is not None
_counts: dict[str, int] = {}
_lock = threading.Lock()


def source_limit() -> int | None:
    """The offset below which network partitions may hand records over, or None (no limit)."""
    if _DIR is None:
        return None
    try:
        return int((_DIR / "source-limit").read_text())
    except (FileNotFoundError, ValueError):
        return None


def reach(point: str, amount: int = 1, before: Callable[[], None] | None = None) -> None:
    """Counts `amount` at `point`; holds the calling thread for good once the count reaches the
    point's threshold (see the module's text). Free when the hooks are off."""
    if _DIR is None:
        return
    with _lock:
        count = _counts[point] = _counts.get(point, 0) + amount
    try:
        threshold = int((_DIR / f"hold-{point}").read_text())
    except (FileNotFoundError, ValueError):
        return
    if count < threshold:
        return
    if before is not None:
        before()
    held = _DIR / f"held-{point}"
    held.with_suffix(".tmp").write_text(str(count))
    held.with_suffix(".tmp").rename(held)  # whole or absent: the test reads it as soon as it exists
    threading.Event().wait()

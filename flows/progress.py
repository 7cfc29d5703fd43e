"""Progress bars for long work (simulate, rate, load, reconcile), on stderr."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

stderr = Console(stderr=True)


@contextmanager
def byte_progress(label: str, total_bytes: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yields `advance_to(byte_offset)` for work that reads a file front to back."""
    if not enabled:
        yield lambda _offset: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=stderr, transient=False,
    ) as bar:
        task = bar.add_task(label, total=total_bytes)
        yield lambda offset: bar.update(task, completed=offset)
        bar.update(task, completed=total_bytes)

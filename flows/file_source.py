"""NDJSON files as a Bytewax source, in batches of raw lines.

One partition per file. The partition's snapshot is the byte offset and line number
of the next unread line, so a resumed flow continues exactly where the last epoch
ended instead of re-reading the file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.batches import LineBatch
from rating.lines import TextLines

DEFAULT_BATCH_LINES = 50_000


@dataclass(frozen=True)
class FilePosition:
    byte_offset: int
    line_number: int  # 1-based number of the next line to read
    batch_id: int


def next_line_batch(file: BinaryIO, stream: str, batch_lines: int, start: FilePosition) -> tuple[LineBatch, FilePosition] | None:
    """The next batch of about `batch_lines` lines from `file` (positioned at `start`), and
    the position after it; None at the end of the file."""
    # One read, and the lines found in the text rather than cut out of it (`TextLines`).
    text = file.read(batch_lines * 200)  # ~batch_lines typical lines
    if not text:
        return None
    end = len(text)
    if not text.endswith(b"\n"):
        last = text.rfind(b"\n")
        if last >= 0:  # the line the read stopped in starts the next batch
            end = last + 1
            file.seek(start.byte_offset + end)
        else:  # one line longer than the read
            text += file.readline()
            end = len(text)
    lines = TextLines(text, end)
    batch = LineBatch(
        stream=stream,
        origin=Path(file.name).name,
        first_position=start.line_number,
        lines=lines,
        batch_id=start.batch_id,
    )
    return batch, FilePosition(file.tell(), start.line_number + len(lines), start.batch_id + 1)


class _NdjsonPartition(StatefulSourcePartition[LineBatch, FilePosition]):
    def __init__(
        self, path: Path, stream: str, batch_lines: int, resume: FilePosition | None,
        on_read: Callable[[int], None] | None,
    ) -> None:
        self._file = path.open("rb")
        self._on_read = on_read
        self._stream = stream
        self._batch_lines = batch_lines
        self._position = resume or FilePosition(0, 1, 0)
        self._file.seek(self._position.byte_offset)

    def next_batch(self) -> list[LineBatch]:
        step = next_line_batch(self._file, self._stream, self._batch_lines, self._position)
        if step is None:
            raise StopIteration()
        batch, self._position = step
        if self._on_read:
            self._on_read(self._position.byte_offset)
        return [batch]

    def snapshot(self) -> FilePosition:
        return self._position

    def close(self) -> None:
        self._file.close()


class NdjsonSource(FixedPartitionedSource[LineBatch, FilePosition]):
    """Reads one NDJSON file as `LineBatch`es of about `batch_lines` lines.

    `on_read` is told the byte offset reached after each batch (for progress bars).
    """

    def __init__(
        self, path: Path, stream: str, batch_lines: int = DEFAULT_BATCH_LINES,
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        self._path = Path(path)
        self._on_read = on_read
        self._stream = stream
        self._batch_lines = batch_lines

    def list_parts(self) -> list[str]:
        return [self._path.name]

    def build_part(self, step_id: str, for_part: str, resume_state: FilePosition | None) -> _NdjsonPartition:
        return _NdjsonPartition(self._path, self._stream, self._batch_lines, resume_state, self._on_read)

"""What travels between the steps of a rating dataflow.

Sources hand the flow whole batches of raw lines with their positions, never one
record at a time: parsing and rating are columnar, and the position of each line
is what makes outputs idempotent (`source` column) and orderable (`rate` writes in
input order).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class LineBatch:
    """Consecutive raw lines of one input stream.

    `origin` names where they came from (a file name or `topic:partition`), and
    `first_position` is the position of `lines[0]` there: a line number for files,
    an offset for Kafka. `batch_id` orders batches of the whole run.
    """

    stream: str  # "network" | "adjustments" | "billed"
    origin: str
    first_position: int
    lines: Sequence[bytes]  # a tuple, or a file's `rating.lines.TextLines`
    batch_id: int = 0

    @property
    def positions(self) -> range:
        return range(self.first_position, self.first_position + len(self.lines))

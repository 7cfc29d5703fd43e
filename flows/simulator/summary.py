"""What one simulation wrote: line counts per file, faults per kind and their populations."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SimulationSummary:
    out: Path
    subscribers: int
    days: int
    seed: int
    fault_rate: float
    files: dict[str, int]        # data lines per file (CSV header excluded)
    faults: dict[str, int]       # truth lines per kind
    populations: dict[str, int]  # units each fault kind was drawn over

    @property
    def truth_lines(self) -> int:
        return sum(self.faults.values())

    def as_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows for printing."""
        rows = [(f"file {name}", f"{count:,}") for name, count in self.files.items()]
        rows += [(f"fault {kind}", f"{count:,} of {self.populations.get(kind, 0):,}")
                 for kind, count in self.faults.items()]
        return rows

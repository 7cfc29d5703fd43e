"""The `element_gap` control: network elements that sent no records (a silence) or far
fewer than expected (a partial drop) for an interval.

ClickHouse computes what each element sent and should have sent per 10-minute bin
(`sql/element_bins.sql`: learned from its peers, or from its own other days), its silences
(`sql/element_silences.sql`) and its average shadow charge (`sql/element_charge.sql`). The
scan over runs of bins happens here, on one element's arrays at a time: as SQL, each of its
steps re-ran the whole chain below it (9 s for 2,000 records).

- A silence is a finding when it was expected to hold at least `min_expected` records:
  records arrive roughly as a Poisson stream, so a silence that long has chance
  exp(-min_expected) of being normal (about 3e-7 at 15). Its interval runs from the last
  record before to the first record after.
- A partial drop is a run of 1 to 48 bins (up to 8 h) holding at most two thirds of what
  was expected ("far fewer"), with z = (expected - received) / sqrt(variance) at or above
  sqrt(2 ln(runs / 0.01)), where `runs` is how many runs the scan looks at (bins x elements
  x 48): P(Z >= z) <= exp(-z^2 / 2), so all of them together raise a false drop with chance
  at most 1 %. The threshold follows from the data's size; nothing is tuned to a sample.
  Runs touching a silence finding are left out (the silence explains them); the bins of
  all other such runs form islands, each one finding, reported as its run of highest z.

No amount (the records were never collected, so their charge is unknown); the estimate from
the element's average shadow charge is in the evidence.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

BIN = timedelta(minutes=10)
LONGEST_RUN = 48
FALSE_DROP_CHANCE = 0.01
DISCREPANCY_COLUMNS = ["finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id",
                       "amount", "event_time", "detected_at", "evidence"]


@dataclass(frozen=True)
class ElementBins:
    """One element's 10-minute bins from `first_bin` on: records received, expected, and the
    variance of their difference under no fault (0 where the data gives no expectation)."""

    element_id: str
    first_bin: datetime
    received: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    method: str

    def bin_start(self, index: int) -> datetime:
        return self.first_bin + index * BIN


@dataclass(frozen=True)
class ElementGap:
    """One finding: an element's silence or partial drop over `[start, end)`."""

    element_id: str
    outage: str  # "silence" | "partial_drop"
    start: datetime
    end: datetime
    expected: float
    received: int
    z: float | None
    method: str


@dataclass(frozen=True)
class DropRun:
    first: int  # bins first .. last
    last: int
    received: float
    expected: float
    z: float


@cache
def _sql(name: str) -> str:
    return resources.files("assurance").joinpath("sql", f"{name}.sql").read_text()


def element_bins(client: Any, parameters: dict[str, Any]) -> dict[str, ElementBins]:
    """Every element's bins in the window of `parameters` (`window_lo`, `window_hi`)."""
    rows = client.query(_sql("element_bins"), parameters=parameters).result_rows
    if not rows:
        return {}
    first_bin = _naive(rows[0][6])
    count = max(int(r[1]) for r in rows) + 1
    by_element: dict[str, list[tuple]] = {}
    for row in rows:
        by_element.setdefault(row[0], []).append(row)
    bins = {}
    for element, element_rows in by_element.items():
        index = np.array([r[1] for r in element_rows], dtype=np.int64)
        arrays = [np.zeros(count) for _ in range(3)]
        for array, column in zip(arrays, (2, 3, 4)):
            array[index] = [float(r[column]) for r in element_rows]
        bins[element] = ElementBins(element, first_bin, *arrays, method=element_rows[0][5])
    return bins


def drop_threshold(bins: dict[str, ElementBins]) -> float:
    """The z a run needs: sqrt(2 ln(runs scanned / FALSE_DROP_CHANCE))."""
    runs = sum(len(b.received) for b in bins.values()) * LONGEST_RUN
    return math.sqrt(2 * math.log(max(runs, 1) / FALSE_DROP_CHANCE))


def expected_in(bins: ElementBins, start: datetime, end: datetime) -> float:
    """Records `bins` expected in `[start, end)`, bins counted by the share of them it covers."""
    total = 0.0
    first = max(int((start - bins.first_bin) / BIN), 0)
    last = min(int((end - bins.first_bin) / BIN), len(bins.expected) - 1)
    for b in range(first, last + 1):
        lo, hi = bins.bin_start(b), bins.bin_start(b + 1)
        covered = (min(end, hi) - max(start, lo)) / BIN
        if covered > 0:
            total += covered * bins.expected[b]
    return total


def drop_runs(bins: ElementBins, z_needed: float, silent: list[tuple[datetime, datetime]] = ()) -> list[DropRun]:
    """Partial drops of one element: for each island of bins lying in runs of far fewer
    records than expected at `z_needed` or more, its run of highest z (in time order).
    Runs touching a `silent` interval (a silence finding) are left out: the silence explains
    them, and one of them could otherwise bridge a silence and a drop into one island."""
    size = len(bins.received)
    touched = np.zeros(size)
    for start, end in silent:
        first = max(int((start - bins.first_bin) / BIN), 0)
        touched[first:int((end - bins.first_bin) / BIN) + 1] = 1
    sums = [np.concatenate([[0.0], np.cumsum(a)]) for a in (bins.received, bins.expected, bins.variance, touched)]
    flagged: list[tuple[np.ndarray, int, np.ndarray, np.ndarray, np.ndarray]] = []
    cover = np.zeros(size + 1)
    for length in range(1, min(LONGEST_RUN, size) + 1):
        received, expected, variance, silences = (s[length:] - s[:-length] for s in sums)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(variance > 0, (expected - received) / np.sqrt(variance), -np.inf)
        starts = np.flatnonzero((z >= z_needed) & (3 * received <= 2 * expected) & (silences == 0))
        if len(starts):
            flagged.append((starts, length, received[starts], expected[starts], z[starts]))
            np.add.at(cover, starts, 1)
            np.add.at(cover, starts + length, -1)
    if not flagged:
        return []
    covered = np.cumsum(cover[:-1]) > 0
    # island number of each covered bin: a new island where coverage begins
    island = np.cumsum(np.diff(np.concatenate([[False], covered]).astype(np.int8)) == 1)
    best: dict[int, DropRun] = {}
    for starts, length, received, expected, z in flagged:
        for s, r, e, score in zip(starts.tolist(), received.tolist(), expected.tolist(), z.tolist()):
            key = int(island[s])
            if key not in best or score > best[key].z:
                best[key] = DropRun(s, s + length - 1, r, e, score)
    return [best[k] for k in sorted(best)]


def element_gaps(client: Any, parameters: dict[str, Any], min_expected: float) -> tuple[list[ElementGap], float]:
    """Every silence and partial drop the window's data shows (whatever their start), and
    the z the drops needed."""
    bins = element_bins(client, parameters)
    z_needed = drop_threshold(bins)
    found: list[ElementGap] = []
    silent: dict[str, list[tuple[datetime, datetime]]] = {}
    for element, start, end in client.query(_sql("element_silences"), parameters=parameters).result_rows:
        start, end = _naive(start), _naive(end)
        element_bins_ = bins.get(element)
        if element_bins_ is None:
            continue
        expected = expected_in(element_bins_, start, end)
        if expected >= min_expected:
            found.append(ElementGap(element, "silence", start, end, expected, 0, None, element_bins_.method))
            silent.setdefault(element, []).append((start, end))
    for element, element_bins_ in bins.items():
        for run in drop_runs(element_bins_, z_needed, silent.get(element, [])):
            start, end = element_bins_.bin_start(run.first), element_bins_.bin_start(run.last + 1)
            found.append(ElementGap(element, "partial_drop", start, end, run.expected, int(run.received),
                                    run.z, element_bins_.method))
    return found, z_needed


def write_element_gaps(client: Any, parameters: dict[str, Any]) -> int:
    """Writes the findings whose interval starts in [since, until) to `revguard.discrepancies`;
    returns how many."""
    since, until = _parameter_time(parameters["since"]), _parameter_time(parameters["until"])
    detected_at = _parameter_time(parameters["detected_at"])
    gaps, z_needed = element_gaps(client, parameters, float(parameters["min_expected"]))
    gaps = [g for g in gaps if since <= g.start < until]
    if not gaps:
        return 0
    charges = {e: Decimal(c) for e, c in client.query(_sql("element_charge"), parameters=parameters).result_rows}
    rows = [[_finding_id(g), "element_gap", "", "", "", g.element_id, Decimal(0), g.start, detected_at,
             json.dumps(_evidence(g, z_needed, charges.get(g.element_id)), separators=(",", ":"))]
            for g in gaps]
    client.insert("revguard.discrepancies", rows, column_names=DISCREPANCY_COLUMNS)
    return len(rows)


def _evidence(gap: ElementGap, z_needed: float, average_charge: Decimal | None) -> dict[str, Any]:
    missing = Decimal(str(round(gap.expected - gap.received, 3)))
    return {
        "outage": gap.outage,
        "interval_start": _stamp(gap.start),
        "interval_end": _stamp(gap.end),
        "minutes": round((gap.end - gap.start).total_seconds() / 60, 1),
        "expected_records": round(gap.expected, 1),
        "received_records": gap.received,
        "lost_share": round(1 - gap.received / gap.expected, 3) if gap.expected else None,
        "z": round(gap.z, 2) if gap.z is not None else None,
        "z_needed": round(z_needed, 2) if gap.outage == "partial_drop" else None,
        "baseline": gap.method,
        "estimated_missing_revenue": (str((missing * average_charge).quantize(Decimal("0.000001"), ROUND_HALF_UP))
                                      if average_charge is not None else None),
    }


def _finding_id(gap: ElementGap) -> str:
    prefix = "element_gap|" if gap.outage == "silence" else "element_gap|partial|"
    moment = f"{gap.start:%Y-%m-%d %H:%M:%S}.{gap.start.microsecond // 1000:03d}"
    return hashlib.sha256(f"{prefix}{gap.element_id}|{moment}".encode()).hexdigest()[:32]


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _parameter_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment

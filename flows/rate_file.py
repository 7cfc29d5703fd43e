"""`revguard rate`: a file of network records through the rating dataflow, to a file."""
from __future__ import annotations

import contextlib
import gc
import json
from pathlib import Path
from typing import Iterator

import bytewax.operators as op
from bytewax.dataflow import Dataflow

from flows.allocator import reuse_large_allocations
from flows.errors import InputError
from flows.file_source import NdjsonSource
from flows.progress import byte_progress
from flows.rated_ndjson import RatedNdjsonSink, counted, encoded_piece, warm_up
from flows.rating_flow import Reject, in_input_order, parsed_adjustments, rated_stream, run_file_flow
from rating.catalog import load_catalog
from rating.engine import Reference
from rating.lines import TextLines
from rating.records import load_subscribers


def rate_file(
    catalog: Path,
    subscribers: Path,
    usage: Path,
    output: Path,
    adjustments: Path | None = None,
    rejects: Path | None = None,
    progress: bool = False,
    batch_lines: int = 100_000,  # ~20 MB: half the per-batch costs of 50,000 (CPU 2-21 % less in 4 alternating runs)
    workers: int = 1,
) -> dict[str, int]:
    """Rates `usage` into `output` (one line per input line, input order); returns the counts.

    Counts: `in = rated + duplicate + rejected` for usage; `adjustments_in` and
    `adjustments_rejected` for the adjustments file when given. A malformed usage line is
    written in its place in `output`; malformed adjustments have no place there and go to
    `rejects` (NDJSON, the `rejects` table's fields), which is written whenever
    `adjustments` is given, empty when none is malformed.
    """
    reuse_large_allocations()  # each batch's arrays reuse the last one's pages: no page faults
    with quiet_collector():
        return _rate_file(catalog, subscribers, usage, output, adjustments, rejects, progress, batch_lines, workers)


def _rate_file(catalog: Path, subscribers: Path, usage: Path, output: Path, adjustments: Path | None,
               rejects: Path | None, progress: bool, batch_lines: int, workers: int) -> dict[str, int]:
    try:
        reference = Reference(load_catalog(Path(catalog)), load_subscribers(Path(subscribers)))
    except ValueError as exc:  # CatalogError, ReferenceDataError: the files are wrong
        raise InputError(str(exc)) from None
    placed = None
    adjustment_counts: dict[str, int] = {}
    if adjustments is not None:
        # Lines end at "\n" only, as for the records (`TextLines`): `bytes.splitlines()` also
        # cut at a lone "\r" and counted one file two ways.
        lines = TextLines(Path(adjustments).read_bytes())
        placed, adjustment_rejects = parsed_adjustments(lines, Path(adjustments).name)
        adjustment_counts = {"adjustments_in": len(lines), "adjustments_rejected": len(adjustment_rejects)}
        write_rejects(adjustment_rejects, rejects or default_rejects_path(Path(output)))
    # Created before the flow runs: an empty input still leaves an (empty) output file,
    # which Bytewax's sink would not open without a batch to write.
    Path(output).open("wb").close()
    counts: dict[str, int] = {}
    with byte_progress("rating", Path(usage).stat().st_size, progress) as advance:
        flow = Dataflow("revguard_rate_file")
        batches = op.input("network", flow, NdjsonSource(Path(usage), "network", batch_lines, on_read=advance))
        rated = rated_stream(flow, batches, lambda: reference, adjustments=placed, workers=workers)
        warm_up()  # the line encoder, compiled or loaded before the first batch
        # Encoded where each piece was rated, so the one writer only merges and writes.
        encoded = op.map("encode", rated, encoded_piece)
        op.output("rated_ndjson", in_input_order(encoded, workers), RatedNdjsonSink(Path(output), counts, workers))
        run_file_flow(flow, workers)
    return {**counted(counts), **adjustment_counts}


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """Python's cycle collector kept off the rating run's objects, then as it was.

    Every batch allocates Arrow and numpy wrappers by the thousand, nearly all freed by
    reference counting; collections walking them and everything imported (frozen here: never
    garbage) and the reference's objects took 6-8 % of a whole `revguard rate` process's samples (perf, 892k records).
    """
    threshold = gc.get_threshold()
    gc.freeze()  # (no collection first: one over everything imported cost more than it could free)
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def default_rejects_path(output: Path) -> Path:
    """Where `revguard rate` puts malformed adjustments unless told: beside the output,
    `rated.ndjson` -> `rated.rejects.ndjson`."""
    return output.with_name(f"{output.stem}.rejects.ndjson")


def write_rejects(rejects: tuple[Reject, ...], path: Path) -> None:
    """Dead letters as NDJSON, one a line, with the fields of the `rejects` table."""
    # The fields of `flows.clickhouse_sink.rejects_table`, built here: that module loads the
    # store's client library, a tenth of a second of every `revguard rate` for nothing.
    with Path(path).open("w", encoding="utf-8") as sink:
        for r in rejects:
            row = {"stream": r.stream, "source": f"{r.origin}:{r.position}", "record_id": r.record_id,
                   "msisdn": r.msisdn, "reason": r.reason, "raw": r.raw.decode("utf-8", "replace")}
            sink.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")

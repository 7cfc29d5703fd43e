"""`revguard rate`: a file of network records through the rating dataflow, to a file."""
from __future__ import annotations

import json
from pathlib import Path

import bytewax.operators as op
from bytewax.dataflow import Dataflow

from flows.allocator import reuse_large_allocations
from flows.clickhouse_sink import rejects_table
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


def default_rejects_path(output: Path) -> Path:
    """Where `revguard rate` puts malformed adjustments unless told: beside the output,
    `rated.ndjson` -> `rated.rejects.ndjson`."""
    return output.with_name(f"{output.stem}.rejects.ndjson")


def write_rejects(rejects: tuple[Reject, ...], path: Path) -> None:
    """Dead letters as NDJSON, one a line, with the fields of the `rejects` table."""
    with Path(path).open("w", encoding="utf-8") as sink:
        for row in rejects_table(list(rejects)).to_pylist():
            sink.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")

"""Rated records as NDJSON lines, in input order (the output of `revguard rate`).

Money stays exact on the way out: decimal columns are written as decimal strings
("0.120000"), never through a float. Timestamps are RFC 3339 in UTC with `Z`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from flows.rating_flow import RatedPiece, Reject


def _rfc3339(column: pa.ChunkedArray) -> pa.ChunkedArray:
    whole = pc.cast(column, pa.timestamp("s", tz="UTC"), safe=False)
    if pc.all(pc.equal(pc.cast(whole, column.type), column)).as_py() is not False:
        return pc.strftime(whole, format="%Y-%m-%dT%H:%M:%SZ")
    return pc.strftime(pc.cast(column, pa.timestamp("ms", tz="UTC"), safe=False), format="%Y-%m-%dT%H:%M:%SZ")


def json_ready(table: pa.Table) -> pa.Table:
    """Columns JSON can carry exactly: decimals and timestamps as strings."""
    columns = []
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_decimal(column.type):
            column = pc.cast(column, pa.string())
        elif pa.types.is_timestamp(column.type):
            column = _rfc3339(column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def ndjson_lines(table: pa.Table) -> list[str]:
    """One JSON object per row; pandas' C encoder writes the whole table at once."""
    if table.num_rows == 0:
        return []
    # Nullable integers must stay integers (pandas would make them floats: 61.0).
    frame = json_ready(table).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    text = frame.to_json(orient="records", lines=True, force_ascii=False)
    lines = text.split("\n")
    return lines[: table.num_rows]


def reject_line(reject: Reject) -> str:
    return json.dumps(
        {
            "record_id": reject.record_id,
            "msisdn": reject.msisdn,
            "status": "rejected",
            "reason": reject.reason,
            "raw": reject.raw.decode("utf-8", "replace"),
        },
        ensure_ascii=False,
    )


def ordered_lines(pieces: list[RatedPiece]) -> list[str]:
    """Every rated row and reject of one input batch, in input position order."""
    tables = [p.rated for p in pieces if p.rated.num_rows]
    rejects = [r for p in pieces for r in p.rejects]
    lines: list[str] = []
    positions: list[np.ndarray] = []
    if tables:
        rated = pa.concat_tables(tables)
        positions.append(rated["position"].to_numpy(zero_copy_only=False))
        lines.extend(ndjson_lines(rated.drop_columns(["position"])))
    if rejects:
        positions.append(np.array([r.position for r in rejects], dtype=np.int64))
        lines.extend(reject_line(r) for r in rejects)
    if not lines:
        return []
    order = np.argsort(np.concatenate(positions), kind="stable")
    return [lines[i] for i in order]


class _NdjsonPartition(StatefulSinkPartition[list[RatedPiece], None]):
    def __init__(self, path: Path, counts: dict[str, int]) -> None:
        self._file = path.open("w", encoding="utf-8")
        self._counts = counts

    def write_batch(self, values: list[list[RatedPiece]]) -> None:
        for pieces in values:
            lines = ordered_lines(pieces)
            if lines:
                self._file.write("\n".join(lines))
                self._file.write("\n")
            for piece in pieces:
                tally(self._counts, piece)

    def snapshot(self) -> None:
        self._file.flush()
        return None

    def close(self) -> None:
        self._file.close()


class RatedNdjsonSink(FixedPartitionedSink[list[RatedPiece], None]):
    """Writes ordered rated batches to one file.

    One partition, so exactly one worker of a cluster owns the file and its order.
    """

    def __init__(self, path: Path, counts: dict[str, int]) -> None:
        self._path = Path(path)
        self._counts = counts

    def list_parts(self) -> list[str]:
        return [self._path.name]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _NdjsonPartition:
        return _NdjsonPartition(self._path, self._counts)


def tally(counts: dict[str, int], piece: RatedPiece) -> None:
    """Adds a piece to `in = rated + duplicate + rejected`."""
    statuses = piece.rated["status"].value_counts().to_pylist() if piece.rated.num_rows else []
    for entry in statuses:
        counts[entry["values"]] = counts.get(entry["values"], 0) + entry["counts"]
    counts["rejected"] = counts.get("rejected", 0) + len(piece.rejects)
    counts["in"] = counts.get("in", 0) + piece.rated.num_rows + len(piece.rejects)


def counted(counts: dict[str, int], keys: Iterable[str] = ("in", "rated", "duplicate", "rejected")) -> dict[str, int]:
    return {k: counts.get(k, 0) for k in keys}

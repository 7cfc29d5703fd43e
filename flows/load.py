"""`revguard load DIR`: a simulated or exported directory into ClickHouse.

Reference data first (catalog, subscribers, provisioning), then adjustments and billed
records, then network records through the rating flow, so `rated_usage`, `balances`,
`alerts` and `rejects` fill on the way in. Every table is keyed, so loading the same
directory twice leaves the same rows (read with FINAL).
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import bytewax.operators as op
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from bytewax.dataflow import Dataflow
from clickhouse_connect.driver import Client

from clickhouse.writer import TableWriter
from flows.clickhouse_sink import RatedClickHouseSink, empty_value, rejects_table, source_column, with_type_defaults
from flows.errors import InputError
from flows.file_source import DEFAULT_BATCH_LINES, FilePosition, NdjsonSource, next_line_batch
from flows.progress import byte_progress
from flows.rated_ids import StoreRatedIds
from flows.rating_flow import Reject, parsed_adjustments, rated_stream, run_file_flow
from rating.catalog import load_catalog
from rating.engine import Reference
from rating.lines import TextLines
from rating.records import load_subscribers, parse_billed_lines

FILES = {
    "catalog": "catalog.yaml",
    "subscribers": "subscribers.csv",
    "provisioning": "provisioning.csv",
    "adjustments": "adjustments.ndjson",
    "billed": "billed.ndjson",
    "network": "network.ndjson",
}
SUBSCRIBER_COLUMNS = [
    "msisdn", "account_id", "plan_id", "payment", "status", "activated_at", "cycle_day",
    "balance", "credit_limit", "segment",
]
PROVISIONING_COLUMNS = ["msisdn", "imsi", "status", "provisioned_at"]
ADJUSTMENT_COLUMNS = ["adjustment_id", "msisdn", "amount", "time", "kind", "source"]
BILLED_COLUMNS = [
    "bill_record_id", "record_id", "msisdn", "service", "start_time", "duration_s",
    "volume_bytes", "charge", "charge_exact", "charge_beyond_micro", "billed_at", "source",
]


def load_directory(client: Client, directory: Path, reference_only: bool = False, progress: bool = False) -> dict[str, int]:
    """Loads what `directory` holds; returns rows written per table (and rejects)."""
    directory = Path(directory)
    missing = [name for key, name in FILES.items() if key in ("catalog", "subscribers") and not (directory / name).exists()]
    if missing:
        raise InputError(f"{directory}: missing {', '.join(missing)} (files are named as `revguard simulate` writes them)")
    summary: dict[str, int] = {}
    catalog_text = (directory / FILES["catalog"]).read_text(encoding="utf-8")
    reference = _reference(catalog_text, directory / FILES["subscribers"])  # refuses a broken catalog
    summary["catalog"] = _store_catalog(client, catalog_text)
    summary["subscribers"] = _load_csv(client, directory / FILES["subscribers"], "revguard.subscribers", SUBSCRIBER_COLUMNS)
    if (directory / FILES["provisioning"]).exists():
        summary["provisioning"] = _load_csv(client, directory / FILES["provisioning"], "revguard.provisioning", PROVISIONING_COLUMNS)
    if reference_only:
        return summary
    placed = None
    adjustments_path = directory / FILES["adjustments"]
    if adjustments_path.exists():
        placed, rejects = parsed_adjustments(TextLines(adjustments_path.read_bytes()), adjustments_path.name)
        summary["adjustments"] = _write(client, "revguard.adjustments", ADJUSTMENT_COLUMNS,
                                        placed.append_column("source", source_column(adjustments_path.name, placed["position"])))
        summary["adjustments_rejected"] = _write_rejects(client, rejects)
    billed_path = directory / FILES["billed"]
    if billed_path.exists():
        summary.update(_load_billed(client, billed_path, progress))
    network_path = directory / FILES["network"]
    if network_path.exists():
        summary.update(_rate_into_store(client, network_path, reference, placed, progress))
    return summary


def _store_catalog(client: Client, text: str) -> int:
    """Stores a catalog's text, already validated by `_reference`."""
    checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
    client.insert("revguard.catalog", [[checksum, text]], column_names=["checksum", "yaml"])
    return 1


def _reference(catalog_text: str, subscribers: Path) -> Reference:
    try:
        return Reference(load_catalog(catalog_text), load_subscribers(subscribers))
    except ValueError as exc:  # CatalogError, ReferenceDataError
        raise InputError(str(exc)) from None


def _load_csv(client: Client, path: Path, table: str, columns: list[str]) -> int:
    """A reference CSV, every column read as text and converted by the store's column types."""
    data = path.read_bytes()
    try:
        header = pcsv.read_csv(io.BytesIO(data)).schema.names
        raw = pcsv.read_csv(
            io.BytesIO(data),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in header}, strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise InputError(f"{path.name}: not a CSV with a header row: {str(exc).splitlines()[0]}") from None
    absent = [c for c in columns if c not in raw.column_names and c not in ("account_id", "segment", "imsi")]
    if absent:
        raise InputError(f"{path.name}: missing column {', '.join(absent)}")
    writer = TableWriter(client, table, columns)
    converted = []
    for field in writer.schema:
        column = raw[field.name] if field.name in raw.column_names else pa.nulls(raw.num_rows, pa.string())
        try:
            if pa.types.is_timestamp(field.type):
                column = pc.cast(pc.strptime(pc.replace_substring(column, "Z", "+0000"), format="%Y-%m-%dT%H:%M:%S%z", unit="ms"), field.type)
            elif not pa.types.is_string(field.type):
                column = pc.cast(column, field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(f"{path.name}: column {field.name}: {str(exc).splitlines()[0]}") from None
        if not field.nullable:
            column = pc.fill_null(column, empty_value(field.type))
        converted.append(column)
    writer.add_batch(pa.table(converted, names=writer.schema.names))
    writer.flush()
    return writer.rows_written


def _write(client: Client, table: str, columns: list[str], rows: pa.Table) -> int:
    writer = TableWriter(client, table, columns)
    writer.add_batch(with_type_defaults(rows, writer.schema))
    writer.flush()
    return writer.rows_written


def _write_rejects(client: Client, rejects: tuple[Reject, ...] | list[Reject]) -> int:
    if not rejects:
        return 0
    return _write(client, "revguard.rejects", ["stream", "source", "record_id", "msisdn", "reason", "raw"], rejects_table(list(rejects)))


def _load_billed(client: Client, path: Path, progress: bool) -> dict[str, int]:
    """Billed records are not rated: parsed, validated and written as they come."""
    writer = TableWriter(client, "revguard.billed_usage", BILLED_COLUMNS)
    rejected = 0
    position = FilePosition(0, 1, 0)
    with byte_progress("loading billed records", path.stat().st_size, progress) as advance, path.open("rb") as file:
        while (step := next_line_batch(file, "billed", DEFAULT_BATCH_LINES, position)) is not None:
            batch, position = step
            parsed = parse_billed_lines(batch.lines)
            rows = parsed.accepted
            lines = pc.add(rows["position"], pa.scalar(batch.first_position, pa.int64()))
            rows = rows.append_column("source", source_column(path.name, lines))
            writer.add_batch(with_type_defaults(rows, writer.schema))
            rejects = [Reject("billed", path.name, batch.first_position + p, reason, raw) for p, reason, raw in parsed.rejects]
            rejected += _write_rejects(client, rejects)
            advance(position.byte_offset)
    writer.flush()
    return {"billed_usage": writer.rows_written, "billed_rejected": rejected}


def _rate_into_store(client: Client, path: Path, reference: Reference, adjustments: pa.Table | None, progress: bool) -> dict[str, int]:
    written: dict[str, int] = {}
    with byte_progress("rating network records", path.stat().st_size, progress) as advance:
        flow = Dataflow("revguard_load")
        batches = op.input("network", flow, NdjsonSource(path, "network", on_read=advance))
        rated = rated_stream(flow, batches, lambda: reference, adjustments=adjustments,  # one worker
                             rated_ids=StoreRatedIds(lambda: client))  # records rated by earlier loads
        keyed = op.key_on("to_store", rated, lambda _: "store")
        op.output("clickhouse", keyed, RatedClickHouseSink(lambda: client, on_close=written.update))
        run_file_flow(flow)
    return written

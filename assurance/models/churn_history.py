"""Months of simulated history into the store fast, for the churn model's tests and bench.

`revguard load` rates every network record through the rating flow, which is right for
assurance but slow for half a year of usage. The churn features read only what the store
holds either way (`network_usage`, `billed_usage`, `adjustments`, `subscribers`), so this
loader writes network records as they are, without rating, and reuses `revguard load` for the
rest. `churn.ndjson` (the truth) is never loaded.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pjson
from clickhouse_connect.driver import Client

from clickhouse.writer import TableWriter
from flows import load as store_load
from flows.clickhouse_sink import source_column, with_type_defaults
from flows.rating_flow import parsed_adjustments
from rating.lines import TextLines

NETWORK_FIELDS = ("record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes",
                  "destination", "roaming_mccmnc", "element_id", "cell_id")


def load_history(client: Client, directory: Path) -> dict[str, int]:
    """Catalog, subscribers, adjustments, billed records and unrated network records of a
    simulated directory into the store; rows written per table."""
    directory = Path(directory)
    summary = store_load.load_directory(client, directory, reference_only=True)
    adjustments_path = directory / "adjustments.ndjson"
    placed, _ = parsed_adjustments(TextLines(adjustments_path.read_bytes()), adjustments_path.name)
    summary["adjustments"] = store_load._write(
        client, "revguard.adjustments", store_load.ADJUSTMENT_COLUMNS,
        placed.append_column("source", source_column(adjustments_path.name, placed["position"])))
    summary.update(store_load._load_billed(client, directory / "billed.ndjson", progress=False))
    summary["network_usage"] = _load_network(client, directory / "network.ndjson")
    return summary


def _load_network(client: Client, path: Path) -> int:
    schema = pa.schema([(name, pa.int64() if name in ("duration_s", "volume_bytes") else pa.string())
                        for name in NETWORK_FIELDS])
    table = pjson.read_json(path, parse_options=pjson.ParseOptions(explicit_schema=schema))
    start = pc.strptime(pc.replace_substring(table["start_time"], "Z", "+0000"),
                        format="%Y-%m-%dT%H:%M:%S%z", unit="ms")
    table = table.set_column(table.schema.get_field_index("start_time"), "start_time", start)
    lines = pa.array(range(1, table.num_rows + 1), pa.int64())
    table = table.append_column("source", source_column(path.name, lines))
    writer = TableWriter(client, "revguard.network_usage", list(NETWORK_FIELDS) + ["source"])
    writer.add_batch(with_type_defaults(table, writer.schema))
    writer.flush()
    return writer.rows_written

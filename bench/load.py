"""`revguard load` throughput beside the store's raw write speed, in the same run.

    .venv/bin/python -m bench.load [--records N] [--dir DIR]

Loads a simulated directory (about N network records and as many billed ones, cached under
bench/out/) into a fresh embedded store: reference data, billed records, adjustments, and
network records rated through the dataflow into rated_usage, network_usage, balances,
alerts and rejects. The baseline is the machine's raw write: the same network records,
already parsed into Arrow, inserted into a plain MergeTree table with one `insert_arrow`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.json as pj

from bench.rate_file import NETWORK_JSON, simulated
from clickhouse.client import store_client
from clickhouse.migrations import migrate
from flows.load import load_directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    directory = simulated(args.records, args.dir)
    network = pj.read_json(directory / "network.ndjson",
                           parse_options=pj.ParseOptions(explicit_schema=NETWORK_JSON, unexpected_field_behavior="ignore"))
    billed_lines = sum(1 for _ in (directory / "billed.ndjson").open("rb"))
    store = Path(tempfile.mkdtemp(prefix="revguard-bench-load-"))
    try:
        client = store_client(f"chdb://{store}/chdb")
        migrate(client)
        client.command("CREATE TABLE revguard.raw_write AS revguard.network_usage ENGINE = MergeTree ORDER BY tuple()")
        began = time.perf_counter()
        client.insert_arrow("revguard.raw_write", network)
        raw = time.perf_counter() - began
        began = time.perf_counter()
        summary = load_directory(client, directory)
        load = time.perf_counter() - began
    finally:
        shutil.rmtree(store, ignore_errors=True)
    records = network.num_rows + billed_lines
    print(f"input: {network.num_rows:,} network + {billed_lines:,} billed records ({directory})")
    print(f"written: {summary}")
    print(f"raw insert_arrow of parsed network rows : {network.num_rows / raw:>12,.0f} records/s ({raw:.2f} s)")
    print(f"revguard load (parse, rate, 6 tables)   : {records / load:>12,.0f} records/s ({load:.2f} s)")
    print(f"ratio load/raw write                    : {(records / load) / (network.num_rows / raw):.3f}   "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()

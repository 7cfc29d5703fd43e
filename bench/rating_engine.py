"""Throughput of rating.engine.rate_batch alone on a synthetic batch (records/s).

Usage: python bench/rating_engine.py [ROWS] [SUBSCRIBERS]
Builds the batch as an Arrow table directly (parsing is not in the rate_batch figure), then
times one rate_batch call on a fresh state, and a second call on the warmed state (the next
batch of the same subscribers). For scale it also prints the per-call cost of small batches
and, separately, parse_network_lines on 200,000 JSON lines.
"""
from __future__ import annotations

import json
import pickle
import sys
import time

import numpy as np
import pyarrow as pa

from rating.catalog import load_catalog
from rating.engine import Reference, rate_batch
from rating.records import TIMESTAMP, Subscribers, parse_network_lines
from rating.state import RatingState

CATALOG = """
currency: EUR
timezone: Europe/London
tax_rate: "0.20"
low_balance_threshold: "2.00"
destination_classes:
  - {prefix: "4479", class: onnet}
  - {prefix: "44", class: national}
  - {prefix: "4490", class: premium}
  - {prefix: "", class: international}
roaming_zones:
  - {prefix: "208", zone: eu}
  - {prefix: "262", zone: eu}
  - {prefix: "", zone: world}
offpeak:
  - {days: [sat, sun], from: "00:00", to: "24:00"}
  - {days: [mon, tue, wed, thu, fri], from: "19:00", to: "07:00"}
plans:
  - id: SMART10
    payment: postpaid
    allowances: {voice_s: 18000, sms: 500, data_bytes: 5368709120}
    allowance_classes: [onnet, national]
    allowance_zones: [eu]
    voice: {rounding: "60/1", per_minute: {onnet: "0.05", national: "0.10", premium: "1.50", international: "0.80"}, offpeak_factor: "0.5"}
    sms: {per_message: {onnet: "0.05", national: "0.08", premium: "0.50", international: "0.25"}}
    data: {per_mb: "0.01", increment_kb: 100}
    roaming: {world: {per_minute: "1.50", per_message: "0.40", per_mb: "5.00"}}
    overage_discount_percent: "10"
  - id: GO5
    payment: prepaid
    allowances: {voice_s: 600, data_bytes: 1073741824}
    allowance_classes: [onnet]
    voice: {rounding: "1/1", per_minute: {onnet: "0.10", national: "0.15", premium: "2.00", international: "1.00"}}
    sms: {per_message: {onnet: "0.05", national: "0.10", premium: "0.60", international: "0.30"}}
    data: {per_mb: "0.02", increment_kb: 10}
    roaming: {eu: {per_minute: "0.30", per_message: "0.10", per_mb: "0.05"}, world: {per_minute: "2.00", per_message: "0.50", per_mb: "8.00"}}
"""


def synthetic(rows: int, subscribers: int, seed: int = 7, seq0: int = 0, t0: str = "2026-11-01T00:00:00") -> pa.Table:
    rng = np.random.default_rng(seed)
    msisdn = (447700000000 + rng.integers(0, subscribers, rows)).astype(str)
    service = rng.choice(np.array(["voice", "sms", "data"]), rows, p=[0.4, 0.2, 0.4])
    start = np.datetime64(t0, "us").astype(np.int64) + np.sort(rng.integers(0, 3 * 86_400_000_000, rows))
    duration = np.where(service == "voice", rng.integers(0, 900, rows), 0)
    volume = np.where(service == "data", rng.integers(0, 50_000_000, rows), 0)
    dest = np.where(service == "data", "", rng.choice(np.array(["447912345678", "441612345678", "449012345", "33612345678"]), rows))
    roam = rng.choice(np.array(["", "", "", "", "", "", "", "20801", "26202", "31026"]), rows)
    return pa.table(
        {
            "record_id": pa.array(np.char.add("r", np.arange(seq0, seq0 + rows).astype(str))),
            "msisdn": pa.array(msisdn),
            "service": pa.array(service),
            "start_time": pa.array(start).cast(TIMESTAMP),
            "duration_s": pa.array(duration.astype(np.int64)),
            "volume_bytes": pa.array(volume.astype(np.int64)),
            "destination": pa.array(dest),
            "roaming_mccmnc": pa.array(roam),
            "element_id": pa.array(np.full(rows, "msc-01")),
            "cell_id": pa.nulls(rows, pa.string()),
            "seq": pa.array(np.arange(seq0, seq0 + rows, dtype=np.int64)),
        }
    )


def subscribers(count: int) -> Subscribers:
    rng = np.random.default_rng(3)
    prepaid = rng.random(count) < 0.4
    return Subscribers(
        {
            "msisdn": (447700000000 + np.arange(count)).astype(str).astype(object),
            "account_id": np.full(count, "acc", dtype=object),
            "plan_id": np.where(prepaid, "GO5", "SMART10").astype(object),
            "payment": np.where(prepaid, "prepaid", "postpaid").astype(object),
            "status": np.full(count, "active", dtype=object),
            "cycle_day": rng.integers(1, 29, count).astype(np.int8),
            "balance": np.where(prepaid, rng.integers(0, 30_000_000, count), 0).astype(np.int64),
            "credit_limit": np.where(prepaid, -1, 100_000_000).astype(np.int64),
            "segment": np.full(count, "consumer", dtype=object),
        }
    )


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    reference = Reference(load_catalog(CATALOG), subscribers(count))
    first = synthetic(rows, count)
    second = synthetic(rows, count, seed=8, seq0=rows, t0="2026-11-04T00:00:00")
    state = RatingState()
    for label, batch in (("fresh state", first), ("warm state", second)):
        t, cpu = time.perf_counter(), time.process_time()
        out = rate_batch(state, reference, batch)
        dt, dcpu = time.perf_counter() - t, time.process_time() - cpu
        statuses = {str(k): int(v) for k, v in zip(*np.unique(out.rated["status"].to_numpy(zero_copy_only=False), return_counts=True))}
        print(f"rate_batch {label}: {rows:,} rows in {dt:.2f} s = {rows / dt:,.0f} records/s "
              f"({rows / dcpu:,.0f} per CPU-second; statuses {statuses}, alerts {out.alerts.num_rows:,}, "
              f"balances {out.balances.num_rows:,})")
    # The machine may be shared: CPU-seconds are the steadier figure when it is busy.
    print(f"state: {state.size:,} subscribers, {len(state.seen):,} remembered record ids, "
          f"{len(pickle.dumps(state)) / 1e6:.0f} MB pickled")
    seq = 2 * rows
    for size in (1_000, 10_000, 100_000):
        batch = synthetic(size, count, seed=size, seq0=seq, t0="2026-11-07T00:00:00")
        seq += size
        t = time.perf_counter()
        rate_batch(state, reference, batch)
        dt = time.perf_counter() - t
        print(f"rate_batch of {size:,} rows: {dt * 1000:.0f} ms = {size / dt:,.0f} records/s")
    lines = [json.dumps(r, default=str).encode() for r in synthetic(200_000, count, seed=9).drop_columns(["seq"]).to_pylist()]
    t = time.perf_counter()
    parsed = parse_network_lines(lines)
    dt = time.perf_counter() - t
    print(f"parse_network_lines: {len(lines):,} lines in {dt:.2f} s = {len(lines) / dt:,.0f} lines/s "
          f"({parsed.accepted.num_rows:,} accepted)")


if __name__ == "__main__":
    main()

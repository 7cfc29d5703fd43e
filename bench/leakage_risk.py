"""Leakage-risk scoring at size: time and peak memory to read, describe and score N open records.

    .venv/bin/python -m bench.leakage_risk [--records N] [--history N]

A temporary embedded store gets `--history` judged records over the 7 days before the cutoff
(with findings at a fault rate by element) and N records inside the SLA. The model is fitted
once, then the scoring run is timed stage by stage. Baseline, in the same run: reading the same
N records from the store (`SELECT` of their columns), so each stage reads as a ratio of that.
Peak memory: the process's maximum resident set before and after scoring (the setup's rows
dominate it), and the read-and-score stage's own peak under tracemalloc in a second pass.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from time import perf_counter

import numpy as np
import pyarrow as pa

ANCHOR = datetime(2026, 11, 10)
ELEMENTS = ["msc-01", "msc-02", "pgw-01", "pgw-02", "pgw-03"]
SERVICES = ["voice", "sms", "data", "data", "data"]


def _rated(n: int, lo: datetime, span_s: int, seed: int, prefix: str) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    e = rng.integers(0, len(ELEMENTS), n)
    start = np.datetime64(lo, "ms") + (rng.random(n) * span_s * 1000).astype("timedelta64[ms]")
    charge = np.round(rng.lognormal(-2.5, 1.2, n), 6)
    return pa.table({
        "record_id": [f"{prefix}{i:09d}" for i in range(n)], "msisdn": [f"4479{i % 100000:08d}" for i in range(n)],
        "service": np.array(SERVICES)[e], "start_time": start, "duration_s": rng.integers(0, 600, n).astype(np.uint32),
        "volume_bytes": rng.integers(0, 10_000_000, n).astype(np.uint64), "destination": [""] * n,
        "roaming_mccmnc": [""] * n, "element_id": np.array(ELEMENTS)[e], "cell_id": [""] * n,
        "plan_id": np.array(["SMART10", "PAYG", "BASIC"])[rng.integers(0, 3, n)], "payment": ["postpaid"] * n,
        "dest_class": np.array(["onnet", "national", "international"])[rng.integers(0, 3, n)],
        "roaming_zone": [""] * n, "offpeak": rng.random(n) < 0.4, "billable_units": np.zeros(n, np.uint64),
        "allowance_units": np.zeros(n, np.uint64), "charged_units": np.zeros(n, np.uint64),
        "charge": pa.array([str(c) for c in charge]).cast(pa.decimal128(18, 6)),
        "tax": pa.array(["0"] * n).cast(pa.decimal128(18, 6)), "total": pa.array(["0"] * n).cast(pa.decimal128(18, 6)),
        "unfunded": pa.array(["0"] * n).cast(pa.decimal128(18, 6)), "status": ["rated"] * n, "reason": [""] * n,
        "source": ["bench"] * n}), e, charge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--history", type=int, default=200_000)
    args = parser.parse_args()
    from assurance.models import leakage_features as F
    from assurance.models.leakage_scoring import _model, _scored
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate

    home = Path(tempfile.mkdtemp(prefix="bench-leakage-"))
    client = store_client(home=home)
    migrate(client)
    history, e, charge = _rated(args.history, ANCHOR - timedelta(days=7), 7 * 86400, 1, "H")
    client.insert_arrow("revguard.rated_usage", history)
    rng = np.random.default_rng(2)
    faulted = rng.random(args.history) < np.array([0.005, 0.005, 0.08, 0.01, 0.01])[e]
    rows = [[f"F{i}", "unbilled", history["record_id"][i].as_py(), "", "", ELEMENTS[e[i]], history["charge"][i].as_py(),
             history["start_time"][i].as_py(), ANCHOR, "{}"] for i in np.flatnonzero(faulted).tolist()]
    client.insert("revguard.discrepancies", rows, column_names=["finding_id", "kind", "record_id", "bill_record_id",
                  "msisdn", "element_id", "amount", "event_time", "detected_at", "evidence"])
    open_records, _, _ = _rated(args.records, ANCHOR, 86400 - 1, 3, "O")
    client.insert_arrow("revguard.rated_usage", open_records)
    as_of = ANCHOR + timedelta(days=1)

    t = perf_counter()
    rates = F.window_rates(client, ANCHOR, ANCHOR - timedelta(days=28), ANCHOR)
    model, _, _ = _model(client, home, ANCHOR, rates, True, False)
    fit_s = perf_counter() - t
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t = perf_counter()
    client.query_df("SELECT record_id, element_id, charge FROM revguard.rated_usage FINAL WHERE start_time >= {lo:DateTime64(3, 'UTC')}",
                    parameters={"lo": ANCHOR})
    baseline_s = perf_counter() - t
    t = perf_counter()
    records = F.record_frame(client, ANCHOR, ANCHOR, as_of)
    read_s = perf_counter() - t
    t = perf_counter()
    scores = _scored(model, records, rates)
    score_s = perf_counter() - t
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the stage's own peak, apart from the setup's: a second, untimed pass under tracemalloc
    # (numpy and pandas report their buffers to it)
    tracemalloc.start()
    _scored(model, F.record_frame(client, ANCHOR, ANCHOR, as_of), rates)
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"records scored            {len(scores):>12,}")
    print(f"fit on {args.history:,} judged records  {fit_s:8.1f} s")
    print(f"baseline: read 3 columns  {baseline_s:8.2f} s  (1.0x)")
    print(f"read model columns (SQL)  {read_s:8.2f} s  ({read_s / baseline_s:.1f}x)")
    print(f"features + score + money  {score_s:8.2f} s  ({score_s / baseline_s:.1f}x)  "
          f"{len(scores) / score_s:,.0f} records/s")
    print(f"peak RSS                  {rss_before:8.0f} MB before scoring (setup), {rss_after:.0f} MB after")
    print(f"peak traced, read + score {traced_peak:8.0f} MB")


if __name__ == "__main__":
    main()

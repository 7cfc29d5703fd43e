"""Churn features and scores at scale: time and peak memory for N subscribers.

    python -m bench.churn --subscribers 1000000

The store is filled inside ClickHouse (`INSERT ... SELECT FROM numbers()`): N subscribers with
56 days of usage (about 12 records each), bills, top-ups. Then, timed: the feature query as of
T, a model fitted on a 20,000-row sample, probabilities and reasons for everyone, and the
insert into `churn_scores`. Baseline in the same run: a plain scan counting the same usage rows
per subscriber (what reading the data costs at all). Peak memory: this process's max RSS.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from rich.console import Console

T = datetime(2027, 3, 1, tzinfo=timezone.utc)
EVENTS_PER_SUBSCRIBER = 12


def fill(client, subscribers: int) -> None:
    from flows.simulator.catalog import catalog_document

    client.insert("revguard.catalog", [["bench", yaml.safe_dump(catalog_document())]], column_names=["checksum", "yaml"])
    start = (T - timedelta(days=56)).strftime("%Y-%m-%d %H:%M:%S")
    client.command(f"""
        INSERT INTO revguard.subscribers (msisdn, account_id, plan_id, payment, status, activated_at, cycle_day,
                                          balance, credit_limit, segment)
        SELECT toString(447900000000 + number), 'AC', ['SMART10','BIZ30','BASIC','PAYG','PREPAID5'][1 + number % 5],
               if(number % 5 >= 3, 'prepaid', 'postpaid'), if(number % 40 = 0, 'terminated', 'active'),
               toDateTime64('2024-01-01 00:00:00', 3, 'UTC') + toIntervalDay(number % 1100), 1 + number % 28,
               if(number % 5 >= 3, toDecimal64(5, 6), NULL), if(number % 5 < 3, toDecimal64(100, 6), NULL),
               ['consumer','youth','senior','business'][1 + number % 4]
        FROM numbers({subscribers})""")
    events = subscribers * EVENTS_PER_SUBSCRIBER
    client.command(f"""
        INSERT INTO revguard.network_usage (record_id, msisdn, service, start_time, duration_s, volume_bytes,
                                            destination, roaming_mccmnc, element_id, cell_id)
        SELECT concat('R', toString(number)), toString(447900000000 + number % {subscribers}),
               ['voice','sms','data'][1 + intHash32(number) % 3],
               toDateTime64('{start}', 3, 'UTC') + toIntervalSecond(intHash64(number) % (86400 * 66)),
               intHash32(number + 1) % 600, intHash32(number + 2) % 50000000,
               toString(441000000000 + intHash32(number + 3) % 1000),
               if(intHash32(number + 4) % 100 = 0, '310260', ''), 'E1', ''
        FROM numbers({events})""")
    client.command("""
        INSERT INTO revguard.billed_usage (bill_record_id, record_id, msisdn, service, start_time, duration_s,
                                           volume_bytes, charge, billed_at)
        SELECT concat('B', record_id), record_id, msisdn, service, start_time, duration_s, volume_bytes,
               toDecimal64((cityHash64(record_id) % 300) / 100, 6), start_time + toIntervalHour(1)
        FROM revguard.network_usage""")
    client.command(f"""
        INSERT INTO revguard.adjustments (adjustment_id, msisdn, amount, time, kind)
        SELECT concat('T', toString(number)), toString(447900000000 + number % {subscribers}), toDecimal64(10, 6),
               toDateTime64('{start}', 3, 'UTC') + toIntervalSecond(intHash64(number) % (86400 * 56)), 'topup'
        FROM numbers({subscribers * 2})""")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    args = parser.parse_args()
    console = Console()
    from assurance.models.churn import fit_churn
    from assurance.models.churn_features import features_as_of
    from assurance.models.churn_scoring import write_scores
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate

    with tempfile.TemporaryDirectory(prefix="churn-bench-") as work:
        client = store_client(f"chdb://{Path(work) / 'chdb'}")
        migrate(client)
        began = time.perf_counter()
        fill(client, args.subscribers)
        console.print(f"filled {args.subscribers:,} subscribers, {args.subscribers * EVENTS_PER_SUBSCRIBER:,} usage "
                      f"records in {time.perf_counter() - began:.1f} s")
        timings = {}
        t = time.perf_counter()
        client.query("SELECT count() FROM (SELECT msisdn, count() FROM revguard.network_usage FINAL GROUP BY msisdn)")
        timings["baseline: count usage per subscriber"] = time.perf_counter() - t
        t = time.perf_counter()
        X, _ = features_as_of(client, T)
        timings["features as of T"] = time.perf_counter() - t
        rng = np.random.default_rng(0)
        frames = {}
        for k in range(2):  # labels are synthetic: only the cost of fitting is measured here
            sample = X.sample(n=min(10_000, len(X)), random_state=k)
            frames[T - timedelta(days=31 * (2 - k))] = (sample, pd.Series(rng.random(len(sample)) < 0.05, index=sample.index).astype(int))
        t = time.perf_counter()
        model = fit_churn(frames)
        timings["fit on 20,000 rows"] = time.perf_counter() - t
        t = time.perf_counter()
        run = write_scores(client, model, X, T, "bench")
        timings["probabilities, reasons, insert"] = time.perf_counter() - t
    console.print(f"{run.rows:,} subscribers scored")
    for name, seconds in timings.items():
        console.print(f"{name:40s} {seconds:8.1f} s")
    ratio = timings["features as of T"] / timings["baseline: count usage per subscriber"]
    console.print(f"features / baseline scan: {ratio:.1f}x; peak RSS {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()

"""Throughput of reconcile() on embedded chDB against a bare count() of the same join.

Usage: python -m bench.reconcile [--records N] [--runs K] [--dir DIR]
Generates N network, N billed and N rated records inside ClickHouse (numbers()), with
faults of every record kind sprinkled in, then times one full reconcile() and, in the
same process and store, `count()` of network_usage FINAL joined to billed_usage FINAL on
record_id: the floor any usage-to-bill matching has to pay. Prints both and the ratio.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from statistics import median
from pathlib import Path

from assurance.reconcile import reconcile
from clickhouse.client import store_client
from clickhouse.migrations import migrate

SPREAD_MS = 7 * 86_400_000  # a week of usage
SUBSCRIBERS = 100_000

_NETWORK = """
INSERT INTO revguard.network_usage
    (record_id, msisdn, service, start_time, duration_s, volume_bytes, destination, roaming_mccmnc, element_id, cell_id)
SELECT
    concat('r', toString(number)),
    toString(447900000000 + number % {subscribers:UInt64}),
    ['voice', 'sms', 'data'][number % 3 + 1],
    toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(intDiv(number * {spread:UInt64}, {n:UInt64})),
    if(number % 3 = 0, 30 + number % 600, 0),
    if(number % 3 = 2, 1000 + number % 5000000, 0),
    if(number % 3 = 2, '', '447911111111'),
    '',
    concat('msc-0', toString(number % 8)),
    ''
FROM numbers({n:UInt64})
"""

_RATED = """
INSERT INTO revguard.rated_usage
    (record_id, msisdn, service, start_time, duration_s, volume_bytes, destination, roaming_mccmnc, element_id,
     cell_id, plan_id, payment, dest_class, roaming_zone, offpeak, billable_units, allowance_units, charged_units,
     charge, tax, total, unfunded, balance_after, cycle_start, status, reason, source)
SELECT
    record_id, msisdn, service, start_time, duration_s, volume_bytes, destination, roaming_mccmnc, element_id,
    cell_id, 'SMART10', if(cityHash64(record_id) % 10 = 0, 'prepaid', 'postpaid'), 'national', '', false,
    duration_s, 0, duration_s,
    toDecimal64(cityHash64(record_id) % 100000, 6) / 100000 AS c,
    toDecimal64(round(c * toDecimal64('0.2', 6), 6), 6) AS t,
    c + t,
    if(cityHash64(record_id) % 1000 = 0, c + t, toDecimal64(0, 6)),
    NULL, NULL, 'rated', '', ''
FROM revguard.network_usage
"""

# Bill i bills record i, except: i % 200 = 1 bills record i-1 again (record i unbilled,
# record i-1 duplicated); i % 500 = 7 bills a record the network never saw (phantom);
# i % 300 = 5 is priced wrong (misrated); i % 400 = 9 bills a different duration.
# Every column is recomputed from the billed record's number by the formulas above, so
# generation is one scan of numbers() with no join.
_BILLED = """
INSERT INTO revguard.billed_usage
    (bill_record_id, record_id, msisdn, service, start_time, duration_s, volume_bytes, charge, billed_at)
SELECT
    concat('b', toString(number)),
    multiIf(number % 500 = 7, concat('x', toString(number)), concat('r', toString(k))) AS rid,
    toString(447900000000 + k % {subscribers:UInt64}),
    ['voice', 'sms', 'data'][k % 3 + 1],
    toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(intDiv(k * {spread:UInt64}, {n:UInt64})) AS t,
    if(k % 3 = 0, 30 + k % 600, 0) + if(number % 400 = 9, 60, 0),
    if(k % 3 = 2, 1000 + k % 5000000, 0),
    toDecimal64(cityHash64(concat('r', toString(k))) % 100000, 6) / 100000
        + if(number % 300 = 5, toDecimal64('0.010000', 6), toDecimal64(0, 6)),
    t + toIntervalHour(2)
FROM (SELECT number, if(number % 200 = 1, number - 1, number) AS k FROM numbers({n:UInt64}))
"""

_BARE_JOIN = """
SELECT count()
FROM revguard.network_usage AS n FINAL
INNER JOIN revguard.billed_usage AS b FINAL ON b.record_id = n.record_id
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000, help="network (and billed) records")
    parser.add_argument("--runs", type=int, default=1, help="reconcile runs over the same data (median reported)")
    parser.add_argument("--dir", type=Path, default=None, help="chDB directory (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    if args.records < 1000:
        print("bench/reconcile.py: error: --records must be at least 1000", file=sys.stderr)
        return 2
    if args.runs < 1:
        print("bench/reconcile.py: error: --runs must be at least 1", file=sys.stderr)
        return 2
    directory = args.dir or Path(tempfile.mkdtemp(prefix="revguard-bench-"))
    client = store_client(url=f"chdb://{directory.resolve()}")
    migrate(client)
    n = args.records
    params = {"n": n, "spread": SPREAD_MS, "subscribers": SUBSCRIBERS}
    print(f"load average at start: {_load()}")
    started = time.perf_counter()
    client.command(_NETWORK, parameters=params)
    client.command(_RATED)
    client.command(_BILLED, parameters=params)
    client.command("INSERT INTO revguard.subscribers (msisdn, status) "
                   "SELECT toString(447900000000 + number), 'active' FROM numbers({subscribers:UInt64})",
                   parameters=params)
    client.command("INSERT INTO revguard.provisioning (msisdn, status) "
                   "SELECT toString(447900000000 + number), 'active' FROM numbers({subscribers:UInt64})",
                   parameters=params)
    print(f"generated {n:,} network, {n:,} rated, {n:,} billed records in {time.perf_counter() - started:.1f} s")

    runs: list[tuple[float, float, tuple[tuple[str, float], ...]]] = []
    for run in range(args.runs):
        started = time.perf_counter()
        summary = reconcile(client)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        joined = client.query(_BARE_JOIN).result_rows[0][0]
        bare = time.perf_counter() - started
        runs.append((seconds, bare, summary.control_seconds))
        print(f"run {run + 1}: reconcile {seconds:.2f} s, bare join {bare:.2f} s, load average {_load()}")

    for kind in summary.kinds:
        print(f"  {kind.kind:<20} {kind.findings:>10,} {kind.amount:>18,.6f}")
    seconds = median(r[0] for r in runs)
    bare = median(r[1] for r in runs)
    print(f"per control (median of {len(runs)} run(s)):")
    for i, (kind, _) in enumerate(runs[0][2]):
        print(f"  {kind:<20} {median(r[2][i][1] for r in runs):8.2f} s")
    print(f"  {'(summary, delete)':<20} {median(r[0] - sum(t for _, t in r[2]) for r in runs):8.2f} s")
    print(f"reconcile:    {seconds:8.2f} s  {n / seconds:>12,.0f} network records/s")
    print(f"bare join:    {bare:8.2f} s  {n / bare:>12,.0f} network records/s  ({joined:,} pairs)")
    print(f"ratio:        {seconds / bare:8.1f} x the bare join")
    return 0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())

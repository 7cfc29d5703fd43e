"""Throughput of reconcile() on embedded chDB against a bare count() of the same join.

Usage: python bench/reconcile.py [--records N] [--dir DIR]
Generates N network, N billed and N rated records inside ClickHouse (numbers()), with
faults of every record kind sprinkled in, then times one full reconcile() and, in the
same process and store, `count()` of network_usage FINAL joined to billed_usage FINAL on
record_id: the floor any usage-to-bill matching has to pay. Prints both and the ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
_BILLED = """
INSERT INTO revguard.billed_usage
    (bill_record_id, record_id, msisdn, service, start_time, duration_s, volume_bytes, charge, billed_at)
SELECT
    concat('b', toString(number)),
    multiIf(number % 200 = 1, concat('r', toString(number - 1)),
            number % 500 = 7, concat('x', toString(number)),
            concat('r', toString(number))),
    r.msisdn, r.service, r.start_time,
    if(number % 400 = 9, r.duration_s + 60, r.duration_s),
    r.volume_bytes,
    if(number % 300 = 5, r.charge + toDecimal64('0.010000', 6), r.charge),
    r.start_time + toIntervalHour(2)
FROM numbers({n:UInt64}) AS g
INNER JOIN revguard.rated_usage AS r
    ON r.record_id = concat('r', toString(if(g.number % 200 = 1, g.number - 1, g.number)))
"""

_BARE_JOIN = """
SELECT count()
FROM revguard.network_usage AS n FINAL
INNER JOIN revguard.billed_usage AS b FINAL ON b.record_id = n.record_id
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000, help="network (and billed) records")
    parser.add_argument("--dir", type=Path, default=None, help="chDB directory (default: a fresh temp dir)")
    args = parser.parse_args(argv)
    if args.records < 1000:
        print("bench/reconcile.py: error: --records must be at least 1000", file=sys.stderr)
        return 2
    directory = args.dir or Path(tempfile.mkdtemp(prefix="revguard-bench-"))
    client = store_client(url=f"chdb://{directory.resolve()}")
    migrate(client)
    n = args.records
    params = {"n": n, "spread": SPREAD_MS, "subscribers": SUBSCRIBERS}
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

    started = time.perf_counter()
    summary = reconcile(client)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    joined = client.query(_BARE_JOIN).result_rows[0][0]
    bare = time.perf_counter() - started

    for kind in summary.kinds:
        print(f"  {kind.kind:<20} {kind.findings:>10,} {kind.amount:>18,.6f}")
    print(f"reconcile:    {seconds:8.2f} s  {n / seconds:>12,.0f} network records/s")
    print(f"bare join:    {bare:8.2f} s  {n / bare:>12,.0f} network records/s  ({joined:,} pairs)")
    print(f"ratio:        {seconds / bare:8.1f} x the bare join")
    return 0


if __name__ == "__main__":
    sys.exit(main())

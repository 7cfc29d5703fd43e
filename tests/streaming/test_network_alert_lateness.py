"""An element whose records all arrive late is not silent: the detector learns lateness per element.

Hand-made, straight into the detector (no broker: what is tested is the counting). Baseline:
`msc-01` voice and `pgw-01` data, 600 records an hour each (10 a minute), every hour of the
week, zone UTC. Live: Monday 9 November 2026, 09:00 to 12:00 UTC, one record of each every
6 s; `msc-01`'s arrive on time, every `pgw-01` record arrives 20 minutes after its start
(mediation holds the data feed). `pgw-01` sends nothing that starts from 10:30:00 to 11:00:00
(its last record before is 10:29:54, which arrives at 10:49:54). Batches hold 30 s of arrivals.

By hand: half of all records arrive on time, so one lateness for all says half of what
`pgw-01` started in the last 20 minutes (10 a minute) should be in: about 100 records where
none are, far above the ln(2 * 288 / 0.01) = 10.96 a silence needs: a false alert. `pgw-01`'s
own lateness says nothing of the last 19 minutes is due yet. Its silence is seen once its
last record is 20 minutes old and 11 more records were due after it: 10:29:54 + 20 min +
about 1.1 min, i.e. in 10:50-10:53 of the clock; it resolves when its record of 11:00:00
arrives (11:20), ending at 11:00:00. `msc-01` is never silent.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa

from flows.network_alerts import NetworkAlertDetector, NetworkAlertState, network_counts
from flows.network_baseline import NetworkBaseline

UTC = dt.timezone.utc
LATE = dt.timedelta(minutes=20)


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 9, hour, minute, second, tzinfo=UTC)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def deliveries() -> list[tuple[dt.datetime, str, str, dt.datetime]]:
    """(arrival, element, service, start) in arrival order."""
    out = []
    moment = at(9)
    while moment < at(12):
        out.append((moment, "msc-01", "voice", moment))
        if not at(10, 30) <= moment < at(11):
            out.append((moment + LATE, "pgw-01", "data", moment))
        moment += dt.timedelta(seconds=6)
    return sorted(out, key=lambda d: (d[0], d[3]))


def batch(rows: list[tuple[dt.datetime, str, str, dt.datetime]]) -> pa.Table:
    return pa.table({
        "element_id": [r[1] for r in rows], "service": [r[2] for r in rows],
        "start_time": pa.array([r[3] for r in rows], pa.timestamp("ms", tz="UTC")),
        "msisdn": ["447900000001"] * len(rows), "dest_class": ["national"] * len(rows),
        "status": ["rated"] * len(rows)})


def test_an_element_whose_records_arrive_late_is_not_silent_until_it_is():
    baseline = NetworkBaseline(hourly={("msc-01", "voice"): (600.0,) * 168, ("pgw-01", "data"): (600.0,) * 168},
                               timezone="UTC")
    detector, state = NetworkAlertDetector(baseline), NetworkAlertState()
    alerts: list[dict] = []
    pending: list = []
    slot = None
    for row in deliveries():
        here = int(row[0].timestamp()) // 30
        if slot is not None and here != slot:
            alerts += detector.update(state, network_counts(batch(pending), "p0"))
            pending = []
        slot = here
        pending.append(row)
    alerts += detector.update(state, network_counts(batch(pending), "p0"))

    assert [(a["kind"], a["element_id"], a["status"]) for a in alerts] == [
        ("element_silent", "pgw-01", "firing"), ("element_silent", "pgw-01", "resolved")]
    firing, resolved = alerts
    assert firing["alert_id"] == "element_silent:pgw-01:data:2026-11-09T10:29:54Z"
    assert iso(at(10, 50)) <= firing["detected_at_event_time"] < iso(at(10, 53))
    assert resolved["ends_at"] == iso(at(11))
    assert iso(at(11, 20)) <= resolved["detected_at_event_time"] < iso(at(11, 21))

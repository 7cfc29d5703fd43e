"""Network alerts raised by the stream, on hand-made traffic through the real broker and store.

History (the baseline): Monday 2 and Tuesday 3 November 2026, `msc-01` and `msc-02` each send
600 voice records an hour (10 a minute), no premium calls. The catalog's zone is
Europe/London, which is UTC in November. Live: Monday 9 November, 09:30 to 11:30 UTC, both
elements send a record every 6 s (10 a minute, what the baseline expects), on time, one
input partition (so arrival order is the order produced), except:

- `msc-01` sends nothing from 10:20:00 to 10:40:00 (its last record before is 10:19:54);
- `msc-02` sends one record every 30 s (2 a minute) from 10:45:00 to 11:00:00;
- subscriber 447900000001 calls a premium number (4490...) twelve times, 10:50:00-10:51:06 (every 6 s).

By hand: with 2 element × service keys checked every minute, a silence fires when the
records due since the last one reach ln(2 * 288 / 0.01) = 10.96, i.e. two minutes at 10 a
minute: in minute 10:21 (10:22 at the latest, if some records of the running minute count
as not yet due). A 5-minute window of msc-02 from 10:45 holds 10 records where 50 were
due: at most a third, Poisson P(X <= 10 | 50) ~ 1e-11, far below 0.01 / (2 * 288). The
subscriber's 12 premium calls in one window, against one call per 552 windows of history
(46 whole hours): a surge; msc-02's 12 premium calls against 1 a window (its floor): a surge.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

from confluent_kafka import Consumer, TopicPartition

from flows.kafka.topics import ensure_topics
from flows.streaming import StreamOptions, StreamTopics, run_rating_flow
from tests.streaming.conftest import load_reference, produce_lines

UTC = dt.timezone.utc
SUBSCRIBER = "447900000001"  # postpaid in tests.flows.conftest


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def record(n: int, element: str, moment: dt.datetime, destination: str = "441234567890") -> str:
    return json.dumps({"record_id": f"L{n:07d}", "msisdn": SUBSCRIBER, "service": "voice", "start_time": iso(moment),
                       "duration_s": 30, "volume_bytes": 0, "destination": destination, "roaming_mccmnc": "",
                       "element_id": element, "cell_id": "23415-1"})


def history_rows() -> list[list]:
    rows, n = [], 0
    for element in ("msc-01", "msc-02"):
        moment = at(2, 0)
        while moment < at(4, 0):
            rows.append([f"H{n:07d}", SUBSCRIBER, "voice", moment, element, "national", "rated"])
            n += 1
            moment += dt.timedelta(seconds=6)
    return rows


def live_lines() -> list[str]:
    lines, n = [], 0
    moment = at(9, 9, 30)
    while moment < at(9, 11, 30):
        silent = at(9, 10, 20) <= moment < at(9, 10, 40)
        if not silent:
            lines.append(record(n, "msc-01", moment))
            n += 1
        dropping = at(9, 10, 45) <= moment < at(9, 11, 0)
        if not dropping or moment.second % 30 == 0:
            lines.append(record(n, "msc-02", moment))
            n += 1
        if at(9, 10, 50) <= moment < at(9, 10, 51, 12):
            lines.append(record(n, "msc-02", moment, destination="449012345678"))
            n += 1
        moment += dt.timedelta(seconds=6)
    return lines


def read_all(bootstrap: str, topic: str) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    out, idle = [], 0
    while idle < 3:
        message = consumer.poll(1.0)
        if message is None:
            idle += 1
        elif message.error() is None:
            out.append(json.loads(message.value()))
    consumer.close()
    return out


def test_silence_drop_and_surges_open_and_resolve_on_the_stream(chdb_client, kafka_bootstrap, reference_dir, tmp_path):
    load_reference(chdb_client, reference_dir)
    chdb_client.insert("revguard.rated_usage", history_rows(),
                       column_names=["record_id", "msisdn", "service", "start_time", "element_id", "dest_class", "status"])
    topics = StreamTopics.with_prefix(f"n{uuid.uuid4().hex[:10]}.")
    ensure_topics({"bootstrap.servers": kafka_bootstrap}, 1, topics.all())
    produce_lines(kafka_bootstrap, live_lines(), topics.network, tmp_path)

    run_rating_flow(None, kafka_bootstrap, options=StreamOptions(topics=topics, network_alerts=True, until_idle_s=3.0, poll_records=20,
                                                                 batch_linger_s=0.01, partitions=1),
                    recovery_dir=tmp_path / "recovery")

    alerts = [a for a in read_all(kafka_bootstrap, topics.alerts) if "status" in a]
    by_kind: dict[tuple, list[dict]] = {}
    for a in alerts:
        by_kind.setdefault((a["kind"], a.get("element_id"), a.get("msisdn")), []).append(a)

    silent = by_kind.pop(("element_silent", "msc-01", None))
    assert [a["status"] for a in silent] == ["firing", "resolved"]
    assert {a["alert_id"] for a in silent} == {"element_silent:msc-01:voice:2026-11-09T10:19:54Z"}
    assert silent[0]["starts_at"] == "2026-11-09T10:19:54Z"
    assert iso(at(9, 10, 21)) <= silent[0]["detected_at_event_time"] < iso(at(9, 10, 23))
    assert silent[1]["ends_at"] == "2026-11-09T10:40:00Z"

    drop = by_kind.pop(("traffic_drop", "msc-02", None))
    assert [a["status"] for a in drop] == ["firing", "resolved"]
    assert drop[0]["starts_at"] == "2026-11-09T10:45:00Z" and drop[0]["observed"] == 10
    assert drop[1]["ends_at"] == "2026-11-09T11:00:00Z"

    element_surge = by_kind.pop(("premium_surge", "msc-02", None))
    assert [(a["status"], a["starts_at"]) for a in element_surge] == [("firing", "2026-11-09T10:50:00Z"),
                                                                      ("resolved", "2026-11-09T10:50:00Z")]
    assert element_surge[0]["observed"] == 12 and element_surge[1]["ends_at"] == "2026-11-09T10:55:00Z"
    subscriber_surge = by_kind.pop(("premium_surge", None, SUBSCRIBER))
    assert [a["status"] for a in subscriber_surge] == ["firing", "resolved"]
    assert subscriber_surge[0]["starts_at"] == "2026-11-09T10:50:00Z"
    assert by_kind == {}  # nothing else: msc-01's empty windows during its silence are no drop

    stored = chdb_client.query("SELECT alert_id, kind, record_id, toString(time) FROM revguard.alerts FINAL "
                               "WHERE kind = 'element_silent'").result_rows
    assert sorted(stored) == [
        ("element_silent:msc-01:voice:2026-11-09T10:19:54Z", "element_silent", "msc-01/voice", "2026-11-09 10:19:54.000"),
        ("element_silent:msc-01:voice:2026-11-09T10:19:54Z/resolved", "element_silent", "msc-01/voice",
         "2026-11-09 10:40:00.000"),
    ]

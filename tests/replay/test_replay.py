"""`revguard replay`: the simulator's files into Kafka in event-time order, paced by --speed."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from flows.kafka.topics import ensure_topics
from flows.replay import replay_directory
from tests.kafka.reading import read_to_end

pytestmark = pytest.mark.kafka


def lines(*records: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


@pytest.fixture
def prefix(kafka_bootstrap: str) -> str:
    prefix = f"r{uuid.uuid4().hex[:10]}."
    ensure_topics({"bootstrap.servers": kafka_bootstrap}, 1,
                  [prefix + t for t in ("revguard.usage.network", "revguard.balance.adjustments", "revguard.usage.billed")])
    return prefix


def test_streams_are_merged_in_event_time_with_an_adjustment_first_on_a_tie(tmp_path, kafka_bootstrap, prefix):
    (tmp_path / "network.ndjson").write_text(lines(
        {"record_id": "n2", "msisdn": "1", "start_time": "2026-11-02T08:00:02Z"},
        {"record_id": "n1", "msisdn": "1", "start_time": "2026-11-02T08:00:01Z"},
    ))
    (tmp_path / "adjustments.ndjson").write_text(lines({"adjustment_id": "a1", "msisdn": "1", "time": "2026-11-02T08:00:01Z"}))
    (tmp_path / "billed.ndjson").write_text(lines({"bill_record_id": "b1", "msisdn": "1", "billed_at": "2026-11-02T08:00:00Z"}))

    summary = replay_directory(tmp_path, {"bootstrap.servers": kafka_bootstrap}, topic_prefix=prefix)

    network = [json.loads(v)["record_id"] for *_, v in read_to_end(kafka_bootstrap, prefix + "revguard.usage.network")]
    assert network == ["n1", "n2"]
    assert summary.produced == {prefix + "revguard.usage.billed": 1, prefix + "revguard.balance.adjustments": 1,
                                prefix + "revguard.usage.network": 2}
    assert list(summary.produced) == [prefix + "revguard.usage.billed", prefix + "revguard.balance.adjustments",
                                      prefix + "revguard.usage.network"]  # first produced first
    assert summary.event_span_s == 2.0


def test_speed_spreads_event_time_over_wall_time(tmp_path, kafka_bootstrap, prefix):
    (tmp_path / "network.ndjson").write_text(lines(
        {"record_id": "n1", "msisdn": "1", "start_time": "2026-11-02T08:00:00Z"},
        {"record_id": "n2", "msisdn": "1", "start_time": "2026-11-02T08:02:00Z"},
    ))
    began = time.monotonic()
    replay_directory(tmp_path, {"bootstrap.servers": kafka_bootstrap}, speed=80, topic_prefix=prefix)
    assert time.monotonic() - began >= 1.5  # 120 s of event time at 80 x


def test_a_line_without_a_readable_time_is_still_replayed(tmp_path, kafka_bootstrap, prefix):
    (tmp_path / "network.ndjson").write_text(lines({"record_id": "n1", "msisdn": "1", "start_time": "2026-11-02T08:00:00Z"})
                                             + "{broken\n")
    replay_directory(tmp_path, {"bootstrap.servers": kafka_bootstrap}, topic_prefix=prefix)
    values = [v for *_, v in read_to_end(kafka_bootstrap, prefix + "revguard.usage.network")]
    assert values[-1] == b"{broken"


def test_as_delivered_keeps_late_records_late_and_merges_the_files_runs(tmp_path, kafka_bootstrap, prefix):
    # Two runs, as the simulator writes one chunk of subscribers after the other: each in
    # delivery order (n2 started before n1 but was delivered after it); the second run starts
    # over a day back in time. Merged by the latest start read in each run.
    (tmp_path / "network.ndjson").write_text(lines(
        {"record_id": "n1", "msisdn": "1", "start_time": "2026-11-02T08:00:00Z"},
        {"record_id": "n2", "msisdn": "1", "start_time": "2026-11-02T07:59:00Z"},
        {"record_id": "n3", "msisdn": "1", "start_time": "2026-11-03T08:00:00Z"},
        {"record_id": "m1", "msisdn": "1", "start_time": "2026-11-02T08:00:30Z"},
        {"record_id": "m2", "msisdn": "1", "start_time": "2026-11-02T09:00:00Z"},
    ))

    replay_directory(tmp_path, {"bootstrap.servers": kafka_bootstrap}, topic_prefix=prefix, as_delivered=True)

    network = [json.loads(v)["record_id"] for *_, v in read_to_end(kafka_bootstrap, prefix + "revguard.usage.network")]
    assert network == ["n1", "n2", "m1", "m2", "n3"]

"""SPEC rule 1 at any age in the stream: a record re-delivered 3, 10 or 40 days after its first
delivery is a `duplicate` across a restart, with the state lost (the store answers), and
before its first delivery has reached the store (the state answers)."""
from __future__ import annotations

import uuid

import pytest

from flows.kafka.topics import ensure_topics
from flows.streaming import StreamOptions, StreamTopics, run_rating_flow
from tests.flows.test_duplicates_at_any_age import R1, SUBSCRIBER, at, later_records
from tests.flows.conftest import usage
from tests.streaming.conftest import PARTITIONS, load_reference, produce_lines

pytestmark = pytest.mark.kafka


def run(bootstrap, topics, recovery, **options) -> None:
    run_rating_flow(None, bootstrap, recovery_dir=recovery,
                    options=StreamOptions(topics=topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3, **options))


def rated_of_store(client) -> list[tuple]:
    return sorted(client.query(
        "SELECT record_id, status, reason, toString(charge) FROM revguard.rated_usage FINAL").result_rows)


@pytest.mark.parametrize("days", [3, 10, 40])
def test_re_delivery_after_a_restart_is_a_duplicate_and_a_late_first_delivery_is_rated(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path, days
):
    load_reference(chdb_client, reference_dir)
    produce_lines(kafka_bootstrap, [R1, *later_records(days)], stream_topics.network, tmp_path)
    run(kafka_bootstrap, stream_topics, tmp_path / "recovery")
    late_first = usage("r9", SUBSCRIBER, "voice", at(0, 5), 60, destination="33612345678")
    produce_lines(kafka_bootstrap, [R1, late_first], stream_topics.network, tmp_path)
    run(kafka_bootstrap, stream_topics, tmp_path / "recovery")  # resumes from the first run's snapshot
    # 40 days on, October's cycle is closed: the copy is still a duplicate, r9 is refused.
    assert rated_of_store(chdb_client) == sorted([
        ("r1", "rated", "", "0.72"),
        ("l0", "rated", "", "0"),
        ("r1", "duplicate", "duplicate_record_id", "0"),
        ("r9", "rated", "", "0.72") if days < 40 else ("r9", "rejected", "cycle_closed", "0"),
    ])


@pytest.mark.parametrize("days", [3, 40])
def test_re_delivery_is_found_in_the_store_when_the_state_is_new(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path, days
):
    load_reference(chdb_client, reference_dir)
    produce_lines(kafka_bootstrap, [R1], stream_topics.network, tmp_path)
    run(kafka_bootstrap, stream_topics, tmp_path / "recovery")
    # A new deployment on the same store: new topics and a new recovery directory (its state
    # knows nothing); a later record, then the copy.
    moved = StreamTopics.with_prefix(f"t{uuid.uuid4().hex[:10]}.")
    ensure_topics({"bootstrap.servers": kafka_bootstrap}, PARTITIONS, moved.all())
    produce_lines(kafka_bootstrap, later_records(days) + [R1], moved.network, tmp_path)
    run(kafka_bootstrap, moved, tmp_path / "new-recovery")
    assert rated_of_store(chdb_client) == sorted([
        ("r1", "rated", "", "0.72"), ("l0", "rated", "", "0"), ("r1", "duplicate", "duplicate_record_id", "0")])


@pytest.mark.parametrize("days", [3, 10, 40])
def test_re_delivery_before_the_first_delivery_reached_the_store_is_a_duplicate(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path, days
):
    load_reference(chdb_client, reference_dir)
    produce_lines(kafka_bootstrap, [R1, *later_records(days), R1], stream_topics.network, tmp_path)
    run(kafka_bootstrap, stream_topics, tmp_path / "recovery", store_flush_s=3600.0)  # inserted only at the end
    assert rated_of_store(chdb_client) == sorted([
        ("r1", "rated", "", "0.72"), ("l0", "rated", "", "0"), ("r1", "duplicate", "duplicate_record_id", "0")])

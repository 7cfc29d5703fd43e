"""In the stream, a rejected message names its `record_id` and `msisdn` whenever its text gives
them: in the `rejects` table and on the `revguard.rejects` topic, reason and raw text kept."""
from __future__ import annotations

import pytest

from flows.streaming import StreamOptions, run_rating_flow
from tests.flows.test_rejects_name_their_record import MALFORMED
from tests.streaming.conftest import load_reference, produce_lines, read_topic

pytestmark = pytest.mark.kafka


def test_dead_letters_in_the_store_and_on_the_topic_name_their_record(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path
):
    load_reference(chdb_client, reference_dir)
    produce_lines(kafka_bootstrap, [m[0] for m in MALFORMED], stream_topics.network, tmp_path)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)

    run_rating_flow(None, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")

    expected = sorted((reason, record_id, msisdn, line) for line, reason, record_id, msisdn in MALFORMED)
    stored = chdb_client.query(
        "SELECT reason, record_id, msisdn, raw FROM revguard.rejects FINAL WHERE stream = 'network'").result_rows
    assert sorted(stored) == expected
    published = read_topic(kafka_bootstrap, stream_topics.rejects)
    assert sorted((r["reason"], r["record_id"], r["msisdn"], r["raw"]) for r in published) == expected

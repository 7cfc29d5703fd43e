"""Malformed messages become dead letters with a reason and their raw text; nothing is lost."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from flows.streaming import StreamOptions, run_rating_flow
from tests.flows.conftest import NETWORK_LINES, usage
from tests.streaming.conftest import load_reference, produce_lines, read_topic

pytestmark = pytest.mark.kafka

MALFORMED = [
    json.dumps({"record_id": "m1", "service": "sms", "start_time": "2026-11-02T09:00:00Z"}),
    usage("m2", "447900000001", "voice", "2026-11-02T09:00:00Z", -5),
    usage("m3", "447900000001", "fax", "2026-11-02T09:00:00Z"),
]


def test_every_message_is_rated_duplicate_or_rejected_and_dead_letters_keep_reason_and_raw_text(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path
):
    load_reference(chdb_client, reference_dir)
    # NETWORK_LINES: r1 r2 r3 r4 r6 rate; r1 again is a duplicate; r5's msisdn has no
    # subscriber; "not json" cannot be parsed. MALFORMED adds three more dead letters.
    produced = produce_lines(kafka_bootstrap, NETWORK_LINES + MALFORMED, stream_topics.network, tmp_path)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)

    run_rating_flow(None, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")

    statuses = dict(chdb_client.query("SELECT status, count() FROM revguard.rated_usage FINAL GROUP BY status").result_rows)
    assert statuses == {"rated": 5, "duplicate": 1, "rejected": 1}
    letters = chdb_client.query(
        "SELECT reason, raw FROM revguard.rejects FINAL WHERE stream = 'network' ORDER BY reason"
    ).result_rows
    r5 = next(line for line in NETWORK_LINES if '"r5"' in line)
    assert letters == sorted([
        ("bad_json", "not json"),
        ("missing_field:msisdn", MALFORMED[0]),
        ("negative:duration_s", MALFORMED[1]),
        ("bad_service", MALFORMED[2]),
        ("unknown_subscriber", r5),  # rated as rejected, and a dead letter with its text too
    ])
    dead = [letter for letter in letters if letter[0] != "unknown_subscriber"]
    # in = rated + duplicate + rejected: 11 = 5 + 1 + (1 unknown subscriber + 4 dead letters)
    assert produced == 11
    assert produced == statuses["rated"] + statuses["duplicate"] + statuses["rejected"] + len(dead)


def test_flow_totals_count_unparsed_records_as_rejected_so_in_equals_rated_duplicate_rejected(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path
):
    # The same sum as `revguard rate` prints: 11 in = 5 rated + 1 duplicate + 5 rejected
    # (r5's unknown subscriber, "not json" and the three MALFORMED). The `progress` and
    # `stopped` log lines and /metrics all show these totals.
    load_reference(chdb_client, reference_dir)
    produce_lines(kafka_bootstrap, NETWORK_LINES + MALFORMED, stream_topics.network, tmp_path)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)

    totals = run_rating_flow(None, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")

    assert totals["records_in"]["network"] == 11
    assert totals["records_out"] == {"rated": 5, "duplicate": 1, "rejected": 5}
    assert totals["dead_letters"] == {"network": 4}


def test_rated_records_and_dead_letters_are_also_published_to_kafka(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path
):
    load_reference(chdb_client, reference_dir)
    produce_lines(kafka_bootstrap, NETWORK_LINES + MALFORMED, stream_topics.network, tmp_path)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)

    run_rating_flow(None, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")

    rated = read_topic(kafka_bootstrap, stream_topics.rated)
    assert Counter(r["status"] for r in rated) == {"rated": 5, "duplicate": 1, "rejected": 1}
    assert all(r["source"].startswith(stream_topics.network + ":") for r in rated)
    rejects = read_topic(kafka_bootstrap, stream_topics.rejects)
    assert sorted(r["reason"] for r in rejects) == sorted(
        ["bad_json", "missing_field:msisdn", "negative:duration_s", "bad_service", "unknown_subscriber"]
    )


def test_billed_records_land_in_billed_usage_and_malformed_ones_in_rejects(
    chdb_client, kafka_bootstrap, stream_topics, reference_dir, tmp_path
):
    from tests.flows.conftest import BILLED_LINES  # b1 and b2 are whole; b3 has no msisdn and a bad charge

    load_reference(chdb_client, reference_dir)
    produce_lines(kafka_bootstrap, BILLED_LINES, stream_topics.billed, tmp_path)
    options = StreamOptions(topics=stream_topics, until_idle_s=1.0, snapshot_interval_s=0.5, partitions=3)

    run_rating_flow(None, kafka_bootstrap, options=options, recovery_dir=tmp_path / "recovery")

    billed = chdb_client.query("SELECT bill_record_id, toString(charge) FROM revguard.billed_usage FINAL ORDER BY 1").result_rows
    assert billed == [("b1", "0"), ("b2", "0.0915")]
    rejects = chdb_client.query("SELECT stream, raw FROM revguard.rejects FINAL").result_rows
    assert rejects == [("billed", BILLED_LINES[2])]

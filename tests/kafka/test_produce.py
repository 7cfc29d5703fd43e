"""Feeding NDJSON files to a topic: one message per line, keyed by msisdn, nothing dropped."""
import json

import pytest

from flows.kafka.broker import free_port
from flows.kafka.produce import DeliveryError, produce_ndjson, record_key
from flows.kafka.settings import producer_config
from tests.kafka.reading import read_to_end as read_messages

pytestmark = pytest.mark.kafka


def read_to_end(bootstrap, topic):
    """(key, value) of every message of a one-partition topic."""
    return [(key, value) for _p, _offset, key, value in read_messages(bootstrap, topic, 1)]


def usage(record_id, msisdn):
    return json.dumps({"record_id": record_id, "msisdn": msisdn, "service": "sms"})


@pytest.fixture
def conf(kafka_bootstrap):
    return producer_config({"REVGUARD_KAFKA_BOOTSTRAP": kafka_bootstrap})


def test_every_line_is_sent_in_file_order_keyed_by_its_msisdn(
    kafka_bootstrap, topic_factory, conf, tmp_path
):
    lines = [usage("r1", "447900000001"), usage("r2", "447900000002"), usage("r3", "447900000001")]
    path = tmp_path / "network.ndjson"
    path.write_text("\n".join(lines) + "\n")
    topic = topic_factory("feed", partitions=1)

    count = produce_ndjson(path, topic, conf)

    assert count == 3
    assert read_to_end(kafka_bootstrap, topic) == [
        (b"447900000001", lines[0].encode()),
        (b"447900000002", lines[1].encode()),
        (b"447900000001", lines[2].encode()),
    ]


def test_unparseable_line_is_sent_with_an_empty_key(kafka_bootstrap, topic_factory, conf, tmp_path):
    path = tmp_path / "network.ndjson"
    path.write_text(usage("r1", "447900000001") + "\n" + "{not json\n")
    topic = topic_factory("garbage", partitions=1)

    assert produce_ndjson(path, topic, conf) == 2
    assert read_to_end(kafka_bootstrap, topic)[1] == (b"", b"{not json")


def test_blank_lines_and_crlf_endings_are_not_records(kafka_bootstrap, topic_factory, conf, tmp_path):
    path = tmp_path / "network.ndjson"
    path.write_bytes(
        usage("r1", "447900000001").encode() + b"\r\n\r\n   \n" + usage("r2", "447900000002").encode()
    )
    topic = topic_factory("blank", partitions=1)

    # 2 records; the empty line and the line of spaces between them are not.
    assert produce_ndjson(path, topic, conf) == 2
    assert [value for _key, value in read_to_end(kafka_bootstrap, topic)] == [
        usage("r1", "447900000001").encode(),
        usage("r2", "447900000002").encode(),
    ]


def test_key_field_can_be_another_field(kafka_bootstrap, topic_factory, conf, tmp_path):
    path = tmp_path / "adjustments.ndjson"
    path.write_text(json.dumps({"adjustment_id": "a1", "account": "ACC-9"}) + "\n")
    topic = topic_factory("other-key", partitions=1)

    produce_ndjson(path, topic, conf, key_field="account")

    assert read_to_end(kafka_bootstrap, topic)[0][0] == b"ACC-9"


def test_key_with_escapes_is_read_by_json_decoding():
    # "44\u00379" decodes to "4479": the quick scan cannot see through the escape.
    assert record_key(b'{"msisdn": "44\\u00379"}', "msisdn") == b"4479"


def test_numeric_msisdn_gives_an_empty_key():
    # SPEC 1.1: msisdn is a string; the flow rejects this record, the key only routes it.
    assert record_key(b'{"msisdn": 447900000001}', "msisdn") == b""


def test_json_that_is_not_an_object_gives_an_empty_key():
    assert record_key(b'["msisdn", "447900000001"]', "msisdn") == b""


def test_spaces_around_the_colon_do_not_hide_the_key():
    assert record_key(b'{"service":"sms", "msisdn" :  "447900000001"}', "msisdn") == b"447900000001"


def test_messages_nobody_acknowledges_raise_a_delivery_error(tmp_path):
    path = tmp_path / "network.ndjson"
    path.write_text(usage("r1", "447900000001") + "\n")
    # Nothing listens on this port, and librdkafka gives up on a message after 1 s.
    conf = {"bootstrap.servers": f"127.0.0.1:{free_port()}", "message.timeout.ms": "1000"}

    with pytest.raises(DeliveryError, match="1 of 1 messages"):
        produce_ndjson(path, "nowhere", conf, flush_timeout_s=10)

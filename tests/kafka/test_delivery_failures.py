"""An output message the broker never acknowledges fails the sink's snapshot, so the epoch
does not commit past it (a real librdkafka producer, towards a port nobody listens on)."""
from __future__ import annotations

import logging
import socket

import pyarrow as pa
import pytest

from flows.kafka.rated_sink import KafkaDeliveryError, KafkaRatedSink, OutputTopics, release_shared_producers
from flows.rating_flow import RatedPiece, Reject


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free again once closed: nothing listens there


def test_an_unacknowledged_message_fails_the_snapshot_with_its_reason():
    conf = {"bootstrap.servers": f"127.0.0.1:{closed_port()}", "message.timeout.ms": "300",
            "logger": logging.getLogger("delivery-failures")}  # connection-refused logs to pytest, not the terminal
    sink = KafkaRatedSink(conf, OutputTopics("rated", "rejects", "alerts"), parts=1, flush_timeout_s=10)
    part = sink.build_part("out", "0", None)
    empty = pa.table({})
    dead = Reject("network", "usage:0", 7, "bad_json", b"{not json")
    try:
        part.write_batch([RatedPiece(1, 1, "usage:0", empty, empty, empty, (dead,))])
        with pytest.raises(KafkaDeliveryError, match="output messages failed: .*timed out"):
            part.snapshot()
        part.snapshot()  # the failure was reported once; nothing is left in flight
    finally:
        release_shared_producers(timeout_s=1)

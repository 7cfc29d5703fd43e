"""Batches that arrive together are parsed in one call and split back, each as if alone."""
from __future__ import annotations

import json

import pyarrow as pa

from flows.batches import LineBatch
from flows.rating_flow import parsed_usage, parsed_usage_batches


def _line(record_id: str, msisdn: str) -> bytes:
    return json.dumps({
        "record_id": record_id, "msisdn": msisdn, "service": "sms", "start_time": "2026-11-02T10:00:00Z",
        "duration_s": 0, "volume_bytes": 0, "destination": "447700900001", "roaming_mccmnc": "",
        "element_id": "smsc-01", "cell_id": "c1",
    }).encode()


def test_batches_parsed_together_equal_batches_parsed_alone() -> None:
    batches = [
        LineBatch("network", "usage:0", 100, (_line("a1", "447700900101"), b"{not json", _line("a2", "447700900102"))),
        LineBatch("network", "usage:1", 7, (b'{"record_id": "b0"}', _line("b1", "447700900103"))),
        LineBatch("network", "usage:2", 0, (_line("c1", "447700900104"),)),
    ]
    together = parsed_usage_batches(batches)
    alone = [parsed_usage(b) for b in batches]
    assert [p.origin for p in together] == ["usage:0", "usage:1", "usage:2"]
    for joint, single in zip(together, alone):
        assert joint.batch_id == single.batch_id
        assert joint.usage.equals(single.usage)
        assert joint.rejects == single.rejects
    # Positions are each partition's own offsets, by hand: usage:0 holds offsets 100..102.
    assert together[0].usage["position"].to_pylist() == [100, 102]
    assert [r.position for r in together[0].rejects] == [101]
    assert [r.position for r in together[1].rejects] == [7]
    assert together[1].usage["position"].to_pylist() == [8]


def test_lines_array_holds_every_line_with_its_newline_over_the_joined_text() -> None:
    from rating.records import joined_lines, lines_array

    lines = [b"{}", b'{"a": "\xc3\xa9"}', b"", b"x" * 70_000]
    text = joined_lines(lines)
    assert text == b'{}\n{"a": "\xc3\xa9"}\n\n' + b"x" * 70_000 + b"\n"
    values = lines_array(lines, text)
    assert values.to_pylist() == [line + b"\n" for line in lines]
    assert values.buffers()[2].address == pa.py_buffer(text).address  # a view, not a copy
    assert lines_array([], joined_lines([])).to_pylist() == []


def test_raw_column_is_each_accepted_line_as_received_with_its_newline() -> None:
    lines = (_line("a1", "447700900101"), b"{not json", _line("a2", "447700900102"))
    usage = parsed_usage(LineBatch("network", "usage:0", 0, lines)).usage
    assert usage["raw"].to_pylist() == [lines[0] + b"\n", lines[2] + b"\n"]

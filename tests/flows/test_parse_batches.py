"""Batches that arrive together are parsed in one call and split back, each as if alone."""
from __future__ import annotations

import json
import pickle

import pyarrow as pa

from flows.batches import LineBatch
from flows.rating_flow import ParsedUsage, ShardWork, parsed_usage, parsed_usage_batches, shard_works


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


def test_shard_works_keep_each_shards_rows_in_input_order_and_repoint_adjustments() -> None:
    msisdns = ["447700900101", "447700900102", "447700900103", "447700900104", "447700900105", "447700900106"]
    parsed = parsed_usage(LineBatch("network", "usage:0", 0, tuple(_line(f"r{i}", m) for i, m in enumerate(msisdns))))
    adjustments = pa.table({"msisdn": ["447700900105"], "amount": ["1.00"], "before_row": pa.array([4], pa.int64())})
    parsed = ParsedUsage(parsed.batch_id, parsed.origin, parsed.usage, parsed.rejects, adjustments)
    works = dict(shard_works(parsed, 3))
    # SPEC's shard: last six digits modulo 3. 900101 % 3 = 2, 900102 % 3 = 0, 900103 % 3 = 1, ...
    assert {k: w.usage["record_id"].to_pylist() for k, w in works.items()} == {
        "0": ["r1", "r4"], "1": ["r2", "r5"], "2": ["r0", "r3"],
    }
    assert all(w.pieces == 3 for w in works.values())
    # 900105 % 3 = 0: its adjustment came before whole-batch row 4 (r4), row 1 of shard 0.
    assert works["0"].adjustments["before_row"].to_pylist() == [1]
    assert works["1"].adjustments.num_rows == 0


def test_a_slice_pickles_with_its_own_rows_only() -> None:
    big = pa.table({"record_id": [f"r{i:06d}" for i in range(20_000)], "raw": [b"x" * 100] * 20_000})
    work = ShardWork(3, 2, "usage:0", big.slice(5_000, 10), None)
    data = pickle.dumps(work)
    assert len(data) < 10_000  # the whole table is over 2 MB
    back = pickle.loads(data)
    assert back.usage.equals(big.slice(5_000, 10))
    assert (back.batch_id, back.pieces, back.origin, back.adjustments) == (3, 2, "usage:0", None)

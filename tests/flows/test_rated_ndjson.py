"""Rated NDJSON is JSON a standard parser reads back exactly, money as decimal strings."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import numpy as np

from flows.rated_ndjson import EncodedPiece, RatedNdjsonSink, interleaved_text, json_texts, ndjson_lines, rated_lines


@given(st.lists(st.one_of(st.none(), st.text()), max_size=30))
def test_any_text_round_trips_through_json(values: list[str | None]) -> None:
    texts = json_texts(pa.array(values, pa.string())).to_pylist()
    assert [None if t == "null" else json.loads(t) for t in texts] == values


def test_money_is_an_exact_decimal_string_and_times_are_rfc3339_utc() -> None:
    table = pa.table({
        "charge": pa.array([Decimal("0.000001"), Decimal("123456789012.999999"), None], pa.decimal128(18, 6)),
        "start_time": pa.array([dt.datetime(2026, 11, 2, 8, 15, tzinfo=dt.timezone.utc)] * 3,
                               pa.timestamp("us", tz="UTC")),
        "offpeak": [True, False, None],
        "units": pa.array([61, None, 0], pa.int64()),
    })
    rows = [json.loads(line) for line in ndjson_lines(table).to_pylist()]
    assert [r["charge"] for r in rows] == ["0.000001", "123456789012.999999", None]
    assert {r["start_time"] for r in rows} == {"2026-11-02T08:15:00Z"}
    assert [r["offpeak"] for r in rows] == [True, False, None]
    assert [r["units"] for r in rows] == [61, None, 0]


@given(st.lists(st.one_of(st.none(), st.integers(-(10**18) + 1, 10**18 - 1)), min_size=1, max_size=60),
       st.integers(0, 2))
def test_money_text_is_the_decimal_itself_for_any_amount_sign_or_slice(micros: list[int | None], start: int) -> None:
    # Independent reference: Python's Decimal, with the scale's 6 places, from the micro-units.
    amounts = [None if m is None else Decimal(m).scaleb(-6) for m in micros]
    column = pa.array(amounts, pa.decimal128(18, 6)).slice(min(start, len(amounts) - 1))
    expected = ["null" if a is None else f'"{a:.6f}"' for a in amounts[min(start, len(amounts) - 1):]]
    assert json_texts(column).to_pylist() == expected


def test_fractions_of_a_second_are_kept() -> None:
    moment = dt.datetime(2026, 11, 2, 8, 15, 0, 250_000, tzinfo=dt.timezone.utc)
    (line,) = ndjson_lines(pa.table({"t": pa.array([moment], pa.timestamp("us", tz="UTC"))})).to_pylist()
    assert json.loads(line)["t"] == "2026-11-02T08:15:00.250Z"


def test_timestamps_across_days_with_nulls_are_exact() -> None:
    # 200 values an hour and a second apart cross several days; every 7th is null.
    moments = [None if i % 7 == 0 else dt.datetime(2026, 10, 24, 23, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=3601 * i)
               for i in range(200)]
    texts = json_texts(pa.array(moments, pa.timestamp("us", tz="UTC"))).to_pylist()
    expected = ["null" if m is None else json.dumps(m.strftime("%Y-%m-%dT%H:%M:%SZ")) for m in moments]
    assert texts == expected


def test_columns_of_few_values_encode_like_any_other() -> None:
    values = [("voice", "sms", 'da"ta', None)[i % 4] for i in range(300)]
    texts = json_texts(pa.array(values, pa.string())).to_pylist()
    assert [None if t == "null" else json.loads(t) for t in texts] == values


def _rated(raw: list[bytes], **columns) -> pa.Table:
    return pa.table({**columns, "raw": pa.array(raw, pa.binary())})


def test_a_rated_line_is_the_input_line_as_received_with_the_rating_fields_appended() -> None:
    raw = [
        b'{ "record_id" : "r1", "msisdn": "447700900001", "start_time": "2026-11-02T09:15:00+01:00" }  ',
        b'{"record_id":"r2","msisdn":"447700900002","start_time":"2026-11-02T08:15:00Z","note":"kept"}',
    ]
    many = raw * 40  # enough rows for the few-values path too
    table = _rated(
        many,
        record_id=["r1", "r2"] * 40,  # network fields come from the text, never encoded again
        plan_id=["SMART10", None] * 40,
        offpeak=[True, False] * 40,
        charge=pa.array([Decimal("0.120000"), Decimal("1.000001")] * 40, pa.decimal128(18, 6)),
        status=["rated", "duplicate"] * 40,
    )
    lines = rated_lines(table).to_pylist()
    assert lines[0] == ('{ "record_id" : "r1", "msisdn": "447700900001", "start_time": "2026-11-02T09:15:00+01:00" '
                        ',"plan_id":"SMART10","offpeak":true,"charge":"0.120000","status":"rated"}')
    second = json.loads(lines[1])
    assert second == {"record_id": "r2", "msisdn": "447700900002", "start_time": "2026-11-02T08:15:00Z",
                      "note": "kept", "plan_id": None, "offpeak": False, "charge": "1.000001", "status": "duplicate"}
    assert lines[2:] == lines[:2] * 39


@given(st.lists(st.tuples(st.sampled_from(["a", "b", None, 'q"uote']), st.sampled_from([True, False, None]),
                          st.integers(-10**12, 10**12)), min_size=1, max_size=120))
def test_rated_lines_read_back_as_the_columns_they_were_made_of(rows) -> None:
    plans, flags, units = zip(*rows)
    table = _rated([b'{"record_id":"x"}'] * len(rows), plan_id=pa.array(plans, pa.string()),
                   offpeak=pa.array(flags, pa.bool_()), units=pa.array(units, pa.int64()))
    read = [json.loads(line) for line in rated_lines(table).to_pylist()]
    assert read == [{"record_id": "x", "plan_id": p, "offpeak": f, "units": u} for p, f, u in rows]


def test_cycle_starts_written_once_per_combination_read_back_exactly() -> None:
    # 300 rows, 3 cycle starts and nulls (rejected rows): few values, so combined with status.
    starts = [None, dt.datetime(2026, 10, 3, 23, tzinfo=dt.timezone.utc),
              dt.datetime(2026, 11, 1, 0, tzinfo=dt.timezone.utc), dt.datetime(2026, 10, 15, 23, tzinfo=dt.timezone.utc)]
    cycle = [starts[i % 4] for i in range(300)]
    status = ["rejected" if c is None else "rated" for c in cycle]
    table = _rated([b'{"record_id":"x"}'] * 300, status=pa.array(status),
                   cycle_start=pa.array(cycle, pa.timestamp("us", tz="UTC")))
    read = [json.loads(line) for line in rated_lines(table).to_pylist()]
    expected = [None if c is None else c.strftime("%Y-%m-%dT%H:%M:%SZ") for c in cycle]
    assert [r["cycle_start"] for r in read] == expected
    assert [r["status"] for r in read] == status


def test_many_distinct_values_in_adjacent_columns_still_encode_exactly() -> None:
    # 5 string columns of 3,000 distinct values each: 2.4e17 combinations, more than rows.
    n = 3_000
    columns = {f"c{k}": pa.array([f"v{(i * (k + 7)) % n}" for i in range(n)], pa.string()) for k in range(5)}
    flags = pa.array([i % 3 == 0 for i in range(n)], pa.bool_())
    table = _rated([b'{"record_id":"x"}'] * n, **columns, offpeak=flags, status=pa.array(["rated"] * n))
    read = [json.loads(line) for line in rated_lines(table).to_pylist()]
    assert read == [
        {"record_id": "x", **{f"c{k}": f"v{(i * (k + 7)) % n}" for k in range(5)}, "offpeak": i % 3 == 0,
         "status": "rated"}
        for i in range(n)
    ]


def test_code_columns_of_a_hundred_values_each_encode_exactly() -> None:
    # 4 columns of 100 codes each over 6,400 rows, on both sides of the few-values threshold.
    n = 6_400
    columns = {f"c{k}": pa.array([f"k{(i * (2 * k + 1) + k) % 100}" for i in range(n)], pa.string()) for k in range(4)}
    table = _rated([b'{"record_id":"x"}'] * n, **columns)
    read = [json.loads(line) for line in rated_lines(table).to_pylist()]
    assert read == [{"record_id": "x", **{f"c{k}": f"k{(i * (2 * k + 1) + k) % 100}" for k in range(4)}}
                    for i in range(n)]


# The compiled writer (flows.json_kernel) against Python's own json and Decimal.

INT64 = st.integers(-(2**63), 2**63 - 1)


@given(st.lists(st.tuples(st.one_of(st.none(), INT64), st.one_of(st.none(), st.booleans()),
                          st.one_of(st.none(), st.integers(-(10**18) + 1, 10**18 - 1)),
                          st.one_of(st.none(), st.integers(-(10**18) + 1, 10**18 - 1))),
                min_size=1, max_size=80),
       st.integers(0, 5))
def test_numbers_flags_and_decimals_of_any_scale_read_back_exactly(rows, start: int) -> None:
    integers, flags, micros, cents = map(list, zip(*rows))
    table = pa.table({
        "n": pa.array(integers, pa.int64()),
        "flag": pa.array(flags, pa.bool_()),
        "money": pa.array([None if m is None else Decimal(m).scaleb(-6) for m in micros], pa.decimal128(18, 6)),
        "whole": pa.array([None if m is None else Decimal(m) for m in cents], pa.decimal128(18, 0)),
        "cents": pa.array([None if m is None else Decimal(m).scaleb(-2) for m in cents], pa.decimal128(18, 2)),
    })
    start = min(start, len(rows) - 1)
    table = table.slice(start)  # arrays that start inside their buffers
    lines = ndjson_lines(table).to_pylist()
    expected_money = [None if m is None else f"{Decimal(m).scaleb(-6):.6f}" for m in micros[start:]]
    expected_cents = [None if m is None else f"{Decimal(m).scaleb(-2):.2f}" for m in cents[start:]]
    expected_whole = [None if m is None else str(m) for m in cents[start:]]
    read = [json.loads(line) for line in lines]
    assert [r["n"] for r in read] == integers[start:]
    assert [r["flag"] for r in read] == flags[start:]
    assert [r["money"] for r in read] == expected_money
    assert [r["whole"] for r in read] == expected_whole
    assert [r["cents"] for r in read] == expected_cents


@given(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=80),
       st.lists(st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=0x20, blacklist_characters='"\\',
                                                                blacklist_categories=("Cs",)))),
                min_size=1, max_size=80))
@example(anything=['a"b', None, "c\\d"], plain=["x", "y", None])  # quotes and backslashes, no control character
def test_any_string_column_reads_back_exactly_escaped_or_not(anything, plain) -> None:
    n = min(len(anything), len(plain))
    table = pa.table({"anything": pa.array(anything[:n], pa.string()),
                      "plain": pa.array(plain[:n], pa.large_string()),
                      "wide": pa.array(anything[:n], pa.large_string())})  # 64-bit offsets, escapes too
    read = [json.loads(line) for line in ndjson_lines(table).to_pylist()]
    assert read == [{"anything": a, "plain": p, "wide": a} for a, p in zip(anything[:n], plain[:n])]


def test_a_line_keeps_its_text_up_to_the_closing_brace_whatever_blank_follows() -> None:
    raw = [b'{"x":1}\r\n', b'{"x":2}  \t', b'{"x":3}']
    assert rated_lines(_rated(raw, status=["rated"] * 3), newline=True).to_pylist() == [
        '{"x":1,"status":"rated"}\n', '{"x":2,"status":"rated"}\n', '{"x":3,"status":"rated"}\n']
    assert ndjson_lines(pa.table({"a": pa.array([], pa.int64())})).to_pylist() == []


@settings(deadline=None)  # the first call of each piece count compiles the merge kernel
@given(lines=st.lists(st.tuples(st.integers(0, 3), st.text(max_size=12)), min_size=1, max_size=40),
       start=st.integers(1, 10**6), gaps=st.booleans())
def test_a_batchs_pieces_are_written_in_position_order(lines: list[tuple[int, str]], start: int, gaps: bool) -> None:
    # Line i of the batch (position start + i, or with gaps between positions) went to piece
    # lines[i][0]; each piece holds its lines in position order, as a shard does.
    positions = [start + i * (3 if gaps else 1) for i in range(len(lines))]
    pieces = []
    for k in sorted({piece for piece, _ in lines}):
        mine = [(p, f"{text}\n") for p, (piece, text) in zip(positions, lines) if piece == k]
        pieces.append(EncodedPiece(0, 4, pa.array([t for _, t in mine], pa.string()), np.array([p for p, _ in mine]), {}))
    text, _ = interleaved_text(pieces, np.empty(3, dtype=np.uint8))
    assert bytes(text).decode() == "".join(f"{t}\n" for _, t in lines)


def one_line_batch(batch_id: int, text: str) -> list[EncodedPiece]:
    return [EncodedPiece(batch_id, 1, pa.array([text], pa.string()), np.array([batch_id]), {"in": 1})]


def test_the_writer_writes_batches_in_the_order_given_and_counts_them(tmp_path) -> None:
    path = tmp_path / "rated.ndjson"
    counts: dict[str, int] = {}
    writer = RatedNdjsonSink(path, counts).build_part("out", f"{path.name}:0000", None)
    writer.write_batch([one_line_batch(k, f"{k}\n") for k in range(50)])
    writer.snapshot()  # everything handed over is on disk now
    assert path.read_text() == "".join(f"{k}\n" for k in range(50))
    writer.write_batch([one_line_batch(50, "50\n")])
    writer.close()
    assert path.read_text().splitlines()[-1] == "50" and counts == {"in": 51}


class BrokenFile:
    def write(self, data) -> int:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_failed_write_is_raised_to_the_flow_not_lost(tmp_path) -> None:
    path = tmp_path / "rated.ndjson"
    writer = RatedNdjsonSink(path, {}).build_part("out", f"{path.name}:0000", None)
    writer._file.close()
    writer._file = BrokenFile()  # the disk fills up under the writer's thread
    writer.write_batch([one_line_batch(0, "0\n")])
    with pytest.raises(OSError, match="No space left"):
        writer.close()

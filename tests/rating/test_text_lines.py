"""A file's text read as lines is exactly `bytes.split(b"\\n")` of it, whatever the text.

The reference is Python's own split; the text is drawn byte by byte so that newlines fall at
every offset of an 8-byte word, on both sides of the word-at-a-time search.
"""
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.file_source import FilePosition, next_line_batch
from rating.kernels import newline_positions
from rating.lines import TextLines

# Mostly newlines and a few other bytes, so that lines of 0-20 bytes and long ones both occur.
texts = st.lists(st.sampled_from([b"\n", b"a", b"{", b"\r", b"\x00", b"\x8a", b"\xff"]), max_size=300).map(b"".join)


def lines_of(text: bytes) -> list[bytes]:
    """The lines by definition: split at each newline; a final newline ends the last line."""
    lines = text.split(b"\n")
    return lines[:-1] if lines[-1] == b"" else lines


@settings(max_examples=300, deadline=None)
@given(text=texts)
@example(text=b"")
@example(text=b"\n" * 17)
@example(text=b"no newline at all")
def test_newlines_are_found_at_every_offset(text: bytes) -> None:
    expected = [i for i, byte in enumerate(text) if byte == 0x0A]
    assert newline_positions(text).tolist() == expected


@settings(max_examples=200, deadline=None)
@given(text=texts)
def test_text_lines_are_the_split_lines(text: bytes) -> None:
    lines = TextLines(text)
    expected = lines_of(text)
    assert len(lines) == len(expected)
    assert list(lines) == expected
    assert [lines[i] for i in range(len(lines))] == expected
    assert lines[1:4] == expected[1:4]
    if expected:
        assert lines[-1] == expected[-1]
    # The array form: each line with its newline, over the text itself.
    assert lines.array().to_pylist() == [line + b"\n" for line in expected]


@settings(max_examples=100, deadline=None)
@given(text=texts, tail=st.binary(max_size=20))
def test_a_buffer_read_past_the_last_line_holds_only_the_lines_before_its_end(text: bytes, tail: bytes) -> None:
    # A reader hands over its whole read buffer and where the batch's lines end in it.
    lines = TextLines(text + tail, len(text))
    assert list(lines) == lines_of(text)
    assert lines.array().to_pylist() == [line + b"\n" for line in lines_of(text)]
    assert lines.text == TextLines(text).text


def test_a_line_past_the_end_is_an_index_error() -> None:
    lines = TextLines(b"a\nb\n")
    for index in (2, -3):
        try:
            lines[index]
        except IndexError:
            continue
        raise AssertionError(f"line {index} of two was answered")


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=40),
       batch_lines=st.integers(1, 5), final_newline=st.booleans())
def test_file_batches_cover_every_line_once_in_order(tmp_path_factory, lines: list[bytes], batch_lines: int,
                                                     final_newline: bool) -> None:
    # A read of batch_lines * 200 bytes can stop anywhere in a line; the cut line must start
    # the next batch, and a line longer than the read must still come whole.
    if len(lines) > 3:
        lines[3] = b"x" * (batch_lines * 200 + 7)
    text = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = Path(tmp_path_factory.mktemp("source")) / "usage.ndjson"
    path.write_bytes(text)
    read: list[bytes] = []
    positions: list[int] = []
    with path.open("rb") as file:
        position = FilePosition(0, 1, 0)
        while (step := next_line_batch(file, "network", batch_lines, position)) is not None:
            batch, after = step
            assert batch.first_position == position.line_number and batch.batch_id == position.batch_id
            positions.extend(batch.positions)
            read.extend(batch.lines)
            assert after.byte_offset == file.tell()
            position = after
    assert read == lines_of(text)
    assert positions == list(range(1, len(read) + 1))


def test_a_pickled_batch_reads_the_same() -> None:
    import pickle

    lines = TextLines(b'{"a":1}\n{"a":2}\n')
    again = pickle.loads(pickle.dumps(lines))
    assert list(again) == [b'{"a":1}', b'{"a":2}'] and np.array_equal(again.ends, lines.ends)

"""The compiled reader of plain record lines (`rating.flat_json`) never changes an answer.

Network lines are read by the fast path when they have the plain shape and by Arrow's
general JSON reader otherwise. Whatever the lines, the accepted rows (every value, every
type) and the rejects (position, reason, text) must be exactly what the general reader
alone gives; and the plain lines a network element writes must take the fast path.
"""
import datetime as dt
import json

import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rating.records import (_NETWORK, _NETWORK_LAYOUT, _network_checks, _parsed_generally, _read_plainly, joined_lines,
                            lines_array, parse_network_lines)

PLAIN = {"record_id": "R1", "msisdn": "447900000001", "service": "voice", "start_time": "2026-11-01T08:15:00Z",
         "duration_s": 61, "volume_bytes": 0, "destination": "441234567890", "roaming_mccmnc": "",
         "element_id": "msc-01", "cell_id": "23415-1"}


def line(record: dict, separators: tuple[str, str] = (",", ":")) -> bytes:
    return json.dumps(record, separators=separators).encode()


def fast_flags(lines: list[bytes]) -> list[bool]:
    """Per line, whether the fast path answered it (read plainly and every check passed)."""
    text = joined_lines(lines)
    _, general = _read_plainly(lines_array(lines, text), _NETWORK, _NETWORK_LAYOUT, _network_checks)
    return [i not in set(general.tolist()) for i in range(len(lines))]


def assert_same_as_general_reader(lines: list[bytes]) -> None:
    parsed = parse_network_lines(lines)
    accepted, rejects = _parsed_generally(lines, _NETWORK, _network_checks)
    assert parsed.rejects == rejects
    assert parsed.accepted.schema == accepted.schema
    for name in accepted.column_names:
        ours, theirs = parsed.accepted[name], accepted[name]
        if pa.types.is_timestamp(theirs.type):  # as microseconds: year 0 has no datetime
            ours, theirs = ours.cast(pa.int64()), theirs.cast(pa.int64())
        assert ours.to_pylist() == theirs.to_pylist(), name


# --- the shapes a network element writes take the fast path --------------------------------

def test_a_compact_record_and_a_spaced_one_with_nulls_and_an_unknown_field_are_read_fast():
    spaced = dict(PLAIN, cell_id=None, destination=None, probe="x")
    assert fast_flags([line(PLAIN), b" " + line(spaced, (", ", ": ")) + b"\t"]) == [True, True]


def test_times_with_offsets_and_fractions_are_read_fast_as_utc_microseconds():
    times = ["2026-03-29T01:30:00+01:00", "2026-11-01 00:00:00.5-01:30", "2024-02-29T23:59:59.123456Z"]
    parsed = parse_network_lines([line(dict(PLAIN, start_time=t)) for t in times])
    expected = [dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.timezone.utc),
                dt.datetime(2026, 11, 1, 1, 30, 0, 500_000, tzinfo=dt.timezone.utc),
                dt.datetime(2024, 2, 29, 23, 59, 59, 123_456, tzinfo=dt.timezone.utc)]
    assert parsed.accepted["start_time"].to_pylist() == expected
    assert fast_flags([line(dict(PLAIN, start_time=t)) for t in times]) == [True] * 3


def test_a_key_that_begins_with_a_field_name_is_another_key_and_is_ignored():
    # Keys are matched against the name expected next; a longer key must not pass for it.
    record = {"record_idx": "other", **PLAIN, "msisdn_extra": "1"}
    assert fast_flags([line(record)]) == [True]
    assert parse_network_lines([line(record)]).accepted["record_id"].to_pylist() == ["R1"]
    assert_same_as_general_reader([line(record)])


# --- everything unusual is left to the general reader -------------------------------------

UNUSUAL = [
    dict(PLAIN, record_id='R"1'),  # an escape
    dict(PLAIN, element_id="msc-é"),  # non-ASCII text
    dict(PLAIN, duration_s=61.0),  # a fraction
    dict(PLAIN, duration_s=-1),  # negative
    dict(PLAIN, start_time="2026-02-29T00:00:00Z"),  # a day that does not exist
    dict(PLAIN, start_time="2026-11-01T08:15:00"),  # no offset
    dict(PLAIN, msisdn="44 79"),
    dict(PLAIN, service="video"),
    dict(PLAIN, record_id=""),
    dict(PLAIN, cell_id=7),
    dict(PLAIN, extra={"nested": 1}),
]


def test_unusual_lines_go_to_the_general_reader_which_gives_the_same_answers_as_before():
    lines = [line(r) for r in UNUSUAL] + [b'{"record_id":"A","record_id":"B"}', b"[]", b"", b"{"]
    assert fast_flags(lines) == [False] * len(lines)
    assert_same_as_general_reader(lines + [line(PLAIN)])


# --- any lines: the same answers as the general reader alone ------------------------------

digits = st.from_regex(r"[0-9]{0,20}", fullmatch=True)
text = st.one_of(st.text(max_size=12), st.from_regex(r"[A-Za-z0-9 -]{0,12}", fullmatch=True))
integers = st.one_of(st.integers(-5, 10**6), st.integers(-(2**64), 2**64), st.floats(allow_nan=False, allow_infinity=False),
                     st.booleans(), st.none(), text)


@st.composite
def timestamps(draw) -> str:
    year, month, day = draw(st.integers(0, 9999)), draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    fraction = draw(st.sampled_from(["", "."]) ) + draw(st.from_regex(r"[0-9]{0,8}", fullmatch=True))
    zone = draw(st.sampled_from(["Z", "z", "", "+01:00", "-05:30", "+23:59", "-00:00", "+24:00", "+0100", "+01", " UTC"]))
    sep = draw(st.sampled_from(["T", "T", "T", " ", "t"]))
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"


values = {
    "record_id": st.one_of(text, st.none(), st.integers()),
    "msisdn": st.one_of(digits, text, st.none()),
    "service": st.one_of(st.sampled_from(["voice", "sms", "data", "video", "", "Voice"]), st.none()),
    "start_time": st.one_of(timestamps(), text, st.none()),
    "duration_s": integers,
    "volume_bytes": integers,
    "destination": st.one_of(digits, text, st.none()),
    "roaming_mccmnc": st.one_of(digits, st.none()),
    "element_id": st.one_of(text, st.none()),
    "cell_id": st.one_of(text, st.none(), st.integers()),
    "probe": st.one_of(text, st.integers(), st.lists(st.integers(), max_size=2)),
}


@st.composite
def valid_times(draw) -> str:
    """Real instants written with any offset and 0-6 fraction digits."""
    moment = draw(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))
    minutes = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))
    digits = draw(st.integers(0, 6))
    sign, offset = "+" if minutes >= 0 else "-", abs(minutes)
    zone = "Z" if minutes == 0 and draw(st.booleans()) else f"{sign}{offset // 60:02d}:{offset % 60:02d}"
    fraction = f"{moment.microsecond:06d}"[:digits]
    separator = draw(st.sampled_from(["T", " "]))
    return (moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S").rjust(19, "0") + ("." + fraction if digits else "")
            + zone)


plain_values = {
    "record_id": st.from_regex(r"[A-Za-z0-9 -]{1,12}", fullmatch=True),
    "msisdn": st.from_regex(r"[0-9]{1,18}", fullmatch=True),
    "service": st.sampled_from(["voice", "sms", "data"]),
    "start_time": valid_times(),
    "duration_s": st.integers(0, 10**18 - 1),
    "volume_bytes": st.integers(0, 10**18 - 1),
    "destination": st.one_of(digits, st.none()),
    "roaming_mccmnc": st.one_of(digits, st.none()),
    "element_id": st.one_of(st.from_regex(r"[a-z0-9-]{0,8}", fullmatch=True), st.none()),
    "cell_id": st.one_of(st.from_regex(r"[0-9-]{0,11}", fullmatch=True), st.none()),
}


@st.composite
def record_lines(draw) -> bytes:
    """Lines of every kind: plain records (most read fast), records with odd values, garbage."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.binary(max_size=30)).replace(b"\n", b" ")
    record = {name: draw(strategy) for name, strategy in plain_values.items()
              if name in _NETWORK.required or draw(st.integers(0, 5)) > 0}
    for name in draw(st.lists(st.sampled_from(sorted(values)), max_size=2)):
        if draw(st.integers(0, 5)) == 0:
            record.pop(name, None)
        else:
            record[name] = draw(values[name])
    names = draw(st.permutations(list(record)))
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" , ", " : ")]))
    ascii_only = draw(st.booleans())
    return json.dumps({n: record[n] for n in names}, separators=separators, ensure_ascii=ascii_only).encode()


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(record_lines(), min_size=1, max_size=30))
@example(lines=[line(PLAIN), line(dict(PLAIN, start_time="2026-11-01T08:15:00.1234567Z")),
                line(dict(PLAIN, start_time="0000-01-01T00:00:00Z")), line(dict(PLAIN, duration_s=10**18)),
                line(dict(PLAIN, volume_bytes=999_999_999_999_999_999)), line(dict(PLAIN, msisdn="0" * 19)),
                *[line(dict(PLAIN, start_time=f"{day}T00:00:00Z"))
                  for day in ("2026-04-31", "2100-02-29", "2000-02-29", "2026-12-31", "2026-13-01")]])
def test_any_lines_get_the_answers_of_the_general_reader_alone(lines):
    assert_same_as_general_reader(lines)


def test_a_batch_of_plain_lines_is_one_column_per_field_in_the_contract_types():
    parsed = parse_network_lines([line(PLAIN), line(dict(PLAIN, record_id="R2", cell_id=None, duration_s=0))])
    assert parsed.accepted["record_id"].to_pylist() == ["R1", "R2"]
    assert parsed.accepted["cell_id"].to_pylist() == ["23415-1", None]
    assert parsed.accepted["duration_s"].to_pylist() == [61, 0]
    assert parsed.accepted["position"].to_pylist() == [0, 1]
    assert parsed.accepted.schema.field("start_time").type == pa.timestamp("us", tz="UTC")

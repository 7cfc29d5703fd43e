"""A rejected line's `record_id` and `msisdn`, read from its text whenever they can be."""
from rating.reject_keys import readable_keys


def test_keys_of_a_json_line_with_a_negative_duration_are_its_own():
    line = b'{"record_id":"n1","msisdn":"447900000001","service":"voice","start_time":"2026-11-02T09:00:00Z","duration_s":-5}'
    assert readable_keys(line) == ("n1", "447900000001")


def test_keys_of_a_line_without_service_are_read():
    assert readable_keys(b'{"record_id": "s1", "msisdn": "447900000002", "start_time": "2026-11-02T09:00:00Z"}') == (
        "s1", "447900000002")


def test_an_msisdn_written_as_a_number_is_read_as_its_digits():
    assert readable_keys(b'{"record_id":"d1","msisdn":447900000001}') == ("d1", "447900000001")


def test_a_key_that_is_not_text_or_digits_reads_as_empty():
    assert readable_keys(b'{"record_id":{"id":7},"msisdn":true}') == ("", "")


def test_a_line_that_is_not_json_at_all_has_no_keys():
    assert readable_keys(b"not json") == ("", "")


def test_a_json_value_that_is_not_an_object_has_no_keys():
    assert readable_keys(b'["r1","447900000001"]') == ("", "")


def test_a_line_cut_short_still_gives_the_keys_written_before_the_cut():
    assert readable_keys(b'{"record_id":"c1","msisdn":"447900000001","service":"sms","start_ti') == (
        "c1", "447900000001")


def test_a_line_cut_inside_its_record_id_gives_only_the_msisdn_written_before():
    assert readable_keys(b'{"msisdn":"447900000001","record_id":"c2') == ("", "447900000001")


def test_escapes_in_a_key_of_a_broken_line_are_decoded():
    assert readable_keys(b'{"record_id":"a\\"b","msisdn":"1" oops') == ('a"b', "1")


def test_a_line_that_is_not_utf8_gives_the_keys_around_the_bad_bytes():
    assert readable_keys(b'{"record_id":"u1","msisdn":"447900000001","cell_id":"\xff"}') == ("u1", "447900000001")

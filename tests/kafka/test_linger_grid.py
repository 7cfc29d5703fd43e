"""Partitions release their batches on one grid of `linger_s`, so batches polled within one
window reach the rating step together."""
from flows.kafka.line_source import next_tick


def test_the_next_tick_is_the_first_multiple_of_linger_after_now():
    assert next_tick(0.05, 0.1) == 0.1
    assert next_tick(0.1, 0.1) == 0.2  # a record arriving on a tick waits for the next one
    assert next_tick(12.34, 0.5) == 12.5


def test_records_of_one_window_share_a_tick_and_no_linger_means_now():
    assert next_tick(3.01, 0.25) == next_tick(3.24, 0.25) == 3.25
    assert next_tick(7.3, 0) == 7.3

"""SPEC rule 3: billable units."""
import numpy as np

from rating.units import data_billable_bytes, voice_billable_seconds


def voice(seconds: int, rounding: tuple[int, int]) -> int:
    return int(voice_billable_seconds(np.array([seconds]), np.array([rounding[0]]), np.array([rounding[1]]))[0])


def test_sixty_one_rounding_bills_five_seconds_as_a_minute():
    assert voice(5, (60, 1)) == 60


def test_sixty_one_rounding_bills_sixty_one_seconds_exactly():
    assert voice(61, (60, 1)) == 61


def test_sixty_sixty_rounding_bills_sixty_one_seconds_as_two_minutes():
    assert voice(61, (60, 60)) == 120


def test_sixty_sixty_rounding_bills_a_whole_minute_as_one_minute():
    assert voice(60, (60, 60)) == 60


def test_one_one_rounding_is_exact():
    assert voice(61, (1, 1)) == 61


def test_zero_seconds_is_zero_units_whatever_the_minimum():
    assert voice(0, (60, 1)) == 0
    assert voice(0, (60, 60)) == 0


def test_thirty_six_rounding_steps_in_sixes_after_the_minimum():
    # 31 s: 30 s minimum, 1 s over -> one 6 s increment -> 36
    assert voice(31, (30, 6)) == 36


def test_data_rounds_up_to_the_increment():
    inc = 100 * 1024  # increment_kb 100
    got = data_billable_bytes(np.array([1, 102400, 102401, 0]), np.array([inc] * 4))
    # 1 B -> one increment; exactly one increment stays; one byte more -> two; 0 B -> 0
    assert got.tolist() == [102400, 102400, 204800, 0]

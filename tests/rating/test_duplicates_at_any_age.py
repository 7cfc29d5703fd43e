"""SPEC rule 1 at any age: a record id already rated is a duplicate however late its copy
comes; a late first delivery is rated. The state keeps ids for the dedup horizon (2 days)
as a cache; what it no longer holds is asked of the caller's record (`rated_before`)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rating.engine import rate_batch
from rating.state import RatingState
from tests.rating.scenario import POSTPAID, call, reference, rows, sms, usage_table

FIRST = "2026-10-28T10:00:00Z"  # Wednesday, peak; October's cycle (cycle_day 1)
ABROAD = "33612345678"  # international: 0.80/min, no allowance, 10 % overage discount


def later(days: int) -> str:
    return (dt.datetime(2026, 10, 28, 10, tzinfo=dt.timezone.utc) + dt.timedelta(days=days)).isoformat()


def statuses(out: list[dict]) -> list[tuple]:
    return [(r["record_id"], r["status"], r["reason"], r["charge"] and str(r["charge"])) for r in out]


def forgotten_after(days: int) -> tuple[RatingState, int]:
    """A state that rated r1 at FIRST, then so many records `days` later that its id table
    was rebuilt without r1 (past the horizon); the next free seq."""
    state, ref = RatingState(), reference()
    rate_batch(state, ref, usage_table([call("r1", POSTPAID, FIRST, 60, ABROAD)]))
    seq = 1
    # 800 ids fill the 1,024-bucket table (rebuilt at 4,096 while r1 is still within the
    # horizon); the fourth 800 fill that one, rebuilt when the watermark is `days` on.
    for part in range(4):
        filler = [sms(f"f{part}-{i}", POSTPAID, later(days), "441612345678") for i in range(800)]
        rate_batch(state, ref, usage_table(filler, first_seq=seq))
        seq += 800
    found, _ = state.seen.lookup(np.array([_key_of_r1()], np.uint64))
    assert not found[0]  # the cache no longer holds r1
    return state, seq


def _key_of_r1() -> np.uint64:
    from rating.duplicates import record_keys
    from rating.engine import _codes

    table = usage_table([call("r1", POSTPAID, FIRST, 60, ABROAD)])
    return record_keys(_codes(table["msisdn"]), table["record_id"], np.array([0]))[0]


@pytest.mark.parametrize("days", [3, 10, 40])
def test_copy_after_later_records_is_a_duplicate_while_the_state_still_holds_its_id(days):
    # 40 days on is December's cycle: October's is closed, yet r1 was rated, so duplicate.
    out = rows(rate_batch(RatingState(), reference(), usage_table([
        call("r1", POSTPAID, FIRST, 60, ABROAD),
        sms("r2", POSTPAID, later(days), ABROAD),
        call("r1", POSTPAID, FIRST, 60, ABROAD),
    ])))
    # r1: 60 s at 0.80/min less 10 % = 0.72; r2: an SMS abroad, 0.25 less 10 % = 0.225
    assert statuses(out) == [("r1", "rated", None, "0.720000"), ("r2", "rated", None, "0.225000"),
                             ("r1", "duplicate", "duplicate_record_id", None)]


@pytest.mark.parametrize("days", [3, 10, 40])
def test_copy_the_cache_forgot_is_a_duplicate_when_the_record_says_it_was_rated(days):
    state, seq = forgotten_after(days)
    asked: list[list[int]] = []

    def rated_before(rows_asked: np.ndarray) -> np.ndarray:
        asked.append(rows_asked.tolist())
        return np.ones(rows_asked.size, bool)

    table = usage_table([sms("new", POSTPAID, later(days), "441612345678"), call("r1", POSTPAID, FIRST, 60, ABROAD)],
                        first_seq=seq)
    out = rows(rate_batch(state, reference(), table, rated_before=rated_before))
    assert [(r["record_id"], r["status"], r["reason"]) for r in out] == [
        ("new", "rated", None), ("r1", "duplicate", "duplicate_record_id")]
    assert asked == [[1]]  # only the late row is asked about


@pytest.mark.parametrize("days", [3, 10])
def test_late_first_delivery_is_rated_normally(days):
    state, seq = forgotten_after(days)
    table = usage_table([call("late", POSTPAID, FIRST, 60, ABROAD)], first_seq=seq)
    out = rows(rate_batch(state, reference(), table, rated_before=lambda r: np.zeros(r.size, bool)))
    assert statuses(out) == [("late", "rated", None, "0.720000")]


def test_late_first_delivery_in_a_closed_cycle_is_still_cycle_closed():
    state, seq = forgotten_after(40)
    table = usage_table([call("late", POSTPAID, FIRST, 60, ABROAD)], first_seq=seq)
    out = rows(rate_batch(state, reference(), table, rated_before=lambda r: np.zeros(r.size, bool)))
    assert statuses(out) == [("late", "rejected", "cycle_closed", None)]


def test_a_state_that_keeps_every_id_finds_a_copy_after_its_table_was_rebuilt():
    state, ref = RatingState(keep_every_id=True), reference()
    rate_batch(state, ref, usage_table([call("r1", POSTPAID, FIRST, 60, ABROAD)]))
    for part in range(4):  # as in `forgotten_after`
        filler = [sms(f"f{part}-{i}", POSTPAID, later(10), "441612345678") for i in range(800)]
        rate_batch(state, ref, usage_table(filler, first_seq=1 + 800 * part))
    out = rows(rate_batch(state, ref, usage_table([call("r1", POSTPAID, FIRST, 60, ABROAD)], first_seq=5000)))
    assert statuses(out) == [("r1", "duplicate", "duplicate_record_id", None)]


def test_rows_newer_than_the_store_holds_are_not_asked_about():
    asked: list[list[int]] = []

    def rated_before(rows_asked: np.ndarray) -> np.ndarray:
        asked.append(rows_asked.tolist())
        return np.ones(rows_asked.size, bool)

    table = usage_table([call("r1", POSTPAID, FIRST, 60, ABROAD), call("r2", POSTPAID, later(1), 60, ABROAD)])
    stored_until = np.array([_us(FIRST), _us(FIRST)], np.int64)  # the store's latest rated start of the msisdn
    out = rows(rate_batch(RatingState(), reference(), table, rated_before=rated_before, stored_until=stored_until))
    assert [(r["record_id"], r["status"]) for r in out] == [("r1", "duplicate"), ("r2", "rated")]
    assert asked == [[0]]


def _us(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1_000_000)

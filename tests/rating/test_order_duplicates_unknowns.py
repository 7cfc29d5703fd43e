"""SPEC rules 1 (order, duplicates) and 10 (unknown subscriber or plan); counts add up."""
import pickle
from decimal import Decimal as D

import pyarrow as pa

from rating.engine import rate_batch
from rating.state import RatingState
from tests.rating.scenario import (
    NEARLY_EMPTY, POSTPAID, PREPAID, RETIRED_PLAN, call, rate, reference, rows, usage_table,
)

PEAK = "2026-11-02T10:00:00Z"


def test_record_id_seen_again_is_a_duplicate_and_not_charged():
    out = rows(rate([call("r1", PREPAID, PEAK, 60, "441612345678"), call("r1", PREPAID, PEAK, 60, "441612345678")]))
    assert [(r["status"], r["reason"]) for r in out] == [("rated", None), ("duplicate", "duplicate_record_id")]
    assert (out[1]["charge"], out[1]["balance_after"]) == (None, None)


def test_duplicate_in_a_later_batch_does_not_debit_again():
    state, ref = RatingState(), reference()
    rate([call("r1", PREPAID, PEAK, 60, "441612345678")], state=state, ref=ref)
    again = rate([call("r1", PREPAID, PEAK, 60, "441612345678")], state=state, ref=ref, first_seq=1)
    assert rows(again)[0]["status"] == "duplicate"
    assert again.balances.num_rows == 0
    assert state.balance[0] == 9_856_000  # 10.00 - 0.144, once


def test_duplicate_survives_a_pickled_state():
    state, ref = RatingState(), reference()
    rate([call("r1", PREPAID, PEAK, 60, "441612345678")], state=state, ref=ref)
    restored = pickle.loads(pickle.dumps(state))
    again = rate([call("r1", PREPAID, PEAK, 60, "441612345678")], state=restored, ref=ref, first_seq=1)
    assert rows(again)[0]["status"] == "duplicate"


def test_same_record_id_beyond_the_dedup_horizon_is_still_a_duplicate():
    # SPEC rule 1 has no age limit: the horizon only bounds what the state keeps in memory.
    state = RatingState(dedup_horizon_s=3600)
    out = rows(rate([
        call("r1", POSTPAID, "2026-11-02T08:00:00Z", 60, "33612345678"),
        call("r2", POSTPAID, "2026-11-02T10:00:00Z", 60, "33612345678"),  # watermark moves 2 h on
        call("r1", POSTPAID, "2026-11-02T08:00:00Z", 60, "33612345678"),
    ], state=state))
    assert [r["status"] for r in out] == ["rated", "rated", "duplicate"]


def test_same_record_id_exactly_the_dedup_horizon_later_is_still_a_duplicate():
    # "no more than the horizon before": an hour apart with a one-hour horizon is a duplicate.
    out = rows(rate([
        call("r1", POSTPAID, "2026-11-02T08:00:00Z", 60, "33612345678"),
        call("r2", POSTPAID, "2026-11-02T09:00:00Z", 60, "33612345678"),  # watermark exactly 1 h on
        call("r1", POSTPAID, "2026-11-02T08:00:00Z", 60, "33612345678"),
    ], state=RatingState(dedup_horizon_s=3600)))
    assert [r["status"] for r in out] == ["rated", "rated", "duplicate"]


def test_rating_follows_seq_not_input_row_order():
    table = usage_table([
        call("late", NEARLY_EMPTY, PEAK, 600, "441612345678"),
        call("early", NEARLY_EMPTY, PEAK, 60, "441612345678"),
    ])
    table = table.set_column(table.schema.get_field_index("seq"), "seq", pa.array([2, 1], pa.int64()))
    out = rate_batch(RatingState(), reference(), table).rated.to_pylist()
    # early (seq 1) first: 1.00 - 0.144 = 0.856; then late: 1.44 against 0.856 -> unfunded 0.584
    assert [r["record_id"] for r in out] == ["late", "early"]  # output keeps input order
    assert (out[1]["balance_after"], out[0]["unfunded"]) == (D("0.856"), D("0.584"))


def test_unknown_msisdn_is_rejected_as_unknown_subscriber():
    row = rows(rate([call("r1", "449999999999", PEAK, 60, "441612345678")]))[0]
    assert (row["status"], row["reason"], row["charge"]) == ("rejected", "unknown_subscriber", None)


def test_plan_missing_from_catalog_is_rejected_as_unknown_plan():
    row = rows(rate([call("r1", RETIRED_PLAN, PEAK, 60, "441612345678")]))[0]
    assert (row["status"], row["reason"], row["plan_id"]) == ("rejected", "unknown_plan", "GOLD2019")


def test_in_equals_rated_plus_duplicate_plus_rejected():
    batch = rate([
        call("r1", PREPAID, PEAK, 60, "441612345678"),
        call("r1", PREPAID, PEAK, 60, "441612345678"),
        call("r2", "449999999999", PEAK, 60, "441612345678"),
        call("r3", RETIRED_PLAN, PEAK, 60, "441612345678"),
        call("r4", POSTPAID, PEAK, 60, "441612345678"),
    ])
    statuses = batch.rated["status"].to_pylist()
    assert len(statuses) == 5
    assert (statuses.count("rated"), statuses.count("duplicate"), statuses.count("rejected")) == (2, 1, 2)


def test_record_more_than_one_cycle_late_is_rejected_as_cycle_closed():
    out = rows(rate([
        call("r1", POSTPAID, "2026-11-02T10:00:00Z", 60, "33612345678"),
        call("r2", POSTPAID, "2026-10-15T10:00:00Z", 60, "33612345678"),  # previous cycle: kept
        call("r3", POSTPAID, "2026-09-15T10:00:00Z", 60, "33612345678"),  # two cycles back
    ]))
    assert [(r["status"], r["reason"]) for r in out] == [("rated", None), ("rated", None), ("rejected", "cycle_closed")]


def test_record_id_rated_before_is_a_duplicate_whatever_start_its_copy_carries():
    state = RatingState(dedup_horizon_s=3600)
    out = rows(rate([
        call("r1", POSTPAID, "2026-11-02T08:00:00Z", 60, "33612345678"),
        call("r2", POSTPAID, "2026-11-02T10:00:00Z", 60, "33612345678"),
        call("r1", POSTPAID, "2026-11-02T09:30:00Z", 60, "33612345678"),  # same id, another start
    ], state=state))
    assert [r["status"] for r in out] == ["rated", "rated", "duplicate"]

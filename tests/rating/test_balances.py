"""SPEC rules 7 (prepaid) and 8 (postpaid), hand-computed.

PAYG (prepaid): per second, no allowance, no discount; national 0.12/min, tax 20 %.
A 60 s national call: charge 0.12, tax 0.024, total 0.144.
SMART10 international peak 60 s: 0.80 x 0.9 = 0.72, tax 0.144, total 0.864.
"""
from decimal import Decimal as D

from rating.state import RatingState
from tests.rating.scenario import (
    ABOVE_THRESHOLD, LOW_LIMIT, NEARLY_EMPTY, PREPAID, adjustment_table, call, rate, reference, rows, topup,
)

PEAK = "2026-11-02T10:00:00Z"


def kinds(batch) -> list[tuple[str, str]]:
    return list(zip(batch.alerts["kind"].to_pylist(), batch.alerts["record_id"].to_pylist()))


def test_prepaid_debit_is_the_tax_inclusive_total():
    row = rows(rate([call("r1", PREPAID, PEAK, 60, "441612345678")]))[0]
    # 10.00 - 0.144 = 9.856
    assert (row["total"], row["unfunded"], row["balance_after"]) == (D("0.144"), D("0"), D("9.856"))


def test_prepaid_running_out_mid_record_leaves_zero_and_records_unfunded():
    batch = rate([call("r1", NEARLY_EMPTY, PEAK, 600, "441612345678")])
    row = rows(batch)[0]
    # 0.12 x 600/60 = 1.20; tax 0.24; total 1.44; balance 1.00 covers 1.00 -> unfunded 0.44
    assert (row["total"], row["balance_after"], row["unfunded"]) == (D("1.44"), D("0"), D("0.44"))
    assert ("prepaid_cutoff", "r1") in kinds(batch)


def test_usage_while_blocked_is_unfunded_in_full_with_one_cutoff_alert():
    batch = rate([
        call("r1", NEARLY_EMPTY, PEAK, 600, "441612345678"),
        call("r2", NEARLY_EMPTY, "2026-11-02T10:30:00Z", 60, "441612345678"),
    ])
    row = rows(batch)[1]
    assert (row["unfunded"], row["balance_after"]) == (D("0.144"), D("0"))
    assert [k for k in kinds(batch) if k[0] == "prepaid_cutoff"] == [("prepaid_cutoff", "r1")]


def test_top_up_unblocks_and_funds_later_usage():
    state = RatingState()
    ref = reference()
    rate([call("r1", NEARLY_EMPTY, PEAK, 600, "441612345678")], state=state, ref=ref)
    adj = adjustment_table([topup("a1", NEARLY_EMPTY, "2026-11-02T10:20:00Z", "5.00")], seqs=[1])
    batch = rate([call("r2", NEARLY_EMPTY, "2026-11-02T10:30:00Z", 60, "441612345678")], state=state, ref=ref,
                 adjustments=adj, first_seq=2)
    row = rows(batch)[0]
    # 0 + 5.00 - 0.144 = 4.856
    assert (row["unfunded"], row["balance_after"]) == (D("0"), D("4.856"))
    bal = batch.balances.to_pylist()[0]
    assert (bal["balance"], bal["blocked"]) == (D("4.856"), False)


def test_adjustment_applies_before_usage_with_a_larger_seq_in_the_same_batch():
    adj = adjustment_table([topup("a1", NEARLY_EMPTY, "2026-11-02T10:00:00Z", "1.00")], seqs=[0])
    row = rows(rate([call("r1", NEARLY_EMPTY, PEAK, 600, "441612345678")], adjustments=adj, first_seq=1))[0]
    # 1.00 + 1.00 = 2.00 covers 1.44 -> 0.56
    assert (row["unfunded"], row["balance_after"]) == (D("0"), D("0.56"))


def test_adjustment_with_a_larger_seq_applies_after_the_usage():
    adj = adjustment_table([topup("a1", NEARLY_EMPTY, "2026-11-02T10:00:00Z", "1.00")], seqs=[5])
    batch = rate([call("r1", NEARLY_EMPTY, PEAK, 600, "441612345678")], adjustments=adj, first_seq=1)
    assert rows(batch)[0]["unfunded"] == D("0.44")
    # after the top-up: 0 + 1.00
    assert batch.balances.to_pylist()[0]["balance"] == D("1.00")


def test_crossing_below_the_low_balance_threshold_alerts_once():
    batch = rate([
        call("r1", ABOVE_THRESHOLD, PEAK, 60, "441612345678"),  # 2.10 -> 1.956: crosses 2.00
        call("r2", ABOVE_THRESHOLD, "2026-11-02T10:05:00Z", 60, "441612345678"),  # 1.812: already below
    ])
    assert kinds(batch) == [("low_balance", "r1")]
    assert batch.alerts["threshold"].to_pylist() == [D("2.00")]


def test_balance_already_below_threshold_does_not_alert():
    batch = rate([call("r1", NEARLY_EMPTY, PEAK, 60, "441612345678")])  # 1.00 -> 0.856
    assert kinds(batch) == []


def test_postpaid_alerts_at_eighty_and_hundred_percent_of_credit_limit_once_each():
    batch = rate([
        call("r1", LOW_LIMIT, PEAK, 60, "33612345678"),  # 0.864 >= 0.80 (80 % of 1.00)
        call("r2", LOW_LIMIT, "2026-11-02T10:05:00Z", 60, "33612345678"),  # 1.728 >= 1.00
        call("r3", LOW_LIMIT, "2026-11-02T10:10:00Z", 60, "33612345678"),  # 2.592: nothing new
    ])
    assert kinds(batch) == [("credit_warning", "r1"), ("credit_limit_reached", "r2")]
    assert batch.alerts["cycle_total"].to_pylist() == [D("0.864"), D("1.728")]
    out = rows(batch)
    assert (out[0]["balance_after"], out[0]["unfunded"]) == (None, D("0"))


def test_postpaid_alerts_once_per_cycle_and_again_in_the_next():
    state = RatingState()
    ref = reference()
    rate([call("r1", LOW_LIMIT, PEAK, 60, "33612345678")], state=state, ref=ref)
    # 1.728: the 100 % alert, and no second 80 % alert in the same cycle
    again = rate([call("r2", LOW_LIMIT, PEAK, 60, "33612345678")], state=state, ref=ref, first_seq=1)
    assert kinds(again) == [("credit_limit_reached", "r2")]
    # December cycle starts from 0: 0.864 reaches 80 % again
    december = rate([call("r3", LOW_LIMIT, "2026-12-02T10:00:00Z", 60, "33612345678")], state=state, ref=ref, first_seq=2)
    assert kinds(december) == [("credit_warning", "r3")]


def test_balances_table_reports_each_touched_subscriber_once():
    batch = rate([
        call("r1", PREPAID, PEAK, 60, "441612345678"),
        call("r2", PREPAID, "2026-11-02T10:05:00Z", 60, "441612345678"),
        call("r3", LOW_LIMIT, PEAK, 60, "33612345678"),
    ])
    got = {b["msisdn"]: (b["balance"], b["cycle_total"], b["seq"]) for b in batch.balances.to_pylist()}
    # prepaid 10.00 - 2 x 0.144 = 9.712; postpaid cycle total 0.864
    assert got == {PREPAID: (D("9.712"), None, 1), LOW_LIMIT: (None, D("0.864"), 2)}


def test_negative_adjustment_lowers_the_balance_but_not_below_zero_and_does_not_block():
    from rating.state import RatingState as State

    state = State()
    adj = adjustment_table([{**topup("a1", NEARLY_EMPTY, "2026-11-02T09:00:00Z", "-1.50"), "kind": "refund"}], seqs=[0])
    batch = rate([call("r1", NEARLY_EMPTY, PEAK, 0, "441612345678")], state=state, adjustments=adj, first_seq=1)
    bal = batch.balances.to_pylist()[0]
    # 1.00 - 1.50 clamps at 0; nothing unfunded because no usage was refused
    assert (bal["balance"], bal["blocked"]) == (D("0"), False)
    assert kinds(batch) == []

"""Scoring findings against the simulator's truth, per kind."""
from decimal import Decimal

from assurance.scoring import score_against_truth


def test_record_kinds_match_by_record_id_with_precision_recall_and_money():
    truth = [
        {"kind": "unbilled", "record_id": "r1", "amount": "0.500000"},
        {"kind": "unbilled", "record_id": "r2", "amount": "0.250000"},
    ]
    findings = [
        {"kind": "unbilled", "record_id": "r1", "amount": "0.500000"},
        {"kind": "unbilled", "record_id": "r9", "amount": "1.000000"},
    ]
    score = score_against_truth(findings, truth)["unbilled"]
    assert (score.precision, score.recall) == (0.5, 0.5)
    assert (score.money_injected, score.money_found, score.amounts_exact) == (Decimal("0.75"), Decimal("0.5"), 1)


def test_duplicates_match_by_the_extra_bill_not_the_record():
    truth = [{"kind": "duplicate_billing", "record_id": "r1", "bill_record_id": "b2", "amount": "-0.1"}]
    wrong_bill = [{"kind": "duplicate_billing", "record_id": "r1", "bill_record_id": "b1", "amount": "-0.1"}]
    assert score_against_truth(wrong_bill, truth)["duplicate_billing"].recall == 0.0
    right_bill = [{"kind": "duplicate_billing", "record_id": "r1", "bill_record_id": "b2", "amount": "-0.1"}]
    assert score_against_truth(right_bill, truth)["duplicate_billing"].recall == 1.0


def test_subscriber_kinds_match_by_msisdn_and_carry_no_money():
    truth = [{"kind": "ghost_subscriber", "msisdn": "4479001"}]
    findings = [{"kind": "ghost_subscriber", "msisdn": "4479001", "amount": "0"}]
    score = score_against_truth(findings, truth)["ghost_subscriber"]
    assert (score.precision, score.recall, score.money_injected) == (1.0, 1.0, Decimal(0))


def test_element_gap_matches_on_overlapping_interval_of_the_same_element():
    truth = [{"kind": "element_gap", "element_id": "msc-01",
              "interval_start": "2026-11-03T10:00:00Z", "interval_end": "2026-11-03T12:00:00Z"}]
    overlapping = {"kind": "element_gap", "element_id": "msc-01",
                   "evidence": {"interval_start": "2026-11-03T09:58:00Z", "interval_end": "2026-11-03T10:30:00Z"}}
    touching = {"kind": "element_gap", "element_id": "msc-01",
                "evidence": '{"interval_start": "2026-11-03T12:00:00Z", "interval_end": "2026-11-03T13:00:00Z"}'}
    other_element = {"kind": "element_gap", "element_id": "msc-02",
                     "evidence": {"interval_start": "2026-11-03T10:00:00Z", "interval_end": "2026-11-03T12:00:00Z"}}
    score = score_against_truth([overlapping, touching, other_element], truth)["element_gap"]
    assert (score.findings_matched, score.findings, score.truths_matched) == (1, 3, 1)


def test_kind_with_truth_but_no_findings_has_zero_recall_and_no_precision():
    score = score_against_truth([], [{"kind": "misrated", "record_id": "r1", "amount": "0.02"}])["misrated"]
    assert (score.recall, score.precision, score.money_found) == (0.0, None, Decimal(0))

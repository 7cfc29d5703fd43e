"""Detection quality: findings measured against the simulator's ground truth.

Matching rule per kind (a finding and a truth line match when):
- `unbilled`, `misrated`, `usage_mismatch`, `unfunded_usage`: same `record_id`;
- `duplicate_billing`, `phantom_billing`: same `bill_record_id` (the extra or phantom bill);
- `unbilled_subscriber`, `ghost_subscriber`: same `msisdn`;
- `element_gap`: same `element_id` and overlapping intervals (a finding's interval is
  `interval_start`/`interval_end` of its evidence; open intervals, touching ends do not
  overlap).

Precision is the share of findings that match some truth line, recall the share of truth
lines matched by some finding. `money_injected` sums the truth amounts, `money_found`
the truth amounts of the lines found, `money_reported` the amounts of the findings that
match; `amounts_exact` counts matched truth lines whose finding carries the same amount;
`money_estimated` sums the `estimated_missing_revenue` in the evidence of the findings that
match (element gaps carry no amount, the revenue they cost is estimated).

`element_gap_scores` scores silences and partial drops apart (truth `outage`, evidence
`outage`): precision of the findings of one outage against every gap, recall of the gaps of
one outage by every finding.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

_KEY_OF_KIND: dict[str, str] = {
    "unbilled": "record_id",
    "misrated": "record_id",
    "usage_mismatch": "record_id",
    "unfunded_usage": "record_id",
    "duplicate_billing": "bill_record_id",
    "phantom_billing": "bill_record_id",
    "unbilled_subscriber": "msisdn",
    "ghost_subscriber": "msisdn",
}
_INTERVAL_KINDS = frozenset({"element_gap"})
KINDS: tuple[str, ...] = (*_KEY_OF_KIND, *_INTERVAL_KINDS)


@dataclass(frozen=True)
class KindScore:
    kind: str
    findings: int
    truths: int
    findings_matched: int
    truths_matched: int
    money_injected: Decimal
    money_found: Decimal
    money_reported: Decimal
    amounts_exact: int
    money_estimated: Decimal = Decimal(0)

    @property
    def precision(self) -> float | None:
        return self.findings_matched / self.findings if self.findings else None

    @property
    def recall(self) -> float | None:
        return self.truths_matched / self.truths if self.truths else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall}


def score_against_truth(findings: Iterable[Mapping[str, Any]],
                        truth: Iterable[Mapping[str, Any]]) -> dict[str, KindScore]:
    """Per kind (every kind present on either side): how well the findings match the truth."""
    found_by_kind: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    true_by_kind: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for f in findings:
        found_by_kind[f["kind"]].append(f)
    for t in truth:
        true_by_kind[t["kind"]].append(t)
    kinds = [k for k in KINDS if k in found_by_kind or k in true_by_kind]
    # The model kinds (SPEC section 7) are no control's: assurance.models.measure scores them.
    kinds += sorted((set(found_by_kind) | set(true_by_kind)) - set(KINDS) - {"usage_spike", "sim_box", "volume_truncation"})
    return {k: _score_kind(k, found_by_kind[k], true_by_kind[k]) for k in kinds}


def element_gap_scores(findings: Iterable[Mapping[str, Any]],
                       truth: Iterable[Mapping[str, Any]]) -> dict[str, KindScore]:
    """element_gap scored as a whole ("all") and per outage ("silence", "partial_drop")."""
    found = [f for f in findings if f["kind"] == "element_gap"]
    true = [t for t in truth if t["kind"] == "element_gap"]
    pairs = _interval_pairs(found, true)
    scores = {"all": _score_kind("element_gap", found, true)}
    for outage in ("silence", "partial_drop"):
        mine_found = {fi for fi, f in enumerate(found) if _evidence(f).get("outage") == outage}
        mine_true = {ti for ti, t in enumerate(true) if t.get("outage") == outage}
        scores[outage] = _score_from_pairs(
            "element_gap", [found[i] for i in sorted(mine_found)], [true[i] for i in sorted(mine_true)],
            {fi for fi, _ in pairs if fi in mine_found}, {ti for _, ti in pairs if ti in mine_true},
            found, true, pairs)
    return scores


def _score_kind(kind: str, found: list[Mapping[str, Any]], true: list[Mapping[str, Any]]) -> KindScore:
    pairs = _interval_pairs(found, true) if kind in _INTERVAL_KINDS else _key_pairs(kind, found, true)
    return _score_from_pairs(kind, found, true, {fi for fi, _ in pairs}, {ti for _, ti in pairs}, found, true, pairs)


def _score_from_pairs(kind: str, found_part: list[Mapping[str, Any]], true_part: list[Mapping[str, Any]],
                      matched_findings: set[int], matched_truths: set[int], found: list[Mapping[str, Any]],
                      true: list[Mapping[str, Any]], pairs: set[tuple[int, int]]) -> KindScore:
    """The score of `found_part`/`true_part`, whose matched members (as indexes into all of
    `found`/`true`) are `matched_findings`/`matched_truths`."""
    exact = sum(
        1 for ti in matched_truths
        if any(_amount(found[fi]) == _amount(true[ti]) for fi, tj in pairs if tj == ti)
    )
    return KindScore(
        kind=kind,
        findings=len(found_part),
        truths=len(true_part),
        findings_matched=len(matched_findings),
        truths_matched=len(matched_truths),
        money_injected=sum((_amount(t) for t in true_part), Decimal(0)),
        money_found=sum((_amount(true[ti]) for ti in matched_truths), Decimal(0)),
        money_reported=sum((_amount(found[fi]) for fi in matched_findings), Decimal(0)),
        amounts_exact=exact,
        money_estimated=sum((_estimate(found[fi]) for fi in matched_findings), Decimal(0)),
    )


def _key_pairs(kind: str, found: list[Mapping[str, Any]], true: list[Mapping[str, Any]]) -> set[tuple[int, int]]:
    field = _KEY_OF_KIND.get(kind, "record_id")
    truth_at: dict[str, list[int]] = defaultdict(list)
    for ti, t in enumerate(true):
        if t.get(field):
            truth_at[str(t[field])].append(ti)
    return {(fi, ti) for fi, f in enumerate(found) if f.get(field) for ti in truth_at.get(str(f[field]), ())}


def _evidence(finding: Mapping[str, Any]) -> Mapping[str, Any]:
    evidence = finding.get("evidence") or {}
    return json.loads(evidence) if isinstance(evidence, str) else evidence


def _estimate(finding: Mapping[str, Any]) -> Decimal:
    value = _evidence(finding).get("estimated_missing_revenue")
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _interval_pairs(found: list[Mapping[str, Any]], true: list[Mapping[str, Any]]) -> set[tuple[int, int]]:
    pairs = set()
    for fi, f in enumerate(found):
        evidence = _evidence(f)
        f_start, f_end = _time(evidence.get("interval_start")), _time(evidence.get("interval_end"))
        for ti, t in enumerate(true):
            if t.get("element_id") != f.get("element_id"):
                continue
            t_start, t_end = _time(t.get("interval_start")), _time(t.get("interval_end"))
            if None in (f_start, f_end, t_start, t_end):
                continue
            if f_start < t_end and t_start < f_end:
                pairs.add((fi, ti))
    return pairs


def _amount(row: Mapping[str, Any]) -> Decimal:
    value = row.get("amount")
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)

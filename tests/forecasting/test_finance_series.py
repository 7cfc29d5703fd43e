"""What finance sees beside the forecast: subscribers, recurring fees, at risk and recovered, by hand."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from forecasting.finance_series import finance_days
from forecasting.store_series import revenue_history
from tests.assurance.rows import rated_row, subscriber_row
from tests.flows.conftest import CATALOG

NOV = [datetime(2026, 11, d, 10, 0) for d in range(2, 6)]     # 2026-11-02 .. 05, London = UTC in November


def insert(client, table: str, rows: list[dict]) -> None:
    names = list(rows[0])
    client.insert(f"revguard.{table}", [[row[n] for n in names] for row in rows], column_names=names)


def finding(finding_id: str, kind: str, record_id: str, amount: str, when: datetime) -> dict:
    return dict(finding_id=finding_id, kind=kind, record_id=record_id, bill_record_id="", msisdn="447900000001",
                element_id="msc-01", amount=Decimal(amount), event_time=when, detected_at=when, evidence="{}")


def event(case_id: str, to_state: str, amount: str | None, when: datetime) -> dict:
    return dict(case_id=case_id, version=2, actor="ana", at=when, from_state="confirmed", to_state=to_state,
                note="", amount_recovered=None if amount is None else Decimal(amount))


def test_counts_fees_at_risk_and_recovered_per_day(chdb_client) -> None:
    insert(chdb_client, "catalog", [dict(checksum="c1", yaml=CATALOG)])
    subscribers = [
        subscriber_row("447900000001") | dict(cycle_day=3),                     # SMART10, 10.00 on the 3rd
        subscriber_row("447900000002", "terminated") | dict(cycle_day=4),      # last used on the 4th
        subscriber_row("447900000003", "suspended", activated_at=datetime(2026, 11, 3)) | dict(cycle_day=3),
        subscriber_row("447900000004", "terminated"),                           # never used: never counted
        subscriber_row("447900000005") | dict(plan_id="PRE5", cycle_day=5),    # no monthly fee
    ]
    insert(chdb_client, "subscribers", subscribers)
    usage = [rated_row(f"a{i}", "1.00", start_time=t) for i, t in enumerate(NOV)]
    usage += [rated_row("b0", "0.50", msisdn="447900000002", start_time=NOV[0]),
              rated_row("b2", "0.50", msisdn="447900000002", start_time=NOV[2])]
    insert(chdb_client, "rated_usage", usage)
    insert(chdb_client, "discrepancies", [
        finding("f1", "unbilled", "a0", "1.50", NOV[0]),
        finding("f2", "usage_mismatch", "a0", "0.70", NOV[0]),   # the same record: counted once, its largest
        finding("f3", "misrated", "a1", "-0.30", NOV[1]),       # over-billed: not leakage at risk
        finding("f4", "misrated", "a2", "0.40", NOV[2]),
    ])
    insert(chdb_client, "case_events", [event("k1", "recovered", "2.25", NOV[3]), event("k2", "confirmed", None, NOV[3])])

    frame = finance_days(chdb_client, revenue_history(chdb_client, "service")).frame
    assert [d.day for d in frame["day"]] == [2, 3, 4, 5]
    assert frame["usage_revenue"].tolist() == [Decimal("1.50"), Decimal("1.00"), Decimal("1.50"), Decimal("1.00")]
    # 1 and 5 every day, 2 until its last use on the 4th, 3 (suspended) from its activation on the 3rd
    assert frame["subscribers"].tolist() == [3, 4, 4, 3]
    # the 3rd: subscriber 1's SMART10 (3 is suspended); the 4th: subscriber 2's; the 5th: PRE5 has no fee
    assert frame["recurring_fees"].tolist() == [Decimal(0), Decimal("10.00"), Decimal("10.00"), Decimal(0)]
    assert frame["at_risk"].tolist() == [Decimal("1.50"), Decimal(0), Decimal("0.40"), Decimal(0)]
    assert frame["recovered"].tolist() == [Decimal(0), Decimal(0), Decimal(0), Decimal("2.25")]


def test_months_sum_the_money_and_keep_the_last_count(chdb_client) -> None:
    insert(chdb_client, "subscribers", [subscriber_row("447900000001") | dict(cycle_day=1)])
    insert(chdb_client, "rated_usage", [rated_row("a", "2.00", start_time=datetime(2026, 11, 30, 12)),
                                        rated_row("b", "3.00", start_time=datetime(2026, 12, 1, 12))])
    months = finance_days(chdb_client, revenue_history(chdb_client, "service")).months()
    assert [m.strftime("%Y-%m") for m in months["month"]] == ["2026-11", "2026-12"]
    assert months["usage_revenue"].tolist() == [Decimal("2.00"), Decimal("3.00")]
    assert months["recurring_fees"].tolist() == [Decimal(0), Decimal(0)]     # no catalog loaded: no fees known
    assert months["subscribers"].tolist() == [1, 1] and months["days"].tolist() == [1, 1]

"""Churn features as of T on hand-made store rows: every value computed by hand below."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import yaml

from assurance.models.churn_features import features_as_of
from flows.simulator.catalog import catalog_document

T = datetime(2027, 3, 1, tzinfo=timezone.utc)
A, B, C, D = "447900000001", "447900000002", "447900000003", "447900000004"


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour)


class Rows:
    def __init__(self, client):
        self.client, self.n = client, 0

    def use(self, msisdn: str, service: str, when: datetime, charge: str, duration: int = 0, volume: int = 0,
            destination: str = "", roaming: str = "") -> None:
        self.n += 1
        rid = f"R{self.n:04d}"
        self.client.insert("revguard.network_usage", [[rid, msisdn, service, when, duration, volume, destination,
                                                       roaming, "E1", ""]],
                           column_names=["record_id", "msisdn", "service", "start_time", "duration_s", "volume_bytes",
                                         "destination", "roaming_mccmnc", "element_id", "cell_id"])
        self.client.insert("revguard.billed_usage", [[f"B{self.n:04d}", rid, msisdn, service, when, duration, volume,
                                                      Decimal(charge), when + timedelta(hours=1)]],
                           column_names=["bill_record_id", "record_id", "msisdn", "service", "start_time",
                                         "duration_s", "volume_bytes", "charge", "billed_at"])

    def adjust(self, msisdn: str, when: datetime, amount: str, kind: str = "topup") -> None:
        self.n += 1
        self.client.insert("revguard.adjustments", [[f"T{self.n:04d}", msisdn, Decimal(amount), when, kind]],
                           column_names=["adjustment_id", "msisdn", "amount", "time", "kind"])


def subscriber(client, msisdn: str, plan: str, payment: str, status: str, activated: datetime,
               balance: str | None, limit: str | None, segment: str = "consumer") -> None:
    client.insert("revguard.subscribers", [[msisdn, "AC1", plan, payment, status, activated, 1,
                                            Decimal(balance) if balance else None,
                                            Decimal(limit) if limit else None, segment]],
                  column_names=["msisdn", "account_id", "plan_id", "payment", "status", "activated_at", "cycle_day",
                                "balance", "credit_limit", "segment"])


@pytest.fixture
def store(chdb_client):
    c = chdb_client
    c.insert("revguard.catalog", [["x", yaml.safe_dump(catalog_document())]], column_names=["checksum", "yaml"])
    subscriber(c, A, "PAYG", "prepaid", "terminated", at("2026-06-01", 0), "5.00", None)
    subscriber(c, B, "SMART10", "postpaid", "terminated", at("2026-01-01", 0), None, "100.00")
    subscriber(c, C, "BASIC", "postpaid", "active", at("2027-03-10", 0), None, "100.00")
    subscriber(c, D, "BASIC", "postpaid", "active", at("2026-12-01", 0), None, "100.00", "business")
    rows = Rows(c)
    # A: usage halves. Days before: data 4 x 200 MB, calls 4 x 300 s to 4 numbers (8 records, 4 days)
    for k, day in enumerate(["2027-01-10", "2027-01-12", "2027-01-14", "2027-01-16"]):
        rows.use(A, "data", at(day), "1.00", volume=200_000_000)
        rows.use(A, "voice", at(day, 13), "1.00", duration=300, destination=f"44700000000{k}")
    # last 28 days: data 2 x 200 MB (one roaming in a world network, 9.00), calls 2 x 300 s to 2 numbers
    rows.use(A, "data", at("2027-02-10"), "1.00", volume=200_000_000)
    rows.use(A, "voice", at("2027-02-10", 13), "1.00", duration=300, destination="447000000000")
    rows.use(A, "data", at("2027-02-12"), "9.00", volume=200_000_000, roaming="310260")
    rows.use(A, "voice", at("2027-02-12", 10), "1.00", duration=300, destination="447000000001")
    rows.adjust(A, at("2027-01-20", 0), "20.00")
    rows.adjust(A, at("2027-02-19", 0), "10.00")
    rows.adjust(A, at("2027-02-20", 0), "2.50", "credit")
    # B left before T: last activity Feb 20
    rows.use(B, "sms", at("2027-02-20"), "0.00")
    # D: one call in each window, 2.00 then 3.00
    rows.use(D, "voice", at("2027-01-20"), "2.00", duration=60, destination="441000000000")
    rows.use(D, "voice", at("2027-02-20"), "3.00", duration=60, destination="441000000000")
    # findings against A: one counted; one inside the last 24 h, whose SLA has not closed at T
    c.insert("revguard.discrepancies", [["F1", "unbilled", "R0001", "", A, "E1", Decimal("1"), at("2027-02-15"), T, "{}"],
                                        ["F2", "unbilled", "R0002", "", A, "E1", Decimal("1"), at("2027-02-28"), T, "{}"]],
             column_names=["finding_id", "kind", "record_id", "bill_record_id", "msisdn", "element_id", "amount",
                           "event_time", "detected_at", "evidence"])
    return c, rows


def after_t(rows: Rows) -> None:
    """What happens from T on: more usage, bills, top-ups and findings."""
    rows.use(A, "data", at("2027-03-02"), "5.00", volume=900_000_000, roaming="310260")
    rows.adjust(A, at("2027-03-05", 0), "30.00")
    rows.use(D, "voice", T, "7.00", duration=600, destination="449000000000")


def test_hand_computed_features_of_a_subscriber_whose_usage_halves(store) -> None:
    client, rows = store
    after_t(rows)
    X, y = features_as_of(client, T)
    assert list(X.index) == [A, D]          # B had left before T, C joined after it
    a = X.loc[A]
    assert a["data_change"] == pytest.approx(-0.5)          # 400 MB against 800 MB
    assert a["voice_change"] == pytest.approx(-0.5)         # 600 s against 1200 s
    assert a["events_change"] == pytest.approx(-0.5)        # 4 records against 8
    # last 14 days (from Feb 15): nothing; the 14 before (Feb 1 to 15): 4 records
    assert a["events_14_change"] == pytest.approx(-1.0)
    assert math.isnan(a["sms_change"]) and a["sms_28"] == 0
    assert a["voice_min_28"] == pytest.approx(10.0)
    assert a["data_mb_28"] == pytest.approx(400.0)           # 2 x 200 MB
    assert a["active_days_28"] == 2 and a["active_days_change"] == -2
    assert a["contacts_28"] == 2 and a["contacts_change"] == pytest.approx(-0.5)
    assert a["days_since_use"] == pytest.approx(16.5)       # Feb 12 12:00 to Mar 1 00:00
    assert a["days_since_topup"] == pytest.approx(10.0)     # Feb 19 00:00
    assert a["topups_56"] == 2 and a["topup_amount_56"] == pytest.approx(30.0)
    assert a["last_topup_amount"] == pytest.approx(10.0)
    # 5.00 opening + 32.50 adjusted - 20.00 charged x 1.20 tax
    assert a["balance"] == pytest.approx(13.5)
    assert a["charges_28"] == pytest.approx(12.0) and a["charge_change"] == pytest.approx(0.5)
    assert a["world_roaming_days_56"] == 1 and a["world_charges_56"] == pytest.approx(9.0)
    assert a["tenure_days"] == pytest.approx(273.0)         # 2026-06-01 to 2027-03-01
    assert a["findings_56"] == 1
    assert str(a["plan_id"]) == "PAYG" and str(a["payment"]) == "prepaid"
    d = X.loc[D]
    assert d["charge_change"] == pytest.approx(0.5) and d["charges_share_of_limit"] == pytest.approx(0.03)
    assert math.isnan(d["balance"]) and math.isnan(d["days_since_topup"])
    assert str(d["segment"]) == "business"
    # A is terminated and last active on Mar 5, inside (T, T+30 d]; D stays
    assert y.loc[A] == 1 and y.loc[D] == 0


def test_nothing_from_t_on_changes_a_feature(store) -> None:
    client, rows = store
    rows.use(A, "sms", at("2027-03-20"), "0.00")            # A still a customer at T (leaves later)
    before, _ = features_as_of(client, T)
    after_t(rows)
    after, _ = features_as_of(client, T)
    assert before.equals(after)


def test_leaving_after_the_horizon_is_not_a_leaver(store) -> None:
    client, rows = store
    rows.use(A, "sms", at("2027-04-15"), "0.00")            # last activity 45 days after T
    _, y = features_as_of(client, T)
    assert y.loc[A] == 0

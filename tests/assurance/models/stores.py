"""Hand-made usage for the anomaly tests: a plain population with one planted anomaly.

Each builder returns the usage events (written to `network_usage` and `rated_usage`, as
billing sees them) and what was planted, known by construction: the keys, the window, and
the measures a correct baseline must report. Normal behaviour is drawn from a fixed seed so
it varies as real lines do; the planted event is placed by hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from tests.assurance.rows import insert

D0 = datetime(2026, 11, 2)   # a Monday, midnight UTC
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PER_MB = Decimal("0.010000")
CATALOG_YAML = """
currency: GBP
plans:
  - id: SMART10
    data: {per_mb: "0.010000"}
    overage_discount_percent: 0
"""


@dataclass
class Usage:
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, msisdn: str, service: str, start: datetime, *, dest_class: str = "national",
            destination: str = "447700900000", duration_s: int = 0, volume_bytes: int = 0,
            charge: str = "0.10", element_id: str = "msc-01", cell_id: str = "cell-1",
            payment: str = "postpaid") -> None:
        self.events.append(dict(
            record_id=f"r{len(self.events):07d}", msisdn=msisdn, service=service, start_time=start,
            duration_s=duration_s, volume_bytes=volume_bytes, destination=destination, element_id=element_id,
            cell_id=cell_id, dest_class=dest_class, charge=Decimal(charge), payment=payment))

    def write(self, client: Any, catalog: bool = False) -> None:
        network, rated = [], []
        for e in self.events:
            network.append(dict(record_id=e["record_id"], msisdn=e["msisdn"], service=e["service"],
                                start_time=e["start_time"], duration_s=e["duration_s"],
                                volume_bytes=e["volume_bytes"], destination=e["destination"], roaming_mccmnc="",
                                element_id=e["element_id"], cell_id=e["cell_id"], extra="", source="test"))
            units = e["volume_bytes"] if e["service"] == "data" else e["duration_s"]
            rated.append(dict(record_id=e["record_id"], msisdn=e["msisdn"], service=e["service"],
                              start_time=e["start_time"], duration_s=e["duration_s"],
                              volume_bytes=e["volume_bytes"], destination=e["destination"], roaming_mccmnc="",
                              element_id=e["element_id"], cell_id=e["cell_id"], plan_id="SMART10",
                              payment=e["payment"], dest_class=e["dest_class"], roaming_zone="", offpeak=False,
                              billable_units=units, allowance_units=0, charged_units=units, charge=e["charge"],
                              tax=Decimal(0), total=e["charge"], unfunded=Decimal(0), balance_after=None,
                              cycle_start=None, status="rated", reason="", source="test"))
        insert(client, "network_usage", network)
        insert(client, "rated_usage", rated)
        if catalog:
            client.insert("revguard.catalog", [["test", CATALOG_YAML, datetime(2026, 1, 1)]],
                          column_names=["checksum", "yaml", "loaded_at"])


def _at(rng: np.random.Generator, day_start: datetime, hours: int = 24) -> datetime:
    return day_start + timedelta(seconds=int(rng.integers(0, hours * 3600)))


# -- usage_spike -----------------------------------------------------------------------------

SPIKE_LINE = "447911110000"
SPIKE_START = D0 + 30 * HOUR
SPIKE_HOURS = 3
SPIKE_CALLS_PER_HOUR = 10
COSTLY_CHARGE = Decimal("1.50")


def spike_usage(days: int = 3, lines: int = 200, seed: int = 1) -> tuple[Usage, dict[str, Any]]:
    """Postpaid lines with a few premium/international calls a day among many local ones; one
    line calls premium numbers SPIKE_CALLS_PER_HOUR times an hour for SPIKE_HOURS hours."""
    rng = np.random.default_rng(seed)
    usage = Usage()
    msisdns = [f"4479000{i:05d}" for i in range(lines)] + [SPIKE_LINE]
    for msisdn in msisdns:
        for d in range(days):
            for _ in range(int(rng.poisson(8))):
                usage.add(msisdn, "voice", _at(rng, D0 + d * DAY), duration_s=int(rng.integers(20, 600)))
            for _ in range(int(rng.poisson(0.5))):
                usage.add(msisdn, "voice", _at(rng, D0 + d * DAY), dest_class="international",
                          destination="33100000000", duration_s=int(rng.integers(20, 600)),
                          charge=str(COSTLY_CHARGE))
    for h in range(SPIKE_HOURS):
        for k in range(SPIKE_CALLS_PER_HOUR):
            usage.add(SPIKE_LINE, "voice", SPIKE_START + h * HOUR + timedelta(minutes=5 * k + 1),
                      dest_class="premium", destination=f"44909000{k:04d}", duration_s=240,
                      charge=str(COSTLY_CHARGE))
    return usage, {"msisdn": SPIKE_LINE, "start": SPIKE_START, "end": SPIKE_START + SPIKE_HOURS * HOUR,
                   "span_hours": days * 24}


# -- sim_box ---------------------------------------------------------------------------------

BOX_LINE = "447922220000"
BOX_FIRST_DAY = D0 + 2 * DAY
BUSINESS_PREFIX = "4479555"


def sim_box_usage(days: int = 5, lines: int = 300, business: int = 30, seed: int = 2) -> tuple[Usage, dict[str, Any]]:
    """Prepaid lines calling a few friends, with data and SMS; business lines calling many
    distinct numbers from a few cells, with data; one prepaid line that from BOX_FIRST_DAY
    makes 300 short calls a day to distinct numbers from one cell, no data, two SMS."""
    rng = np.random.default_rng(seed)
    usage = Usage()

    def ordinary(msisdn: str, day: datetime, calls: float, contacts: int, cells: int, sessions: float,
                 payment: str) -> None:
        friends = [f"4477{abs(hash((msisdn, c))) % 10**8:08d}" for c in range(contacts)]
        for _ in range(int(rng.poisson(calls))):
            usage.add(msisdn, "voice", _at(rng, day), destination=friends[int(rng.integers(contacts))],
                      duration_s=int(rng.lognormal(np.log(120), 0.8)) + 1,
                      cell_id=f"cell-{msisdn[-3:]}-{int(rng.integers(cells))}", payment=payment)
        for _ in range(int(rng.poisson(sessions))):
            usage.add(msisdn, "data", _at(rng, day), volume_bytes=int(rng.integers(10**5, 10**7)),
                      element_id="pgw-01", cell_id=f"cell-{msisdn[-3:]}-0", charge="0.01", payment=payment)
        for _ in range(int(rng.poisson(4))):
            usage.add(msisdn, "sms", _at(rng, day), destination=friends[int(rng.integers(contacts))],
                      element_id="smsc-01", payment=payment)

    for d in range(days):
        day = D0 + d * DAY
        for i in range(lines):
            ordinary(f"4479111{i:05d}", day, 6, 15, 2, 10, "prepaid")
        for i in range(business):
            ordinary(f"{BUSINESS_PREFIX}{i:05d}", day, 80, 400, 3, 15, "postpaid")
        if day < BOX_FIRST_DAY:
            ordinary(BOX_LINE, day, 6, 15, 2, 10, "prepaid")
        else:
            for k in range(300):
                usage.add(BOX_LINE, "voice", _at(rng, day), destination=f"4478{d:02d}{k:06d}",
                          duration_s=int(rng.lognormal(np.log(100), 0.6)) + 5, cell_id="cell-box", payment="prepaid")
            for _ in range(2):
                usage.add(BOX_LINE, "sms", _at(rng, day), element_id="smsc-01", payment="prepaid")
    return usage, {"msisdn": BOX_LINE, "start": BOX_FIRST_DAY, "end": D0 + days * DAY}


# -- volume_truncation -----------------------------------------------------------------------

CUT_ELEMENT = "pgw-03"
CUT_START = D0 + 40 * HOUR
CUT_KEEP = 0.3
GATEWAYS = ("pgw-01", "pgw-02", "pgw-03", "pgw-04")


def truncation_usage(hours: int = 72, per_hour: int = 30, seed: int = 3) -> tuple[Usage, dict[str, Any]]:
    """Data records on four gateways with a daily cycle of session sizes; from CUT_START the
    records of CUT_ELEMENT carry CUT_KEEP of their bytes. Returns the true medians before
    and after the cut, and the bytes the cut hid priced at PER_MB."""
    rng = np.random.default_rng(seed)
    usage = Usage()
    before, after, lost = [], [], 0
    for h in range(hours):
        hour = D0 + h * HOUR
        daily = 0.6 * np.sin(2 * np.pi * (hour.hour - 9) / 24)   # bigger sessions in the evening
        for g, element in enumerate(GATEWAYS):
            for k in range(per_hour):
                true_bytes = int(rng.lognormal(14 + daily, 1.0))
                sent = true_bytes
                if element == CUT_ELEMENT:
                    if hour >= CUT_START:
                        sent = int(true_bytes * CUT_KEEP)
                        lost += true_bytes - sent
                        after.append(sent)
                    else:
                        before.append(true_bytes)
                usage.add(f"4479333{g}{k:04d}", "data", hour + timedelta(seconds=int(rng.integers(3600))),
                          volume_bytes=sent, element_id=element, cell_id="", charge="0")
    return usage, {"element_id": CUT_ELEMENT, "start": CUT_START, "end": D0 + hours * HOUR,
                   "median_before": float(np.median(before)), "median_after": float(np.median(after)),
                   "amount": (Decimal(lost) * PER_MB / 1_048_576)}

"""The rating reference (catalog and subscribers) as ClickHouse holds it, kept fresh while a flow runs.

The current catalog is the latest `revguard.catalog` row by `loaded_at`; subscribers are
`revguard.subscribers FINAL` (the latest row per msisdn). `ReferenceStore.current()` is
what the rating step calls before each batch: at most every `refresh_s` seconds it asks
the store whether either table changed (row count and newest `loaded_at`, one cheap
query) and rebuilds the reference only then, so a plan change or a new subscriber takes
effect within `refresh_s` without a restart. A failed refresh keeps the reference it has
(logged); only the first load must succeed.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import numpy as np
import pyarrow as pa
from clickhouse_connect.driver import Client

from rating.catalog import load_catalog
from rating.engine import Reference
from rating.money import MONEY_TYPE, micro_from_money_array
from rating.records import Subscribers

log = logging.getLogger("revguard.reference")

CATALOG_QUERY = "SELECT yaml FROM revguard.catalog ORDER BY loaded_at DESC, checksum LIMIT 1"
SUBSCRIBERS_QUERY = (
    "SELECT msisdn, account_id, plan_id, payment, status, cycle_day, "
    "toString(ifNull(balance, toDecimal64(0, 6))), toString(credit_limit), segment "
    "FROM revguard.subscribers FINAL ORDER BY msisdn"
)
SIGNATURE_QUERY = (
    "SELECT (SELECT count() FROM revguard.catalog), (SELECT toString(max(loaded_at)) FROM revguard.catalog), "
    "(SELECT count() FROM revguard.subscribers), (SELECT toString(max(loaded_at)) FROM revguard.subscribers)"
)


class ReferenceMissing(RuntimeError):
    """The store has no catalog or no subscribers to rate against."""


def reference_from_store(client: Client) -> Reference:
    """Catalog and subscribers as the store holds them now."""
    rows = client.query(CATALOG_QUERY).result_rows
    if not rows:
        raise ReferenceMissing("no tariff catalog in the store: run `revguard load DIR --only reference` first")
    catalog = load_catalog(rows[0][0])
    columns = client.query(SUBSCRIBERS_QUERY).result_columns
    if not columns or not columns[0]:
        raise ReferenceMissing("no subscribers in the store: run `revguard load DIR --only reference` first")
    msisdn, account, plan, payment, status, cycle_day, balance, limit, segment = columns
    balance_micro, _ = micro_from_money_array(pa.array(balance, pa.string()).cast(MONEY_TYPE))
    limit_text = pa.array(limit, pa.string())
    limit_micro, limit_valid = micro_from_money_array(limit_text.cast(MONEY_TYPE))
    return Reference(
        catalog,
        Subscribers(
            {
                "msisdn": np.asarray(msisdn, dtype=object),
                "account_id": np.asarray(account, dtype=object),
                "plan_id": np.asarray(plan, dtype=object),
                "payment": np.asarray(payment, dtype=object),
                "status": np.asarray(status, dtype=object),
                "cycle_day": np.asarray(cycle_day, dtype=np.int8),
                "balance": balance_micro,
                "credit_limit": np.where(limit_valid, limit_micro, -1).astype(np.int64),
                "segment": np.asarray(segment, dtype=object),
            }
        ),
    )


class ReferenceStore:
    """The reference a flow rates against, rebuilt when the store's reference tables change.

    The first `current()` loads it; from then on a background thread asks the store every
    `refresh_s` whether the reference tables changed and swaps in a rebuilt reference. Rating
    never waits for the store: the check took ~90 ms under load (it queues behind the sinks'
    inserts), a stall of the whole stream every `refresh_s`. `close()` ends the thread.
    """

    def __init__(self, client: Callable[[], Client], refresh_s: float = 10.0) -> None:
        self._client = client
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._reference: Reference | None = None
        self._signature: tuple | None = None
        self._closed = threading.Event()
        self._refresher: threading.Thread | None = None
        self.loads = 0

    def current(self) -> Reference:
        """The reference to rate the next batch with (the latest the store had)."""
        reference = self._reference
        if reference is not None:
            return reference
        with self._lock:
            if self._reference is None:
                self._load()
                self._refresher = threading.Thread(target=self._refresh, name="reference-refresh", daemon=True)
                self._refresher.start()
            return self._reference

    def close(self) -> None:
        """Stops the background refresh (the reference in hand stays usable)."""
        self._closed.set()
        if self._refresher is not None:
            self._refresher.join(timeout=30)

    def _refresh(self) -> None:
        while not self._closed.wait(self._refresh_s):
            try:
                if self._store_signature() != self._signature:
                    self._load()
            except Exception as exc:  # noqa: BLE001 - rating goes on with the reference it has
                log.warning("reference refresh failed, keeping the current one: %s", exc)

    def _store_signature(self) -> tuple:
        return tuple(self._client().query(SIGNATURE_QUERY).result_rows[0])

    def _load(self) -> None:
        signature = self._store_signature()
        started = time.monotonic()
        reference = reference_from_store(self._client())
        self._signature = signature
        self._reference = reference  # one assignment: a batch sees the old reference or the new
        self.loads += 1
        log.info(
            "reference loaded",
            extra={"subscribers": len(reference.subscribers), "seconds": round(time.monotonic() - started, 3)},
        )

"""New findings and anomalies above a money threshold, put on `revguard.alerts` for delivery.

`reconcile` writes `discrepancies`, `score` writes `anomalies`, each row with its
`detected_at`. `run alerts` (with `findings:` in its configuration) looks at both tables
every `every_s` seconds and produces each new row whose money at stake reaches `min_amount`
to the alerts topic, as an event alert (`alert_id` = `finding:<finding_id>` or
`anomaly:<anomaly_id>`): from there it is routed, delivered and recorded like every other
alert. An element gap has no amount; its estimated missing revenue counts (as in the alarms).

Where it got to (the latest `detected_at` handed over, per table) is kept in `alert_offsets`
(topic `store:<table>`, partition 0), written after the broker acknowledged the messages:
a crash in between hands the same rows over again, and the delivery ledger's idempotency
keys keep receivers from seeing them twice. Rows of the latest moment are read again on the
next look (`>=`: a `reconcile` may insert one moment's rows in several blocks); those already
handed over are skipped by id.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from assurance.cases import severity_of

log = logging.getLogger("revguard.alerts")

_QUERIES = {
    "discrepancies": """
SELECT finding_id, kind, msisdn, toString(element_id), toString(money), toString(event_time), mark FROM (
    SELECT finding_id, kind, msisdn, element_id, event_time, toUnixTimestamp64Milli(detected_at) AS mark,
           if(kind = 'element_gap', toDecimal64OrZero(JSONExtractString(evidence, 'estimated_missing_revenue'), 6),
              abs(amount)) AS money
    FROM revguard.discrepancies FINAL WHERE toUnixTimestamp64Milli(detected_at) >= {since:Int64})
WHERE money >= toDecimal64({min:String}, 6) ORDER BY mark, finding_id""",
    "anomalies": """
SELECT anomaly_id, kind, msisdn, toString(element_id), toString(abs(amount)), toString(window_start), mark FROM (
    SELECT *, toUnixTimestamp64Milli(detected_at) AS mark FROM revguard.anomalies FINAL
    WHERE toUnixTimestamp64Milli(detected_at) >= {since:Int64})
WHERE abs(amount) >= toDecimal64({min:String}, 6) ORDER BY mark, anomaly_id""",
}
_PREFIX = {"discrepancies": "finding", "anomalies": "anomaly"}
# What a store severity means at the receivers (alert severities are info | warning | critical).
_SEVERITY = {"critical": "critical", "high": "critical", "medium": "warning", "low": "info"}


@dataclass(frozen=True)
class FindingsOptions:
    min_amount: Decimal
    every_s: float = 30.0


def finding_messages(client, table: str, since_ms: int, min_amount: Decimal, skip: set[str]) -> tuple[list[dict], int]:
    """Alert messages of `table`'s rows detected at or after `since_ms` at or above
    `min_amount`, except ids in `skip`; and the latest detection moment among them."""
    rows = client.query(_QUERIES[table], parameters={"since": since_ms, "min": str(min_amount)}).result_rows
    messages, latest = [], since_ms
    for row_id, kind, msisdn, element, money, event_time, mark in rows:
        latest = max(latest, int(mark))
        alert_id = f"{_PREFIX[table]}:{row_id}"
        if alert_id in skip:
            continue
        message = {"alert_id": alert_id, "kind": kind, "time": event_time.replace(" ", "T") + "Z",
                   "severity": _SEVERITY[severity_of(Decimal(money))], "amount": money, "source_table": table}
        if msisdn:
            message["msisdn"] = msisdn
        if element:
            message["element_id"] = element
        messages.append(message)
    return messages, latest


class FindingsWatcher(threading.Thread):
    """Hands new findings and anomalies to the alerts topic until `stop` is set."""

    def __init__(self, store_client: Callable, producer, topic: str, consumer: str, options: FindingsOptions,
                 stop: threading.Event) -> None:
        super().__init__(name="revguard-findings", daemon=True)
        self._store_client, self._producer, self._topic = store_client, producer, topic
        self._consumer, self._options, self._stopping = consumer, options, stop
        self.handed_over = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            client = self._store_client()
            marks = {t: self._stored_mark(client, t) for t in _QUERIES}
            handed: dict[str, set[str]] = {t: set() for t in _QUERIES}
            while True:
                for table in _QUERIES:
                    if not _table_exists(client, table):
                        continue
                    messages, latest = finding_messages(client, table, marks[table], self._options.min_amount, handed[table])
                    if messages:
                        for m in messages:
                            self._producer.produce(self._topic, json.dumps(m).encode(), m["alert_id"].encode())
                        if self._producer.flush(30):
                            raise RuntimeError("findings not acknowledged by the broker within 30 s")
                        self.handed_over += len(messages)
                        log.info("findings handed over", extra={"table": table, "count": len(messages)})
                    if latest != marks[table]:
                        handed[table] = set()
                    handed[table] |= {m["alert_id"] for m in messages}
                    if messages or latest != marks[table]:
                        marks[table] = latest
                        client.insert("revguard.alert_offsets", [[self._consumer, f"store:{table}", 0, latest]],
                                      column_names=["consumer", "topic", "partition", "next_offset"])
                if self._stopping.wait(self._options.every_s):
                    return
        except BaseException as exc:  # reported by the service, which stops on it
            self.error = exc
            log.error("findings watcher failed", extra={"error": str(exc)})

    def _stored_mark(self, client, table: str) -> int:
        rows = client.query("SELECT max(next_offset) FROM revguard.alert_offsets WHERE consumer = {c:String} "
                            "AND topic = {t:String}", parameters={"c": self._consumer, "t": f"store:{table}"}).result_rows
        return int(rows[0][0] or 0) if rows else 0


def _table_exists(client, table: str) -> bool:
    return bool(client.query("SELECT count() FROM system.tables WHERE database = 'revguard' AND name = {t:String}",
                             parameters={"t": table}).result_rows[0][0])

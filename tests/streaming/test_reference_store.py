"""The reference a stream rates against: loaded once, then kept current by a background thread.

Against the real embedded store: the first `current()` reads the catalog and subscribers; a
change in the store is swapped in without the caller asking; a store that cannot answer
leaves the reference in hand; `close()` ends the thread.
"""
from __future__ import annotations

import threading
from pathlib import Path

from flows.reference_store import ReferenceStore
from tests.flows.conftest import CATALOG, SUBSCRIBERS
from tests.streaming.conftest import load_reference, reference_files, wait_until

NEWCOMER = "447900000007,A7,PRE5,prepaid,active,2026-01-01T00:00:00Z,1,3.00,,consumer\n"


def refresh_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "reference-refresh"]


def test_a_new_subscriber_in_the_store_reaches_the_reference_without_a_call_to_reload(
    chdb_client, reference_dir: Path, tmp_path: Path
) -> None:
    load_reference(chdb_client, reference_dir)
    store = ReferenceStore(lambda: chdb_client, refresh_s=0.05)
    try:
        first = store.current()
        assert sorted(first.subscribers.columns["msisdn"]) == ["447900000001", "447900000002"]
        load_reference(chdb_client, reference_files(tmp_path / "after", CATALOG, SUBSCRIBERS + NEWCOMER))
        wait_until(lambda: store.current() is not first)
        assert "447900000007" in set(store.current().subscribers.columns["msisdn"])
        assert store.loads == 2
    finally:
        store.close()
    assert refresh_threads() == []


def test_a_store_that_cannot_answer_leaves_the_reference_in_hand(chdb_client, reference_dir: Path) -> None:
    load_reference(chdb_client, reference_dir)
    store = ReferenceStore(lambda: chdb_client, refresh_s=0.05)
    try:
        first = store.current()
        chdb_client.command("RENAME TABLE revguard.subscribers TO revguard.subscribers_away")
        try:
            threading.Event().wait(0.3)  # several refresh rounds, each failing
            assert store.current() is first
            assert len(refresh_threads()) == 1  # still checking
        finally:
            chdb_client.command("RENAME TABLE revguard.subscribers_away TO revguard.subscribers")
    finally:
        store.close()
    assert refresh_threads() == []

"""What the store says was really rated: the answer for records older than the dedup horizon.

The rating state remembers record ids for the horizon only (`rating.duplicates`); a record
re-delivered later than that (mediation re-sending a file days late, roaming records weeks
late) is looked up here, in `rated_usage`, in one query per engine call for the late rows
only, so the common path asks nothing. A row stored from the very same input position is
not a re-delivery but a replay (a crash, a directory loaded twice): it does not count.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from rating.code_index import CodeIndex
from rating.engine import msisdn_codes

if TYPE_CHECKING:
    from clickhouse_connect.driver import Client

# Rated rows of these record ids: which (msisdn, id) pairs were rated, and from where.
RATED_OF_IDS = (
    "SELECT DISTINCT msisdn, record_id, source FROM revguard.rated_usage "
    "WHERE record_id IN {ids:Array(String)} AND status = 'rated'"
)
# The latest start already rated per msisdn: rows no later than it may be copies of stored ones.
LATEST_RATED_START = (
    "SELECT msisdn, toInt64(toUnixTimestamp64Micro(max(start_time))) FROM revguard.rated_usage "
    "WHERE status = 'rated' GROUP BY msisdn"
)
_NO_TIME = np.iinfo(np.int64).min


class StoreRatedIds:
    """`rated_usage` asked about late records, through the client `client()` returns."""

    def __init__(self, client: Callable[[], Client]) -> None:
        self._client = client
        self._latest: tuple[CodeIndex, np.ndarray] | None = None

    def rated_elsewhere(self, msisdn: list[str], record_id: list[str], source: list[str]) -> np.ndarray:
        """Per row: was (msisdn, record_id) rated from another input position than `source`?"""
        if not record_id:
            return np.zeros(0, dtype=bool)
        rows = self._client().query(RATED_OF_IDS, parameters={"ids": sorted(set(record_id))}).result_rows
        sources: dict[tuple[str, str], set[str]] = {}
        for m, r, s in rows:
            sources.setdefault((m, r), set()).add(s)
        return np.array([bool(sources.get((m, r), set()) - {s}) for m, r, s in zip(msisdn, record_id, source)],
                        dtype=bool)

    def latest_rated_start(self, codes: np.ndarray) -> np.ndarray:
        """Per msisdn code: the latest start (us) rated in the store when first asked, else the minimum.

        Read once: what this run rates itself, its own state remembers."""
        if self._latest is None:
            rows = self._client().query(LATEST_RATED_START).result_rows
            stored = msisdn_codes([m for m, _ in rows])
            self._latest = (CodeIndex(stored), np.array([t for _, t in rows], dtype=np.int64))
        index, latest = self._latest
        at = index.positions(np.asarray(codes, dtype=np.int64))
        return np.where(at >= 0, latest[np.maximum(at, 0)] if latest.size else _NO_TIME, _NO_TIME)

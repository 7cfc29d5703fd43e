"""The Kafka output encodes pieces in groups: few calls for many small pieces, bounded size for large ones."""
from __future__ import annotations

import pyarrow as pa

from flows.kafka.rated_sink import encoding_groups
from flows.rating_flow import RatedPiece


def piece(batch_id: int, rows: int) -> RatedPiece:
    empty = pa.table({})
    return RatedPiece(batch_id, 1, "t:0", pa.table({"position": list(range(rows))}), empty, empty)


def ids(groups: list[list[RatedPiece]]) -> list[list[int]]:
    return [[p.batch_id for p in group] for group in groups]


def test_small_pieces_share_one_encoding_call():
    # 8 shards x 100 rows = 800 rows, under the 1,000-row group size: one call.
    assert ids(encoding_groups([piece(i, 100) for i in range(8)], rows=1_000)) == [list(range(8))]


def test_a_group_closes_once_it_holds_the_group_size_and_order_is_kept():
    # 400 + 400 = 800 < 1,000, + 400 = 1,200 >= 1,000: the fourth piece starts the next group.
    pieces = [piece(i, 400) for i in range(5)]
    assert ids(encoding_groups(pieces, rows=1_000)) == [[0, 1, 2], [3, 4]]

"""A shard of a file's flow rates its works in batch order, whatever order they arrive in,
and applies the adjustments left at the end in a work of its own after the last batch."""
from __future__ import annotations

import random
from pathlib import Path

from flows.batches import LineBatch
from flows.rated_ndjson import ordered_lines
from flows.rating_flow import FileRatingLogic, parsed_adjustments, parsed_usage, pending_by_shard, shard_works
from rating.catalog import load_catalog
from rating.engine import Reference
from rating.lines import TextLines
from rating.records import load_subscribers


def shard_lines(directory: Path, arrival: list[int], shard: int, shards: int = 2) -> list[bytes]:
    """The output lines of `shard`, its works handed over in `arrival` order of batch ids."""
    reference = Reference(load_catalog(directory / "catalog.yaml"), load_subscribers(directory / "subscribers.csv"))
    adjustments, _ = parsed_adjustments((directory / "adjustments.ndjson").read_bytes().splitlines(), "adjustments")
    pending = pending_by_shard(adjustments, shards)
    text = (directory / "network.ndjson").read_bytes().splitlines(keepends=True)
    size = len(text) // len(arrival) + 1
    works = {}
    for k in range(len(arrival)):
        batch = LineBatch("network", "network.ndjson", 1 + k * size, TextLines(b"".join(text[k * size:(k + 1) * size])), k)
        works[k] = dict(shard_works(parsed_usage(batch), shards, every_shard=True))[str(shard)]
    logic = FileRatingLogic(lambda: reference, pending.get)
    pieces = []
    for k in arrival:
        out, _ = logic.on_batch([works[k]])
        pieces.extend(out)
    last, _ = logic.on_eof()
    pieces.extend(last)
    assert [p.batch_id for p in pieces] == list(range(len(arrival) + 1))  # the last: adjustments left
    lines, _ = ordered_lines(pieces)
    # Works that arrive together are rated in one call, which reports each balance it
    # touched once: how often depends on arrival, the last balance of each subscriber not.
    final = {}
    for row in sorted((row for p in pieces for row in p.balances.to_pylist()), key=lambda row: row["seq"]):
        final[row["msisdn"]] = row
    return [line.as_py() for line in lines] + [repr(sorted(final.items())).encode()]


def test_works_arriving_out_of_order_rate_as_in_order(operator_dir: Path) -> None:
    in_order = list(range(12))
    shuffled = in_order[:]
    random.Random(3).shuffle(shuffled)
    for shard in (0, 1):
        assert shard_lines(operator_dir, shuffled, shard) == shard_lines(operator_dir, in_order, shard)
        assert shard_lines(operator_dir, in_order[::-1], shard) == shard_lines(operator_dir, in_order, shard)

"""Destination classes and roaming zones by longest matching prefix (SPEC rule 2).

Vectorised: one Arrow lookup per distinct prefix length, longest first. A value matched by
no prefix (only possible when the catalog has no ``""`` fallback) gets -1.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rating.catalog import PrefixRule


def longest_prefix_match(values: pa.Array | pa.ChunkedArray, rules: tuple[PrefixRule, ...], names: tuple[str, ...]) -> np.ndarray:
    """Index into ``names`` of the rule with the longest prefix of each value; -1 for none."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    values = pc.fill_null(values, "")
    n = len(values)
    out = np.full(n, -1, dtype=np.int32)
    name_index = {name: i for i, name in enumerate(names)}
    by_length: dict[int, list[PrefixRule]] = {}
    for rule in rules:
        by_length.setdefault(len(rule.prefix), []).append(rule)
    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
    for length in sorted(by_length, reverse=True):
        todo = (out < 0) & (lengths >= length)
        if not todo.any():
            continue
        group = by_length[length]
        if length == 0:
            out[todo] = name_index[group[0].name]
            continue
        heads = pc.utf8_slice_codeunits(values, 0, length)
        found = pc.index_in(heads, value_set=pa.array([r.prefix for r in group]))
        found = pc.fill_null(found, -1).to_numpy(zero_copy_only=False)
        hit = todo & (found >= 0)
        codes = np.array([name_index[r.name] for r in group], dtype=np.int32)
        out[hit] = codes[found[hit]]
    return out

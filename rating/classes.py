"""Destination classes and roaming zones by longest matching prefix (SPEC rule 2).

The catalog's prefixes become a byte trie, built once per catalog; a compiled loop
(`rating.kernels.trie_matches`) walks each value's bytes down it and keeps the deepest
labelled node. A value matched by no prefix (only possible when the catalog has no ``""``
fallback) gets -1. Prefixes are compared byte for byte (UTF-8), as the SPEC's strings are.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from rating.catalog import PrefixRule
from rating.kernels import bytes_and_offsets, single_chunk, trie_matches, valid_mask


def longest_prefix_match(values: pa.Array | pa.ChunkedArray, rules: tuple[PrefixRule, ...], names: tuple[str, ...]) -> np.ndarray:
    """Index into ``names`` of the rule with the longest prefix of each value; -1 for none."""
    values = single_chunk(values)
    children, labels = prefix_trie(rules, names)
    data, offsets = bytes_and_offsets(values)
    return trie_matches(data, offsets, valid_mask(values), children, labels)


@lru_cache(maxsize=64)
def prefix_trie(rules: tuple[PrefixRule, ...], names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(children[node, byte], label[node]) of the rules' prefixes; node 0 is the empty prefix.

    A prefix given twice keeps its first rule, as a lookup in rule order would.
    """
    name_index = {name: i for i, name in enumerate(names)}
    children = [np.full(256, -1, dtype=np.int32)]
    labels = [-1]
    for rule in rules:
        node = 0
        for byte in rule.prefix.encode("utf-8"):
            if children[node][byte] < 0:
                children[node][byte] = len(children)
                children.append(np.full(256, -1, dtype=np.int32))
                labels.append(-1)
            node = int(children[node][byte])
        if labels[node] < 0:
            labels[node] = name_index[rule.name]
    table = np.stack(children)
    table.flags.writeable = False
    label_array = np.array(labels, dtype=np.int32)
    label_array.flags.writeable = False
    return table, label_array

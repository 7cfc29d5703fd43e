"""State keys land on the worker `flows.routing` says Bytewax gives them, checked on a real
dataflow: keys the reading routes together share a worker thread, others never do."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import defaultdict

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.operators import StatefulBatchLogic
from bytewax.testing import TestingSource, cluster_main

from flows.routing import routed_worker, siphash13, worker_keys


def threads_of(keys: list[str], workers: int) -> dict[str, int]:
    """The worker thread each key's state ran on, in a dataflow of `workers` workers."""
    seen: dict[str, int] = {}
    lock = threading.Lock()

    class Record(StatefulBatchLogic):
        def on_batch(self, values):
            with lock:
                for key in values:
                    seen[key] = threading.get_ident()
            return [], self.RETAIN

        def snapshot(self):
            return None

    flow = Dataflow("routing")
    keyed = op.key_on("key", op.input("keys", flow, TestingSource(keys)), lambda key: key)
    op.inspect("done", op.stateful_batch("record", keyed, lambda _: Record()))
    cluster_main(flow, [], 0, worker_count_per_proc=workers)
    return seen


def groups(assignment: dict[str, int]) -> set[frozenset[str]]:
    by_owner = defaultdict(set)
    for key, owner in assignment.items():
        by_owner[owner].add(key)
    return {frozenset(keys) for keys in by_owner.values()}


@pytest.mark.parametrize("workers", [2, 3])
def test_keys_share_a_worker_exactly_when_the_routing_says_so(workers: int) -> None:
    keys = [str(i) for i in range(12)] + ["out", "file", "shard-0", "a" * 9, "ünï"]
    predicted = {key: routed_worker(key, workers) for key in keys}
    assert len(set(predicted.values())) == workers  # the check means something
    assert groups(threads_of(keys, workers)) == groups(predicted)


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_worker_keys_put_one_key_on_each_worker(workers: int) -> None:
    keys = worker_keys(workers, workers, "shard")
    assert len(set(keys)) == workers
    assert [routed_worker(k, workers) for k in keys] == list(range(workers))
    if workers > 1:
        assert len(set(threads_of(list(keys), workers).values())) == workers


def test_siphash13_agrees_with_cpythons_own() -> None:
    # CPython hashes bytes with SipHash-1-3 too, and with PYTHONHASHSEED=0 its key is zero:
    # an independent implementation of the same function (for non-empty input; it maps a
    # hash of -1 to -2, which these inputs do not hit).
    samples = [b"a", b"out", b"shard-0", bytes(range(7)), bytes(range(8)), bytes(range(9)), b"\xff" * 31, "ünï".encode()]
    script = "import sys; print([hash(bytes.fromhex(h)) & (2**64 - 1) for h in sys.argv[1:]])"
    result = subprocess.run([sys.executable, "-c", script, *[s.hex() for s in samples]], capture_output=True,
                            text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert result.stdout.strip() == str([siphash13(s) for s in samples])

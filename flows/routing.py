"""Which worker Bytewax gives a state key, so that keys can be named to spread work evenly.

Bytewax (0.21) routes a stateful step's key to worker `siphash13(key) % workers`: Rust's
`DefaultHasher` (SipHash-1-3, zero keys) over the key's UTF-8 bytes and a 0xFF terminator.
Keys named "0" and "1" both land on the same worker of two, so shards named by their
number alone left a two-worker run rating on one core. `tests/flows/test_routing.py` runs
a real dataflow to check this reading of Bytewax's routing.
"""
from __future__ import annotations

_MASK = (1 << 64) - 1


def _rotated(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & _MASK


def siphash13(data: bytes) -> int:
    """SipHash-1-3 of `data` with the zero key (Aumasson and Bernstein's SipHash, one
    compression and three finalisation rounds), as Rust's `DefaultHasher` computes it."""
    v0, v1, v2, v3 = 0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573

    def rounds(v0: int, v1: int, v2: int, v3: int, count: int) -> tuple[int, int, int, int]:
        for _ in range(count):
            v0 = (v0 + v1) & _MASK
            v1 = _rotated(v1, 13) ^ v0
            v0 = _rotated(v0, 32)
            v2 = (v2 + v3) & _MASK
            v3 = _rotated(v3, 16) ^ v2
            v0 = (v0 + v3) & _MASK
            v3 = _rotated(v3, 21) ^ v0
            v2 = (v2 + v1) & _MASK
            v1 = _rotated(v1, 17) ^ v2
            v2 = _rotated(v2, 32)
        return v0, v1, v2, v3

    whole = len(data) - len(data) % 8
    for i in range(0, whole, 8):
        word = int.from_bytes(data[i:i + 8], "little")
        v3 ^= word
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 1)
        v0 ^= word
    last = ((len(data) & 0xFF) << 56) | int.from_bytes(data[whole:], "little")
    v3 ^= last
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 1)
    v0 ^= last
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 3)
    return v0 ^ v1 ^ v2 ^ v3


def routed_worker(key: str, workers: int) -> int:
    """The index of the worker that Bytewax gives state key `key` among `workers`."""
    return siphash13(key.encode() + b"\xff") % workers


def worker_keys(count: int, workers: int, name: str) -> tuple[str, ...]:
    """`count` state keys, the i-th routed to worker i % workers: `name-i` where that key
    already goes there, else `name-i.k` for the first k that does."""
    keys = []
    for i in range(count):
        key, k = f"{name}-{i}", 0
        while routed_worker(key, workers) != i % workers:
            key, k = f"{name}-{i}.{k}", k + 1
        keys.append(key)
    return tuple(keys)

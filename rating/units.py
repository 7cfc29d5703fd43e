"""Billable units (SPEC rule 3): voice in seconds, SMS in messages, data in bytes.

Voice ``"A/B"``: 0 s is 0; up to A seconds is A; beyond that A plus whole B-second
increments, rounded up: ``A + ceil((d - A) / B) x B``. Data: bytes rounded up to a multiple
of ``increment_kb x 1024``; 0 bytes is 0. SMS: 1 per record.
"""
from __future__ import annotations

import numpy as np


def voice_billable_seconds(duration_s: np.ndarray, minimum_s: np.ndarray, increment_s: np.ndarray) -> np.ndarray:
    d = np.asarray(duration_s, dtype=np.int64)
    a = np.asarray(minimum_s, dtype=np.int64)
    b = np.asarray(increment_s, dtype=np.int64)
    over = np.maximum(d - a, 0)
    steps = -(-over // b)  # ceiling division
    return np.where(d > 0, a + steps * b, 0)


def data_billable_bytes(volume_bytes: np.ndarray, increment_bytes: np.ndarray) -> np.ndarray:
    v = np.asarray(volume_bytes, dtype=np.int64)
    inc = np.asarray(increment_bytes, dtype=np.int64)
    return -(-v // inc) * inc

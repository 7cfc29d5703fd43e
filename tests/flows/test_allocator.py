"""`reuse_large_allocations` sets glibc's thresholds in the calling process (in a fresh one
here, so the test process keeps its defaults). How many page faults it saves depends on the
machine and its load: that is measured in `bench/allocator.py`, beside glibc's defaults."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from flows.allocator import reuse_large_allocations
print(reuse_large_allocations())
"""


def test_reuse_large_allocations_is_accepted_by_glibc() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"

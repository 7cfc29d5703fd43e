"""Fills Numba's on-disk cache of the compiled loops at install time (`make install`).

Every compiled loop is `cache=True`: the first process to call it compiles it (seconds for
the rating path) and writes the machine code beside its module; later processes load it.
Without this step the first `revguard rate` after an install paid the compiling, 10x a later
run. A real run of a tiny simulated operator compiles exactly what `revguard rate` and
`revguard load` call, with the types they call it with.

    .venv/bin/python -m flows.compiled_cache
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fill_compiled_cache() -> None:
    """Rates a tiny simulated operator once, on as many workers as a default run uses."""
    from flows.rate_file import rate_file
    from flows.simulator import simulate

    with tempfile.TemporaryDirectory(prefix="revguard-compile-") as tmp:
        directory = Path(tmp)
        simulate(directory, subscribers=60, days=1, seed=1, fault_rate=0.05, progress=False, workers=1)
        with (directory / "network.ndjson").open("ab") as network:  # the general reader's path too
            network.write(b'{"record_id":"x","msisdn":"1","service":"fax"}\nnot json\n')
        rate_file(directory / "catalog.yaml", directory / "subscribers.csv", directory / "network.ndjson",
                  directory / "rated.ndjson", directory / "adjustments.ndjson", workers=os.cpu_count() or 1)


if __name__ == "__main__":
    fill_compiled_cache()

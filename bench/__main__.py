"""`make bench`: every benchmark in turn, each printing its figures beside its own baseline.

    .venv/bin/python -m bench [--quick]

`--quick` runs each at a tenth of its default size (a smoke run; quote full-size figures).
"""
from __future__ import annotations

import subprocess
import sys

BENCHMARKS = {
    "simulate": ([], ["--subscribers", "2000", "--days", "1"]),
    "rate_file": ([], ["--records", "100000", "--repeat", "1"]),
    "load": ([], ["--records", "100000"]),
    "rating_engine": ([], []),
    "kafka_baseline": ([], ["100000"]),
    "reconcile": ([], ["--records", "1000000"]),
    "streaming": ([], ["--quick"]),
}


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = []
    for name, (full, small) in BENCHMARKS.items():
        print(f"\n=== bench.{name} ===", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}", *(small if quick else full)])
        if result.returncode:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

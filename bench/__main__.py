"""`make bench`: every benchmark in turn, each printing its figures beside its own baseline.

    .venv/bin/python -m bench [--quick]

`--quick` runs each at a tenth of its default size (a smoke run; quote full-size figures).
"""
from __future__ import annotations

import subprocess
import sys

# name: (arguments at full size, arguments for --quick)
BENCHMARKS = {
    "simulate": (["--subscribers", "10000", "--days", "2"], ["--subscribers", "1000", "--days", "2"]),
    "rate_file": ([], ["--records", "100000", "--repeat", "1"]),
    "allocator": ([], ["--runs", "1"]),
    "load": ([], ["--records", "100000"]),
    "rating_engine": ([], ["100000", "10000"]),
    "kafka_baseline": ([], ["100000"]),
    "reconcile": (["--records", "10000000", "--runs", "1"], ["--records", "1000000", "--runs", "1"]),
    "streaming": ([], ["--records", "100000", "--seconds", "10", "--state-subscribers", "100000"]),
    "alerts": ([], ["--seconds", "5", "--burst", "1000"]),
    "leakage_risk": ([], ["--records", "100000", "--history", "50000"]),
    "forecast": ([], ["--elements", "34"]),
    "dashboard": ([], ["--runs", "2", "--demo-only"]),
    "anomalies": ([], ["--subscribers", "10000", "--runs", "1"]),
    "network_alerts": ([], ["--runs", "3000x4x43x0.3", "--speed", "600"]),
    "churn": ([], ["--subscribers", "100000"]),
    "churn_quality": (["--subscribers", "5000", "--days", "180", "--seed", "47"], ["--subscribers", "1500", "--days", "150", "--seed", "47"]),
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

"""The demo's churn step: five months of churn-mode history, the model fitted on it, the top
five subscribers by churn probability with their reasons (msisdn masked).

It runs in a process of its own (`python -m flows.demo_churn HOME`) because chDB opens one
data directory per process and the demo's store holds a week of other subscribers.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

CHURN_SUBSCRIBERS = 800
CHURN_DAYS = 150  # 56 days of features + a 30-day label window for the trees, again for calibration, again for scoring


def print_churn(home: Path, seed: int) -> None:
    """Run the churn step in its own process; its output goes straight to the terminal."""
    code = subprocess.call([sys.executable, "-m", "flows.demo_churn", str(home), str(seed)])
    if code:
        print(f"churn step stopped with exit code {code}", file=sys.stderr)


def main(home: Path, seed: int) -> None:
    from assurance.models.churn_history import load_history
    from assurance.models.churn_scoring import churn_table, score_churn
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate
    from flows.report import stdout
    from flows.simulator import simulate

    work = home / "churn"
    shutil.rmtree(work, ignore_errors=True)
    simulate(work / "sim", subscribers=CHURN_SUBSCRIBERS, days=CHURN_DAYS, seed=seed, start=date(2026, 11, 1),
             progress=True, churn_mode=True)
    client = store_client(f"chdb://{work / 'chdb'}")
    migrate(client)
    load_history(client, work / "sim")
    stdout.print(f"{CHURN_SUBSCRIBERS} subscribers x {CHURN_DAYS} days of churn-mode history in {work / 'sim'}")
    stdout.print(churn_table(score_churn(client, work / "home", retrain=True)))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))

"""The demo's leakage-risk step (issue 23): the money at risk in the records still inside the
billing SLA, and how well the same model did on the last day whose SLA has closed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.report import stdout


def print_leakage_risk(client: Any, home: Path) -> None:
    """Score the open day into leakage_scores and measure a model fitted without the last
    closed day on that day, against what the controls found on it."""
    from assurance.models.leakage_measure import measure_days, quality_table
    from assurance.models.leakage_scoring import DEFAULT_SLA, NothingToScoreLeakage, score_leakage
    from assurance.models.leakage_risk import TooFewFindings
    from assurance.models.leakage_tables import leakage_table

    try:
        run = score_leakage(client, home, retrain=True, progress=True)
        stdout.print(leakage_table(run))
        per_day, pooled = measure_days(client, home, 1, run.as_of - DEFAULT_SLA)
    except (TooFewFindings, NothingToScoreLeakage) as exc:
        stdout.print(f"leakage risk not scored: {exc}")
        return
    stdout.print(quality_table(per_day, pooled, "leakage risk measured on the last day whose SLA has closed "
                                                "(model fitted on the days before it)"))

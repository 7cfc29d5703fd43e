"""The demo's leakage-risk step (issue 23): the money at risk in the records still inside the
billing SLA, and how well the same model did on the last day whose SLA has closed."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flows.report import stdout

_USAGE_END = "SELECT max(start_time) FROM revguard.rated_usage WHERE status = 'rated'"


def print_leakage_risk(client: Any, home: Path) -> None:
    """Score the open day into leakage_scores and measure a model fitted without the last
    closed day on that day, against what the controls found on it."""
    from assurance.models.leakage_measure import measure_days, quality_table
    from assurance.models.leakage_scoring import DEFAULT_SLA, NothingToScoreLeakage, score_leakage
    from assurance.models.leakage_risk import TooFewFindings
    from assurance.models.leakage_tables import leakage_table

    # The simulated billing clock runs up to two days past the usage (late duplicate bills), so
    # the demo stands at the end of its usage, when the last day was still inside the SLA.
    end = client.query(_USAGE_END).result_rows[0][0]
    if end is None or end.year <= 1970:   # max() of no rows is the epoch
        stdout.print("leakage risk not scored: no rated usage")
        return
    as_of = end.replace(tzinfo=None, minute=0, second=0, microsecond=0) + timedelta(hours=1)
    try:
        run = score_leakage(client, home, as_of=as_of, retrain=True, progress=True)
        stdout.print(leakage_table(run))
        per_day, pooled = measure_days(client, home, 1, run.as_of - DEFAULT_SLA)
    except (TooFewFindings, NothingToScoreLeakage) as exc:
        stdout.print(f"leakage risk not scored: {exc}")
        return
    stdout.print(quality_table(per_day, pooled, "leakage risk measured on the last day whose SLA has closed "
                                                "(model fitted on the days before it)"))

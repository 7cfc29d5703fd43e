"""What `revguard forecast` prints: rich tables a finance reader takes in at a glance."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from forecasting.backtest import Backtest

# Piped output (a log, a test) is laid out 120 wide rather than rich's 80, so no figure is cut.
stdout = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def accuracy_table(title: str, backtests: list[Backtest]) -> Table:
    """Per series: MASE of the method kept beside seasonal naive's, interval coverage
    and pinball loss, and the month-end projection's mean error (over how many closes)."""
    table = Table(title=title, title_justify="left", caption=(
        "MASE in units of the in-sample seasonal naive error; ratio = MASE / naive's (≤ 0.8 is the bar); "
        "in 80 / in 95: share of actuals inside the intervals; pb: pinball loss of the interval ends"),
        caption_justify="left")
    for column in ("series", "MASE", "naive", "ratio", "in 80", "in 95", "pb 80", "pb 95", "month end"):
        table.add_column(column, justify="left" if column == "series" else "right", no_wrap=True)
    for b in backtests:
        table.add_row(
            b.series, f"{b.chosen.mase:.3f}", f"{b.candidates['seasonal_naive'].mase:.3f}", f"{b.mase_ratio:.2f}",
            _pct(b.chosen.coverage.get(80)), _pct(b.chosen.coverage.get(95)),
            *(f"{b.chosen.pinball[lv]:,.3f}" if lv in b.chosen.pinball else "-" for lv in (80, 95)),
            f"{_pct(b.month_end_error)} ({b.month_ends})")
    return table


def methods_table(backtests: list[Backtest]) -> Table:
    """Each candidate's MASE per series and how often the method kept it."""
    table = Table(title="methods compared (point forecasts at the same origins)", title_justify="left")
    for column in ("series", "method", "MASE", "sMAPE", "kept at origins"):
        table.add_column(column, justify="left" if column in ("series", "method") else "right", no_wrap=True)
    for b in backtests:
        table.add_row(b.series, "kept per origin", f"{b.chosen.mase:.3f}", f"{b.chosen.smape:.1f} %", str(b.origins))
        for name, acc in b.candidates.items():
            table.add_row(b.series, name, f"{acc.mase:.3f}", f"{acc.smape:.1f} %", str(b.models.get(name, 0)))
    return table

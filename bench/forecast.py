"""Forecasting many series: 1,000 daily revenue series (element × service), 30 days ahead.

Each series gets the whole method of `revguard forecast`: every candidate (seasonal naive,
calendar ridge, Holt-Winters, their mean) run from the last 80 calibration origins, the best
kept, conformal intervals at 80 and 95 %, then the services of each element summed
bottom-up. Baseline in the same run: the same pipeline with seasonal naive alone (its
calibration and intervals included), the floor every model must beat.

The series are synthetic, one per element and service, 181 days from a fixed seed: a
level per series, growth or churn, a weekly cycle, a month-start bump, a price step and
noise (the simulator has a handful of elements, not hundreds).

Usage: python -m bench.forecast [--elements 334] [--days 181] [--horizon 30] [--seed 5]
Prints wall and CPU time, per-series median and peak memory of both. Each pipeline runs in its
own child process, so its peak resident memory (ru_maxrss, imports included) is its own.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from forecasting.forecast import bottom_up, forecast_series
from forecasting.methods import seasonal_naive
from forecasting.series import Series

SERVICES = ("voice", "sms", "data")
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def synthetic_series(elements: int, days: int, seed: int) -> list[list[Series]]:
    """Per element, one daily revenue series per service."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2026-11-01", periods=days, freq="D")
    t = np.arange(days)
    month_start = np.asarray(times.day <= 3)
    out = []
    for e in range(elements):
        parts = []
        for service in SERVICES:
            level = rng.lognormal(5, 1)
            growth = rng.normal(0, 0.002)
            week = rng.normal(0, 0.15, 7)
            step = np.where(t >= rng.integers(days // 3, days), rng.normal(0, 0.05), 0)
            values = level * (1 + growth * t) * (1 + week[t % 7]) * (1 + 0.2 * month_start) * (1 + step)
            values = np.maximum(values * rng.lognormal(0, 0.1, days), 0)
            parts.append(Series(name=f"element=e{e:04d}/service={service}", times=times, values=values,
                                freq="D", season=7))
        out.append(parts)
    return out


def run(groups: list[list[Series]], horizon: int, methods: dict | None, label: str) -> tuple[float, list[float]]:
    """Forecast every series (and each element's bottom-up total); wall time and per-series times."""
    per_series = []
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=sum(len(g) for g in groups))
        for parts in groups:
            forecasts = []
            for series in parts:
                t = time.perf_counter()
                forecasts.append(forecast_series(series, horizon, methods=methods))
                per_series.append(time.perf_counter() - t)
                progress.advance(task)
            bottom_up(parts[0].name.split("/")[0], forecasts)
    return time.perf_counter() - started, per_series


def child(args: argparse.Namespace) -> None:
    """One pipeline in this process; prints one JSON line: wall, median per series, peak RSS."""
    groups = synthetic_series(args.elements, args.days, args.seed)
    methods = {"seasonal_naive": seasonal_naive} if args.pipeline == "naive" else None
    cpu = time.process_time()
    wall, per_series = run(groups, args.horizon, methods, args.pipeline)
    cpu = time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "cpu": cpu, "median": statistics.median(per_series), "peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=334, help="elements; 3 services each (334: 1,002 series)")
    parser.add_argument("--days", type=int, default=181)
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--pipeline", choices=("naive", "full"), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipeline:
        return child(args)
    count = args.elements * len(SERVICES)
    console.print(f"{count:,} series of {args.days} days, {args.horizon} days ahead, {args.elements:,} element totals")
    figures = {}
    for pipeline in ("naive", "full"):
        command = [sys.executable, "-m", "bench.forecast", "--pipeline", pipeline, "--elements", str(args.elements),
                   "--days", str(args.days), "--horizon", str(args.horizon), "--seed", str(args.seed)]
        result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
        figures[pipeline] = json.loads(result.stdout.strip().splitlines()[-1])
    baseline, full = figures["naive"], figures["full"]
    table = Table(title="forecasting element × service, with calibrated 80 / 95 % intervals", title_justify="left")
    for column in ("pipeline", "wall s", "CPU s", "series/s", "median ms/series", "peak RSS MiB"):
        table.add_column(column, justify="left" if column == "pipeline" else "right", no_wrap=True)
    for name, f in (("seasonal naive only (baseline)", baseline), ("revguard forecast method", full)):
        table.add_row(name, f"{f['wall']:.1f}", f"{f['cpu']:.1f}", f"{count / f['wall']:,.1f}", f"{1000 * f['median']:.1f}",
                      f"{f['peak_mib']:.0f}")
    console.print(table)
    # CPU time as well as wall time: on a shared machine the wall time measures the neighbours too.
    console.print(f"ratio of CPU times: {full['cpu'] / baseline['cpu']:.0f} × seasonal naive's; "
                  f"peak memory {full['peak_mib'] - baseline['peak_mib']:+.0f} MiB over it")


if __name__ == "__main__":
    main()

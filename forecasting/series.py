"""A regular time series (one value per day, month, ...) and how one is read from a CSV."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.errors import ForecastInputError

# Season length by the frequency's unit: a week of days, a year of months or quarters.
_SEASONS = {"D": 7, "B": 5, "W": 52, "M": 12, "MS": 12, "ME": 12, "Q": 4, "QS": 4, "QE": 4, "h": 24, "H": 24}


@dataclass(frozen=True)
class Series:
    """Values on a regular grid of `times` (no gaps), one per period of `freq`."""

    name: str
    times: pd.DatetimeIndex
    values: np.ndarray      # float64; money series are estimates here, not amounts owed
    freq: str               # a pandas offset alias: "D", "MS", ...
    season: int

    def __len__(self) -> int:
        return len(self.values)

    def future_times(self, horizon: int) -> pd.DatetimeIndex:
        """The `horizon` periods after the last one."""
        return pd.date_range(self.times[-1], periods=horizon + 1, freq=self.freq)[1:]


def season_of(freq: str) -> int:
    """The usual season length of a frequency (7 for daily data, 12 for monthly), 1 if none."""
    unit = freq.lstrip("0123456789").split("-")[0]
    return _SEASONS.get(unit, 1)


def regular_series(name: str, times: pd.DatetimeIndex, values: np.ndarray, freq: str | None = None,
                   season: int | None = None) -> Series:
    """The series of `values` at `times`, checked to lie on one regular grid.

    The frequency is inferred when not given. Raises ForecastInputError (one line) for
    times that repeat, times off the grid, missing periods or values that are not numbers."""
    times = pd.DatetimeIndex(times)
    values = np.asarray(values, dtype=float)
    if len(times) != len(values):
        raise ForecastInputError(f"{name}: {len(times)} times for {len(values)} values")
    if len(times) < 3:
        raise ForecastInputError(f"{name}: {len(times)} points; a series needs at least 3")
    order = np.argsort(times.asi8, kind="stable")
    times, values = times[order], values[order]
    if times.has_duplicates:
        raise ForecastInputError(f"{name}: the time {times[times.duplicated()][0]} appears more than once")
    if not np.isfinite(values).all():
        bad = times[~np.isfinite(values)][0]
        raise ForecastInputError(f"{name}: the value at {bad} is missing or not a number")
    if freq is None:
        with pd.option_context("future.infer_freq_returns_offset", True):
            offset = pd.infer_freq(times)
        freq = None if offset is None else offset.freqstr
        if freq is None:
            raise ForecastInputError(f"{name}: the times are not evenly spaced, so the frequency cannot be "
                                     "inferred; pass --freq (D, W, MS, ...) if periods are missing")
    try:
        grid = pd.date_range(times[0], times[-1], freq=freq)
    except ValueError:
        raise ForecastInputError(f"{name}: {freq!r} is not a pandas frequency (D, W, MS, QS, h, ...)") from None
    if len(grid) != len(times) or not (grid == times).all():
        off = times.difference(grid)
        if len(off):
            raise ForecastInputError(f"{name}: the time {off[0]} is not on the {freq} grid starting {times[0]}")
        missing = grid.difference(times)
        raise ForecastInputError(f"{name}: {len(missing)} periods of {freq} are missing, the first {missing[0]}")
    return Series(name=name, times=times, values=values, freq=str(grid.freqstr),
                  season=int(season) if season else season_of(str(grid.freqstr)))


def series_from_csv(path: Path, time_col: str, value_col: str, freq: str | None = None,
                    season: int | None = None) -> Series:
    """The series in columns `time_col` and `value_col` of a CSV file with a header row."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise ForecastInputError(f"{path}: not a text CSV file (not UTF-8)") from None
    if not header:
        raise ForecastInputError(f"{path}: empty file, expected a CSV with a header row")
    for column in (time_col, value_col):
        if column not in header:
            raise ForecastInputError(f"{path}: no column {column!r} (the header has {', '.join(map(repr, header))})")
    try:
        frame = pd.read_csv(path, usecols=[time_col, value_col], dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ForecastInputError(f"{path}: not a readable CSV: {' '.join(str(exc).split())}") from None
    times = pd.to_datetime(frame[time_col], errors="coerce", format="mixed")
    if times.isna().any():
        row = int(np.flatnonzero(times.isna())[0])
        raise ForecastInputError(f"{path}: line {row + 2}: {frame[time_col][row]!r} in {time_col!r} is not a date or time")
    values = pd.to_numeric(frame[value_col].str.strip(), errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna())[0])
        raise ForecastInputError(f"{path}: line {row + 2}: {frame[value_col][row]!r} in {value_col!r} is not a number")
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return regular_series(value_col, pd.DatetimeIndex(times), values.to_numpy(dtype=float), freq, season)

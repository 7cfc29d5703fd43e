"""Network alerts raised by the rating stream: `element_silent`, `traffic_drop`, `premium_surge`.

Rated records are counted per element × service in 5-minute windows of event time and set
against `flows.network_baseline` (learned from the store, same hour of week). Event time is
kept by the stream's clock, the latest `start_time` seen; records arrive late (the
simulator's mediation delays them by ~10 minutes on average, exponentially), so the detector
learns from the stream itself how late they come: the share `F(d)` of records that have
arrived `d` after their start. What a window should hold by now is its baseline times `F`.
`F` is learned per element × service (of its service while the element has too few records
to tell): elements are delivered very differently late (in the simulator's replay, nine voice
records in ten arrive within a minute, not two data records in a hundred), and one `F` for
all made a slow element's on-time share look like the fast ones', so its records that had
simply not arrived yet were taken for a silence.

- `element_silent`: nothing arrived from an element × service since its last record while
  `E` records were due by now (the baseline over that stretch, times `F`). Arrivals are a
  Poisson stream, so that silence is normal with chance exp(-E); the alert fires at
  E >= ln(checks per day / FALSE_ALERTS_PER_DAY) (a check per key and 5 minutes), looked at every minute of the clock. It does
  not wait for windows to close: a silence is seen while its records would still be arriving.
  It resolves when a record of the element starts after the alert fired.
- `traffic_drop`: a window, once `FINAL_SHARE` of its records are due (its lateness
  quantile), holding at most a third of what was due with Poisson tail chance below the same
  per-check budget. Open while windows stay below two thirds of what was due.
- `premium_surge`: premium or international voice in a final window at least three times the
  baseline and beyond the same tail budget, per voice element and per subscriber (the
  subscriber's own mean, at least the population's). Open while windows stay above 1.5 times.

Every alert has an `alert_id` made of its kind, keys and opening moment (event time), so a
replay of the same records names it the same; it is sent `firing` once, `resolved` once.

Why not Bytewax's own windowing: it opens a window when an item arrives, and a silent
element sends no item; and the rated stream moves in Arrow batches, whose records would
have to become items one by one. The counting here is per batch, in one keyed step whose
state Bytewax snapshots with the rest of the flow.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import poisson

from flows.network_baseline import PREMIUM_CLASSES, WINDOW_S, NetworkBaseline

FALSE_ALERTS_PER_DAY = 0.01  # for all checks of one kind together
FINAL_SHARE = 0.9  # a window is judged for drops and surges once this share of its records is due
MAX_LAG_MIN = 240  # lateness learned up to 4 h; records later than that count as 4 h late
MIN_LAG_SAMPLES = 500  # records seen before the lateness (and so any expectation) is trusted
KEEP_S = 6 * 3600  # windows kept in state
STALL_S = 3600  # a partition this far behind the newest is idle, not slow


@dataclass(frozen=True)
class NetworkCounts:
    """What one rated batch holds for the detector: counts, not records."""

    windows: dict[tuple[str, str, int], int]  # (element, service, window start) -> records
    premium: dict[tuple[str, int], int]  # (voice element, window start) -> premium/international records
    subscriber_premium: dict[tuple[str, int], int]  # (msisdn, window start) -> same
    # (element, service, minute of the clock met on arrival, minute of start) -> records
    minutes: dict[tuple[str, str, int, int], int]
    first: dict[tuple[str, str], int]  # (element, service) -> earliest start_time (s)
    last: dict[tuple[str, str], int]  # (element, service) -> latest start_time (s)
    origin: str = ""  # the input partition the batch came from


def network_counts(rated: pa.Table, origin: str = "") -> NetworkCounts | None:
    """The counts of one rated table (duplicates left out: they were counted the first time)."""
    if not rated.num_rows or "element_id" not in rated.column_names:
        return None
    keep = pc.and_(pc.invert(pc.equal(pc.fill_null(rated["status"], ""), "duplicate")),
                   pc.is_valid(rated["element_id"]))
    table = rated.select(["element_id", "service", "start_time", "msisdn", "dest_class"]).filter(keep)
    if not table.num_rows:
        return None
    start = pc.cast(pc.cast(table["start_time"], pa.timestamp("s", tz="UTC")), pa.int64())
    window = pc.multiply(pc.divide(start, WINDOW_S), WINDOW_S)  # integer division: the window's start (after 1970)
    keyed = pa.table({"e": table["element_id"], "s": table["service"], "w": window, "t": start})
    # One grouping per batch instead of a Python loop over its records (tens of thousands).
    grouped = keyed.group_by(["e", "s", "w"]).aggregate([("t", "count"), ("t", "min"), ("t", "max")]).to_pydict()
    windows: dict[tuple[str, str, int], int] = {}
    first: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], int] = {}
    for e, s, w, n, lo, hi in zip(grouped["e"], grouped["s"], grouped["w"], grouped["t_count"], grouped["t_min"],
                                  grouped["t_max"]):
        windows[(e, s, w)] = n
        first[(e, s)] = min(first.get((e, s), lo), lo)
        last[(e, s)] = max(last.get((e, s), hi), hi)
    premium_mask = pc.and_(pc.equal(table["service"], "voice"),
                           pc.is_in(pc.fill_null(table["dest_class"], ""), pa.array(PREMIUM_CLASSES)))
    premium: dict[tuple[str, int], int] = {}
    subscriber_premium: dict[tuple[str, int], int] = {}
    if pc.any(premium_mask).as_py():
        calls = pa.table({"e": table["element_id"], "m": table["msisdn"], "w": window}).filter(premium_mask)
        by_element = calls.group_by(["e", "w"]).aggregate([("m", "count")]).to_pydict()
        premium = dict(zip(zip(by_element["e"], by_element["w"]), by_element["m_count"]))
        by_subscriber = calls.group_by(["m", "w"]).aggregate([("e", "count")]).to_pydict()
        subscriber_premium = dict(zip(zip(by_subscriber["m"], by_subscriber["w"]), by_subscriber["e_count"]))
    seconds = start.to_numpy(zero_copy_only=False)
    # The clock each record met on arrival, as far as its batch tells (rows are in arrival
    # order): the latest start before it, of any element. The detector takes the later of
    # that and its clock.
    met = np.maximum.accumulate(seconds) // 60
    lateness = pa.table({"e": table["element_id"], "s": table["service"], "a": met, "m": seconds // 60})
    by_minute = lateness.group_by(["e", "s", "a", "m"]).aggregate([("m", "count")]).to_pydict()
    minutes = {(e, s, int(a), int(m)): int(n) for e, s, a, m, n in zip(
        by_minute["e"], by_minute["s"], by_minute["a"], by_minute["m"], by_minute["m_count"])}
    return NetworkCounts(windows, premium, subscriber_premium, minutes, first, last, origin)


@dataclass
class OpenAlert:
    alert_id: str
    kind: str
    keys: dict[str, str]
    starts_at: int
    fired_clock: int
    evidence: dict[str, object]


@dataclass
class NetworkAlertState:
    """Everything the detector remembers; pickled into Bytewax snapshots."""

    clock: int = 0  # latest start_time seen (s)
    checked_minute: int = 0
    final_through: int | None = None  # windows starting before this are judged
    lags: np.ndarray = field(default_factory=lambda: np.zeros(MAX_LAG_MIN + 1, dtype=np.int64))  # all records
    key_lags: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # per element × service
    windows: dict[tuple[str, str], dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    premium: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    subscriber_premium: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    last_seen: dict[tuple[str, str], int] = field(default_factory=dict)
    started: int | None = None
    open: dict[tuple, OpenAlert] = field(default_factory=dict)
    quiet_until: dict[tuple[str, str], int] = field(default_factory=dict)  # a silence's end: no drop before
    forgot_at: int = 0
    origins: dict[str, int] = field(default_factory=dict)  # latest start_time per input partition


def _iso(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class NetworkAlertDetector:
    """Feeds batches' counts into a `NetworkAlertState`; returns the alert messages they cause."""

    def __init__(self, baseline: NetworkBaseline) -> None:
        self.baseline = baseline

    # ---- lateness
    def _lag_cdf(self, state: NetworkAlertState) -> np.ndarray | None:
        """All records' lateness: when windows are judged (together, for every key)."""
        total = int(state.lags.sum())
        if total < MIN_LAG_SAMPLES:
            return None
        return np.cumsum(state.lags) / total

    def _key_cdfs(self, state: NetworkAlertState) -> dict[tuple[str, str], np.ndarray]:
        """Each element × service's own lateness, or its service's while it has fewer than
        MIN_LAG_SAMPLES records (an element silent since the stream started has none); a key
        with neither is left out: how late its records come is not known yet."""
        empty = np.zeros(MAX_LAG_MIN + 1, dtype=np.int64)
        by_service: dict[str, np.ndarray] = {}
        for (_, service), lags in state.key_lags.items():
            by_service[service] = by_service.get(service, empty) + lags
        out = {}
        for key in set(self.baseline.hourly) | set(state.key_lags):
            for counts in (state.key_lags.get(key, empty), by_service.get(key[1], empty)):
                total = int(counts.sum())
                if total >= MIN_LAG_SAMPLES:
                    out[key] = np.cumsum(counts) / total
                    break
        return out

    @staticmethod
    def _due(cdf: np.ndarray, lag_s: float) -> float:
        return float(cdf[min(max(int(lag_s // 60), 0), MAX_LAG_MIN)])

    def _checks_budget(self, checks_per_day: float) -> float:
        """Per-check false alert chance: FALSE_ALERTS_PER_DAY over all of a kind's checks."""
        return FALSE_ALERTS_PER_DAY / max(checks_per_day, 1.0)

    # ---- the step
    def update(self, state: NetworkAlertState, counts: NetworkCounts) -> list[dict]:
        out: list[dict] = []
        latest = max(counts.last.values())
        if state.started is None:
            state.started = min(counts.first.values())
            state.clock = state.started
        # How late a record is: the clock when it arrived minus its start. The clock it met is
        # the later of the clock before its batch and the latest start ahead of it in the batch:
        # measured against the clock after the batch, every record of a long batch (a flow
        # catching up, an accelerated replay) would look as late as the batch is long, and
        # against the clock before it, a late record among on-time ones would look on time.
        for (e, s, met, minute), n in counts.minutes.items():
            lag = min(max(max(state.clock // 60, met) - minute, 0), MAX_LAG_MIN)
            state.lags[lag] += n
            lags = state.key_lags.get((e, s))
            if lags is None:
                lags = state.key_lags[(e, s)] = np.zeros(MAX_LAG_MIN + 1, dtype=np.int64)
            lags[lag] += n
        # The clock is the slowest partition's latest start (partitions read unevenly would
        # otherwise make every element look silent until the slow ones catch up); a partition
        # an hour behind the others is taken as idle and not waited for.
        state.origins[counts.origin] = max(state.origins.get(counts.origin, latest), latest)
        newest = max(state.origins.values())
        state.clock = max(state.clock, min(t for t in state.origins.values() if t >= newest - STALL_S))
        horizon = state.clock - KEEP_S  # records older than the state keeps are too late to count
        for (e, s, w), n in counts.windows.items():
            if w >= horizon:
                by_window = state.windows[(e, s)]
                by_window[w] = by_window.get(w, 0) + n
        for (e, w), n in counts.premium.items():
            if w >= horizon:
                state.premium[e][w] = state.premium[e].get(w, 0) + n
        if self.baseline.premium_floor > 0:  # per subscriber only with a baseline to judge them by
            for (m, w), n in counts.subscriber_premium.items():
                if w >= horizon:
                    state.subscriber_premium[w][m] = state.subscriber_premium[w].get(m, 0) + n
        for key, t in counts.last.items():
            state.last_seen[key] = max(state.last_seen.get(key, t), t)
            silent = state.open.get(("element_silent", key))
            if silent is not None and t >= silent.fired_clock:
                ends = max(counts.first[key], silent.starts_at)
                state.quiet_until[key] = ends
                out.append(self._resolve(state, ("element_silent", key), ends))
        cdf = self._lag_cdf(state)
        if cdf is None:
            return out
        cdfs = self._key_cdfs(state)
        if state.clock // 60 > state.checked_minute:
            state.checked_minute = state.clock // 60
            out.extend(self._silences(state, cdfs))
        out.extend(self._final_windows(state, cdf, cdfs))
        if state.clock // 600 != state.forgot_at:  # every 10 minutes of the clock
            state.forgot_at = state.clock // 600
            self._forget(state)
        return out

    def _silences(self, state: NetworkAlertState, cdfs: dict[tuple[str, str], np.ndarray]) -> list[dict]:
        keys = list(self.baseline.hourly)
        # Checked every minute, but a minute's check differs from the last by a minute's records:
        # the budget counts one check per 5-minute window (288 a day per key).
        need = math.log(1.0 / self._checks_budget(len(keys) * 288))
        out = []
        for key in keys:
            cdf = cdfs.get(key)
            if ("element_silent", key) in state.open or cdf is None:
                continue
            since = state.last_seen.get(key, state.started)
            due = 0.0
            for minute in range(since // 60, state.clock // 60 + 1):
                # the part of this minute after the last record and before the clock, and its middle
                lo, hi = max(minute * 60, since), min(minute * 60 + 60, state.clock)
                if hi <= lo:
                    continue
                moment = (lo + hi) / 2
                due += self.baseline.per_minute(key, moment) * (hi - lo) / 60 * self._due(cdf, state.clock - moment)
            if due >= need:
                element, service = key
                out.append(self._open(state, "element_silent", key, {"element_id": element, "service": service},
                                      since, {"expected": round(due, 1), "observed": 0,
                                              "window_start": _iso(since), "window_end": _iso(state.clock)}))
        return out

    def _final_windows(self, state: NetworkAlertState, cdf: np.ndarray,
                       cdfs: dict[tuple[str, str], np.ndarray]) -> list[dict]:
        final_lag = int(np.searchsorted(cdf, FINAL_SHARE)) * 60 + 60
        newest = (state.clock - final_lag) // WINDOW_S * WINDOW_S - WINDOW_S  # latest window judged
        if state.final_through is None:
            state.final_through = state.started - state.started % WINDOW_S + WINDOW_S  # first full window
        out = []
        while state.final_through <= newest:
            w = state.final_through
            def due_share(of: np.ndarray = cdf) -> float:
                return float(np.mean([self._due(of, state.clock - (w + m * 60 + 30)) for m in range(5)]))

            out.extend(self._drops(state, w, {key: due_share(c) for key, c in cdfs.items()}))
            out.extend(self._surges(state, w, due_share(), {e: due_share(c) for (e, s), c in cdfs.items()
                                                             if s == "voice"}))
            state.final_through = w + WINDOW_S
        return out

    def _drops(self, state: NetworkAlertState, w: int, due_shares: dict[tuple[str, str], float]) -> list[dict]:
        out = []
        budget = self._checks_budget(len(self.baseline.hourly) * 288)
        for key in self.baseline.hourly:
            # the key's own share due by now: a slow element's window is judged by its own lateness
            due = sum(self.baseline.per_minute(key, w + m * 60 + 30) for m in range(5)) * due_shares.get(key, 0.0)
            seen = state.windows.get(key, {}).get(w, 0)
            ident = ("traffic_drop", key)
            if ident in state.open:
                if seen >= due * 2 / 3:
                    out.append(self._resolve(state, ident, w))
                continue
            if ("element_silent", key) in state.open or w < state.quiet_until.get(key, 0) or due <= 0:
                continue
            if seen <= due / 3 and poisson.cdf(seen, due) <= budget:
                element, service = key
                out.append(self._open(state, "traffic_drop", key, {"element_id": element, "service": service}, w,
                                      {"expected": round(due, 1), "observed": seen, "window_start": _iso(w),
                                       "window_end": _iso(w + WINDOW_S)}))
        return out

    def _surges(self, state: NetworkAlertState, w: int, due_share: float, element_shares: dict[str, float]) -> list[dict]:
        out = []
        elements = list(self.baseline.premium_hourly)
        budget = self._checks_budget(max(len(elements), 1) * 288)
        for element in elements:
            due = max(self.baseline.premium_per_window(element, w), 1.0) * element_shares.get(element, due_share)
            seen = state.premium.get(element, {}).get(w, 0)
            out.extend(self._surge(state, ("premium_surge", element), {"element_id": element, "service": "voice"},
                                   w, due, seen, budget))
        subscribers = state.subscriber_premium.get(w, {}) if self.baseline.premium_floor > 0 else {}
        budget = self._checks_budget(max(self.baseline.subscribers, len(subscribers), 1) * 288)
        opened = {k[1] for k in state.open if k[0] == "premium_surge_subscriber"}
        for msisdn in sorted(set(subscribers) | opened):
            due = self.baseline.subscriber_per_window(msisdn) * due_share
            out.extend(self._surge(state, ("premium_surge_subscriber", msisdn), {"msisdn": msisdn, "service": "voice"},
                                   w, due, subscribers.get(msisdn, 0), budget))
        return out

    def _surge(self, state, ident, keys, w, due, seen, budget) -> list[dict]:
        if ident in state.open:
            return [self._resolve(state, ident, w)] if seen <= 1.5 * due else []
        if due > 0 and seen >= 3 and seen >= 3 * due and poisson.sf(seen - 1, due) <= budget:
            return [self._open(state, "premium_surge", ident[1], keys, w,
                               {"expected": round(due, 2), "observed": seen, "window_start": _iso(w),
                                "window_end": _iso(w + WINDOW_S)})]
        return []

    # ---- alerts
    def _open(self, state: NetworkAlertState, kind: str, key, keys: dict[str, str], starts_at: int,
              evidence: dict[str, object]) -> dict:
        ident = (kind if "msisdn" not in keys else "premium_surge_subscriber", key)
        alert_id = ":".join([kind, *keys.values(), _iso(starts_at)])
        state.open[ident] = OpenAlert(alert_id, kind, keys, starts_at, state.clock, evidence)
        return {"alert_id": alert_id, "kind": kind, "status": "firing", **keys, "starts_at": _iso(starts_at),
                "detected_at_event_time": _iso(state.clock), **evidence}

    def _resolve(self, state: NetworkAlertState, ident: tuple, ends_at: int) -> dict:
        alert = state.open.pop(ident)
        return {"alert_id": alert.alert_id, "kind": alert.kind, "status": "resolved", **alert.keys,
                "starts_at": _iso(alert.starts_at), "ends_at": _iso(max(ends_at, alert.starts_at)),
                "detected_at_event_time": _iso(state.clock), **alert.evidence}

    def _forget(self, state: NetworkAlertState) -> None:
        horizon = state.clock - KEEP_S
        for by_window in (*state.windows.values(), *state.premium.values()):
            for w in [w for w in by_window if w < horizon]:
                del by_window[w]
        for w in [w for w in state.subscriber_premium if w < horizon]:
            del state.subscriber_premium[w]


def _parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

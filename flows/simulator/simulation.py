"""`simulate`: one run of the simulated operator, streamed to files a chunk at a time.

For each chunk of subscribers: generate the base and its usage (numpy), let the online
charging refuse prepaid usage the balance cannot cover, lose what element outages swallow,
bill every surviving network record with the reference rater in arrival order, then alter
the billed stream with the injected faults. Faults only ever modify billed output, never the
rater's state, so one fault does not shift another record's charge.
"""
from __future__ import annotations

import bisect
import dataclasses
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, nullcontext
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable, TextIO

import numpy as np
import yaml

from flows.simulator import anomalies, churn
from flows.simulator import fault_causes as causes
from flows.simulator.catalog import catalog_document
from flows.simulator.element_outages import ElementOutages, element_outages
from flows.simulator.faults import (
    FAULT_KINDS, altered_quantity, misrated_charge, unfunded_amount)
from flows.simulator.formats import (
    OUTPUT_FILES, PROVISIONING_COLUMNS, SUBSCRIBER_COLUMNS, adjustment_line, billed_line,
    csv_line, network_line, truth_line)
from flows.simulator.network import (
    ELEMENTS, SERVICES, VISITED_NETWORKS, local_midnights, rfc3339)
from flows.simulator.population import (
    ACTIVE, PLAN_IDS, SEGMENTS, STATUSES, Subscribers, subscribers_chunk)
from flows.simulator.reference_rater import ZERO, ReferenceRater
from flows.simulator.revenue_calendar import calendar_traffic
from flows.simulator.summary import SimulationSummary
from flows.simulator.traffic import Traffic, traffic_chunk

# Events per chunk: bounds memory whatever the base size.
CHUNK_EVENTS = 100_000
EVENTS_PER_SUBSCRIBER_DAY = 30
BILLING_DELAY_MEDIAN_S = 1200
BILLING_SLA_S = 24 * 3600
TOPUP_AMOUNTS = (5, 10, 15, 20, 30)
TOPUP_SHARE = (0.2, 0.35, 0.15, 0.2, 0.1)
TOPUPS_PER_DAY = 0.2
GOODWILL_PER_DAY = 0.01
GOODWILL_AMOUNTS = ("0.50", "1.00", "2.50", "5.00")
REACTIVE_TOPUP_SHARE = 0.5
PROGRESS_STEP = 100


def simulate(out: Path, subscribers: int = 2000, days: int = 7, seed: int = 1,
             start: date = date(2026, 11, 1), fault_rate: float = 0.01,
             progress: bool = True, workers: int | None = None,
             revenue_calendar: bool = False, churn_mode: bool = False) -> SimulationSummary:
    """Write a simulated operator's files to `out` and return what was written.

    Files (SPEC sections 1 and 2): network.ndjson, billed.ndjson, adjustments.ndjson,
    subscribers.csv, provisioning.csv, catalog.yaml and truth.ndjson (one line per injected
    fault). Money in JSON lines is a decimal string with 6 decimals ("0.123400"), timestamps
    are RFC 3339 UTC with `Z`. The same arguments always give byte-identical files, whatever
    the number of `workers` (processes simulating chunks of subscribers side by side;
    default: one per CPU, at most one per chunk).
    Raises ValueError (one line) for arguments that cannot be simulated.
    """
    out = Path(out)
    _check_arguments(out, subscribers, days, seed, start, fault_rate, workers)
    out.mkdir(parents=True, exist_ok=True)
    settings = _Settings(subscribers, days, seed, start, fault_rate, revenue_calendar, churn_mode)
    catalog_text = yaml.safe_dump(catalog_document(), sort_keys=False, width=120)
    (out / "catalog.yaml").write_text(catalog_text, encoding="ascii", newline="\n")

    size = max(1, min(subscribers, CHUNK_EVENTS // (days * EVENTS_PER_SUBSCRIBER_DAY)))
    chunks = [(number, first, min(size, subscribers - first))
              for number, first in enumerate(range(0, subscribers, size))]
    workers = min(workers or os.cpu_count() or 1, len(chunks))
    totals = _Totals(settings)
    totals.lines["catalog.yaml"] = catalog_text.count("\n")
    bar = _progress_bar(progress)
    with bar if bar is not None else nullcontext(), ExitStack() as files:
        task = bar.add_task("simulating subscribers", total=subscribers) if bar is not None else None
        handles = _open_outputs(out, files)
        if churn_mode:  # churn (issue 23): its truth file only when asked for
            handles[churn.CHURN_FILE] = files.enter_context(
                open(out / churn.CHURN_FILE, "w", encoding="ascii", newline="\n", buffering=1 << 20))
        if workers == 1:
            advance = (lambda done: bar.advance(task, done)) if bar is not None else None
            outputs = (_simulated_chunk(settings, *chunk, advance=advance) for chunk in chunks)
        else:
            pool = files.enter_context(ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn")))
            outputs = pool.map(_simulated_chunk, *zip(*[(settings, *chunk) for chunk in chunks]))
        for (_, _, count), output in zip(chunks, outputs):
            totals.add(output, handles)
            if bar is not None and workers > 1:
                bar.advance(task, count)
        totals.finish(handles)
    return totals.summary(out)


@dataclasses.dataclass(frozen=True)
class _Settings:
    """The arguments every chunk is simulated from."""

    subscribers: int
    days: int
    seed: int
    start: date
    fault_rate: float
    revenue_calendar: bool = False   # month-start bump and tariff step (simulator/revenue_calendar.py)
    churn_mode: bool = False         # leaving driven by observable causes (simulator/churn.py)


@dataclasses.dataclass(frozen=True)
class _ChunkOutput:
    """What one chunk produced: text per output file and its counts."""

    text: dict[str, str]
    lines: dict[str, int]
    faults: dict[str, int]
    populations: dict[str, int]
    gap_amount: list[Decimal]
    gap_records: list[int]
    cut_amount: list[Decimal] = dataclasses.field(default_factory=list)


def _simulated_chunk(settings: _Settings, number: int, first: int, count: int,
                     advance: Callable[[int], None] | None = None) -> _ChunkOutput:
    """Chunk `number` (subscribers first .. first+count-1): a pure function of its
    arguments, so chunks can be simulated in any process and in any order."""
    chunk = _Chunk(settings, number)
    if advance is not None:
        chunk.advance = advance
    chunk.chunk(number, first, count)
    return chunk.output()


def _open_outputs(out: Path, files: ExitStack) -> dict[str, TextIO]:
    handles = {}
    for name in OUTPUT_FILES:
        if name != "catalog.yaml":
            # newline="\n" keeps the bytes identical on every platform
            handles[name] = files.enter_context(
                open(out / name, "w", encoding="ascii", newline="\n", buffering=1 << 20))
    handles["subscribers.csv"].write(csv_line(SUBSCRIBER_COLUMNS))
    handles["provisioning.csv"].write(csv_line(PROVISIONING_COLUMNS))
    return handles


class _Totals:
    """Counts over all chunks, and the element outages that span them."""

    def __init__(self, settings: _Settings):
        self.settings = settings
        self.gaps, outage_populations = _element_gaps(settings)
        self.gap_amount = [ZERO] * len(self.gaps)
        self.gap_records = [0] * len(self.gaps)
        self.lines = {name: 0 for name in OUTPUT_FILES + ((churn.CHURN_FILE,) if settings.churn_mode else ())}
        self.faults = {kind: 0 for kind in FAULT_KINDS + anomalies.ANOMALY_KINDS}
        self.populations = {kind: 0 for kind in FAULT_KINDS + anomalies.ANOMALY_KINDS}
        self.cuts = _truncations(settings)
        self.cut_amount = [ZERO] * len(self.cuts)
        self.populations["element_gap"] = sum(outage_populations.values())
        self.populations["volume_truncation"] = len(anomalies.PGW) if settings.fault_rate > 0 else 0

    def add(self, output: _ChunkOutput, handles: dict[str, TextIO]) -> None:
        for name, text in output.text.items():
            handles[name].write(text)
        for totals, counts in ((self.lines, output.lines), (self.faults, output.faults),
                               (self.populations, output.populations)):
            for key, count in counts.items():
                totals[key] += count
        self.gap_amount = [a + b for a, b in zip(self.gap_amount, output.gap_amount)]
        self.gap_records = [a + b for a, b in zip(self.gap_records, output.gap_records)]
        self.cut_amount = [a + b for a, b in zip(self.cut_amount, output.cut_amount)]

    def finish(self, handles: dict[str, TextIO]) -> None:
        """The element_gap truth: known only once every chunk has lost its records."""
        for g in range(len(self.gaps)):
            handles["truth.ndjson"].write(truth_line(
                "element_gap", element_id=ELEMENTS[self.gaps.element[g]],
                interval_start=rfc3339(self.gaps.start[g]), interval_end=rfc3339(self.gaps.end[g]),
                amount=self.gap_amount[g], records=self.gap_records[g],
                outage="silence" if self.gaps.is_silence(g) else "partial_drop",
                lost_share=f"{self.gaps.lost_share[g]:.2f}"))
            self.faults["element_gap"] += 1
            self.lines["truth.ndjson"] += 1
        lines = anomalies.truncation_truth(self.cuts, self.cut_amount, _period_end(self.settings))
        handles["truth.ndjson"].write("".join(lines))
        self.faults["volume_truncation"] += len(lines)
        self.lines["truth.ndjson"] += len(lines)

    def summary(self, out: Path) -> SimulationSummary:
        s = self.settings
        return SimulationSummary(
            out=out, subscribers=s.subscribers, days=s.days, seed=s.seed,
            fault_rate=s.fault_rate, files=dict(self.lines), faults=dict(self.faults),
            populations=dict(self.populations))


def _element_gaps(settings: _Settings) -> tuple[ElementOutages, dict[str, int]]:
    midnights = local_midnights(settings.start, settings.days)
    return element_outages(np.random.default_rng([settings.seed, 0]), midnights, settings.subscribers,
                           settings.start, settings.fault_rate)


def _period_end(settings: _Settings) -> int:
    return int(local_midnights(settings.start, settings.days)[-1])


def _truncations(settings: _Settings) -> anomalies.Truncations:
    midnights = local_midnights(settings.start, settings.days)
    return anomalies.truncations(settings.seed, int(midnights[0]), int(midnights[-1]), settings.fault_rate)


def _check_arguments(out: Path, subscribers: int, days: int, seed: int, start: date,
                     fault_rate: float, workers: int | None) -> None:
    if not isinstance(subscribers, int) or subscribers < 1:
        raise ValueError(f"subscribers must be a whole number of at least 1, not {subscribers!r}")
    if subscribers > 100_000_000:
        raise ValueError(f"subscribers must be at most 100,000,000 (own number range), not {subscribers}")
    if not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of at least 1, not {days!r}")
    if days > 366:
        raise ValueError(f"days must be at most 366, not {days}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, not {seed!r}")
    if not isinstance(start, date) or isinstance(start, datetime):
        raise ValueError(f"start must be a date, not {start!r}")
    if not 0 <= fault_rate <= 0.5:
        raise ValueError(f"fault rate must be between 0 and 0.5, not {fault_rate}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} exists and is not a directory")
    if out.is_dir():
        strangers = sorted(p.name for p in out.iterdir() if p.name not in OUTPUT_FILES + (churn.CHURN_FILE,))
        if strangers:
            raise ValueError(f"output directory {out} is not empty and does not look like a "
                             f"previous simulation (it holds {strangers[0]})")


def _progress_bar(progress: bool):
    if not progress:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    return Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), transient=True)


@dataclasses.dataclass
class _Counters:
    records: int = 0   # record ids handed out (network events and phantoms)
    bills: int = 0
    adjustments: int = 0


class _Chunk:
    """One chunk of subscribers simulated: its lines and counts, ids scoped by chunk."""

    def __init__(self, settings: _Settings, number: int):
        self.catalog = catalog_document()
        self.subscribers, self.days, self.seed = settings.subscribers, settings.days, settings.seed
        self.start, self.fault_rate = settings.start, settings.fault_rate
        self.traffic_chunk = calendar_traffic if settings.revenue_calendar else traffic_chunk
        self.midnights = local_midnights(self.start, self.days)
        self.period_start, self.period_end = int(self.midnights[0]), int(self.midnights[-1])
        self.plans = {str(p["id"]): p for p in self.catalog["plans"]}
        self.gaps, _ = _element_gaps(settings)
        self.causes = causes.fault_causes(settings.seed, self.midnights)  # issue 23: why faults happen
        self.gap_amount = [ZERO] * len(self.gaps)
        self.gap_records = [0] * len(self.gaps)
        # ids are unique across chunks by their chunk prefix, so chunks are independent
        self.id_prefix = f"{number:05d}"
        self.ids = _Counters()
        self.text: dict[str, list[str]] = {name: [] for name in OUTPUT_FILES if name != "catalog.yaml"}
        self.lines = {name: 0 for name in OUTPUT_FILES}
        self.faults = {kind: 0 for kind in FAULT_KINDS + anomalies.ANOMALY_KINDS}
        self.populations = {kind: 0 for kind in FAULT_KINDS + anomalies.ANOMALY_KINDS}
        self.cuts, self.cut_amount = _truncations(settings), []
        self.churn_mode = settings.churn_mode
        self.topups_stop_at = None
        if self.churn_mode:
            self.text[churn.CHURN_FILE] = []
            self.lines[churn.CHURN_FILE] = 0
        self.advance: Callable[[int], None] = lambda done: None

    def write(self, name: str, lines: list[str]) -> None:
        self.text[name].append("".join(lines))
        self.lines[name] += len(lines)

    def truth(self, kind: str, **keys) -> str:
        self.faults[kind] += 1
        return truth_line(kind, **keys)

    def note_anomalies(self, injected: anomalies.Injected) -> None:
        for kind, count in injected.counts.items():
            self.faults[kind] += count
        for kind, count in injected.populations.items():
            self.populations[kind] += count

    def output(self) -> _ChunkOutput:
        return _ChunkOutput(
            text={name: "".join(parts) for name, parts in self.text.items()},
            lines=self.lines, faults=self.faults, populations=self.populations,
            gap_amount=self.gap_amount, gap_records=self.gap_records, cut_amount=self.cut_amount)

    # -- one chunk -------------------------------------------------------------------------

    def chunk(self, number: int, first: int, count: int) -> None:
        rng = np.random.default_rng([self.seed, 1, number])
        subs = subscribers_chunk(rng, first, count, self.period_start, self.period_end)
        if self.churn_mode:
            subs = churn.staying(subs)

        # Ghosts: active in billing, never provisioned, so the network carries nothing of theirs.
        billing_active = subs.status == ACTIVE
        ghost = billing_active & (rng.random(count) < self.fault_rate)
        self.populations["ghost_subscriber"] += int(billing_active.sum())
        subs = dataclasses.replace(subs, activity=np.where(ghost, 0.0, subs.activity))

        traffic = self.traffic_chunk(rng, subs, self.start, self.days)
        churn_plan = None
        if self.churn_mode:  # its own random stream: the other draws of the chunk keep theirs
            subs, traffic, churn_plan = churn.apply_churn(
                np.random.default_rng([self.seed, 23, number]), subs, traffic, self.midnights)
            self.write(churn.CHURN_FILE, churn_plan.truth)
        injected = anomalies.inject(subs, traffic, self.catalog, self.seed, number, self.midnights,
                                    self.fault_rate, self.cuts)
        subs, traffic, self.cut_amount = injected.subscribers, injected.traffic, injected.truncation_amounts
        # a draw per event of its own stream, so partial drops shift no other draw
        gap = self.gaps.lost(traffic.element, traffic.start,
                             np.random.default_rng([self.seed, 2, number]).random(len(traffic)))

        # Unbilled subscribers: on the network with usage, missing from billing.
        survivors = np.bincount(traffic.subscriber[gap < 0], minlength=count)
        eligible = billing_active & ~ghost & (survivors > 0)
        unbilled_sub = eligible & (rng.random(count) < self.fault_rate)
        self.populations["unbilled_subscriber"] += int(eligible.sum())

        rows = self._reference_rows(subs, ghost, unbilled_sub)
        adjustments = self._scheduled_adjustments(rng, subs, unbilled_sub | ghost)
        if churn_plan is not None:
            adjustments = churn.without_stopped_topups(adjustments, churn_plan)
            self.topups_stop_at = churn_plan.topups_stop_at
        truth: list[str] = list(injected.truth)
        self.note_anomalies(injected)
        for i in np.flatnonzero(ghost).tolist():
            truth.append(self.truth("ghost_subscriber", msisdn=str(subs.msisdn[i])))

        network, billed, adjustment_lines, unbilled_counts = self._bill(
            rng, subs, traffic, gap, rows, unbilled_sub, adjustments, truth)
        for i in np.flatnonzero(unbilled_sub).tolist():
            truth.append(self.truth("unbilled_subscriber", msisdn=str(subs.msisdn[i]),
                                    records=unbilled_counts.get(i, 0)))

        self.write("subscribers.csv", [csv_line(tuple(row[c] for c in SUBSCRIBER_COLUMNS))
                                       for row in rows.values()])
        self.write("provisioning.csv", [
            csv_line((str(subs.msisdn[i]), str(subs.imsi[i]), STATUSES[subs.status[i]],
                      rfc3339(subs.provisioned_at[i])))
            for i in np.flatnonzero(~ghost).tolist()])
        self.write("network.ndjson", [network[j] for j in traffic.arrival.tolist() if network[j]])
        billed.sort()
        self.write("billed.ndjson", [line for _, _, line in billed])
        adjustment_lines.sort()
        self.write("adjustments.ndjson", [line for _, _, line in adjustment_lines])
        self.write("truth.ndjson", truth)

    def _reference_rows(self, subs: Subscribers, ghost: np.ndarray,
                        unbilled_sub: np.ndarray) -> dict[str, dict[str, str]]:
        """subscribers.csv rows of the chunk (billing's view), keyed by msisdn."""
        rows = {}
        for i in np.flatnonzero(~unbilled_sub).tolist():
            msisdn = str(subs.msisdn[i])
            prepaid = bool(subs.prepaid[i])
            rows[msisdn] = {
                "msisdn": msisdn,
                "account_id": f"AC{subs.index[i] + 1:08d}",
                "plan_id": PLAN_IDS[subs.plan[i]],
                "payment": "prepaid" if prepaid else "postpaid",
                "status": STATUSES[subs.status[i]],
                "activated_at": rfc3339(subs.activated_at[i]),
                "cycle_day": str(int(subs.cycle_day[i])),
                "balance": f"{Decimal(int(subs.balance_cents[i])) / 100:.2f}" if prepaid else "",
                "credit_limit": "" if prepaid else f"{int(subs.credit_limit[i])}.00",
                "segment": SEGMENTS[subs.segment[i]],
            }
        return rows

    def _scheduled_adjustments(self, rng: np.random.Generator, subs: Subscribers,
                               unknown: np.ndarray) -> list[list[tuple[int, str, Decimal, str]]]:
        """Per subscriber, planned top-ups and goodwill credits as (time, id, amount, kind)."""
        planned: list[list[tuple[int, str, Decimal, str]]] = [[] for _ in range(len(subs))]
        takers = subs.prepaid & ~unknown & (subs.activity > 0)
        lo = np.maximum(subs.activated_at, self.period_start)
        hi = np.minimum(subs.terminated_at, self.period_end)
        for per_day, amounts, share, kinds in (
                (TOPUPS_PER_DAY, [Decimal(a) for a in TOPUP_AMOUNTS], TOPUP_SHARE, ("topup",)),
                (GOODWILL_PER_DAY, [Decimal(a) for a in GOODWILL_AMOUNTS], None, ("refund", "credit"))):
            counts = np.where(takers & (hi > lo), rng.poisson(per_day * self.days, size=len(subs)), 0)
            who = np.repeat(np.arange(len(subs)), counts)
            span = (hi[who] - lo[who]).astype(float)
            when = lo[who] + (rng.random(len(who)) * span).astype(np.int64)
            amount = rng.choice(len(amounts), size=len(who), p=share)
            kind = rng.integers(0, len(kinds), size=len(who))
            for i, t, a, k in zip(who.tolist(), when.tolist(), amount.tolist(), kind.tolist()):
                planned[i].append((t, self._adjustment_id(), amounts[a], kinds[k]))
        for queue in planned:
            queue.sort()
        return planned

    def _adjustment_id(self) -> str:
        self.ids.adjustments += 1
        return f"T{self.id_prefix}{self.ids.adjustments:07d}"

    def _record_id(self) -> str:
        self.ids.records += 1
        return f"R{self.id_prefix}{self.ids.records:07d}"

    def _bill_id(self) -> str:
        self.ids.bills += 1
        return f"B{self.id_prefix}{self.ids.bills:07d}"

    def _bill(self, rng: np.random.Generator, subs: Subscribers, traffic: Traffic,
              gap: np.ndarray, rows: dict[str, dict[str, str]], unbilled_sub: np.ndarray,
              adjustments: list[list[tuple[int, str, Decimal, str]]], truth: list[str]):
        """Online charging, mediation loss, billing and faults, subscriber by subscriber in
        arrival order. Returns network lines by event position, billed and adjustment
        lines with sort keys, and network record counts of unbilled subscribers."""
        n = len(traffic)
        rater = ReferenceRater(self.catalog, rows)
        rate = self.fault_rate
        draws = rng.random((n, 10)).tolist()
        delays = np.minimum(rng.lognormal(np.log(BILLING_DELAY_MEDIAN_S), 1.2, size=n),
                            BILLING_SLA_S - 1).astype(np.int64).tolist()
        service_of = traffic.service.tolist()
        start_of = traffic.start.tolist()
        duration_of = traffic.duration_s.tolist()
        volume_of = traffic.volume_bytes.tolist()
        destination_of = traffic.destination.tolist()
        visited_of = traffic.visited.tolist()
        element_of = traffic.element.tolist()
        cell_of = traffic.cell.tolist()
        gap_of = gap.tolist()
        cause_of = causes.chunk_thresholds(self.causes, traffic, subs.plan, ~unbilled_sub, gap, rate)
        bounds = np.searchsorted(traffic.subscriber, np.arange(len(subs) + 1)).tolist()
        record_ids = [self._record_id() for _ in range(n)]

        network: list[str | None] = [None] * n
        billed: list[tuple[int, str, str]] = []
        adjustment_lines: list[tuple[int, str, str]] = []
        unbilled_counts: dict[int, int] = {}

        for s in range(len(subs)):
            if s % PROGRESS_STEP == PROGRESS_STEP - 1:
                self.advance(PROGRESS_STEP)
            msisdn = str(subs.msisdn[s])
            known = not unbilled_sub[s]
            prepaid = known and bool(subs.prepaid[s])
            queue = list(adjustments[s])
            for t, adjustment_id, amount, kind in queue:
                adjustment_lines.append((t, adjustment_id,
                                         adjustment_line(adjustment_id, msisdn, amount, t, kind)))
            leaves_at = min(int(subs.terminated_at[s]), self.period_end)
            if self.topups_stop_at is not None:  # churn mode: no top-up at all once they stopped
                leaves_at = min(leaves_at, int(self.topups_stop_at[s]))
            topup_pending = False
            plan = self.plans[PLAN_IDS[subs.plan[s]]]
            discount = Decimal(str(plan.get("overage_discount_percent", "0")))
            for j in range(bounds[s], bounds[s + 1]):
                t = start_of[j]
                while queue and queue[0][0] <= t:
                    rater.adjust(msisdn, queue.pop(0)[2])
                    topup_pending = False
                service = SERVICES[service_of[j]]
                visited = visited_of[j]
                record = {
                    "record_id": record_ids[j], "msisdn": msisdn, "service": service,
                    "start_time": datetime.fromtimestamp(t, timezone.utc), "stamp": rfc3339(t),
                    "duration_s": duration_of[j], "volume_bytes": volume_of[j],
                    "destination": str(destination_of[j]) if destination_of[j] else "",
                    "roaming_mccmnc": VISITED_NETWORKS[visited] if visited >= 0 else "",
                }
                g = gap_of[j]
                if not known:
                    if g >= 0:
                        self.gap_records[g] += 1
                    else:
                        network[j] = self._network_line(record, element_of[j], cell_of[j])
                        unbilled_counts[s] = unbilled_counts.get(s, 0) + 1
                    continue

                if prepaid:
                    quote = rater.rate(record, commit=False)
                    if quote.unfunded > 0:
                        if g < 0:
                            self.populations["unfunded_usage"] += 1
                        if g >= 0 or draws[j][4] >= rate:
                            # the online charging refuses it: it never happens
                            if not topup_pending:
                                topup_pending = self._reactive_topup(
                                    rng, msisdn, t, leaves_at, queue, adjustment_lines)
                            continue
                        rating = rater.rate(record)
                        network[j] = self._network_line(record, element_of[j], cell_of[j])
                        bill_id = self._bill_id()
                        self._emit_bill(billed, bill_id, record, rating.charge, t + delays[j])
                        truth.append(self.truth(
                            "unfunded_usage", record_id=record_ids[j], bill_record_id=bill_id,
                            msisdn=msisdn,
                            amount=unfunded_amount(rating.unfunded, rating.charge, rating.total)))
                        continue
                if g >= 0:
                    lost = rater.rate(record, commit=False)
                    self.gap_records[g] += 1
                    self.gap_amount[g] += lost.charge
                    continue

                network[j] = self._network_line(record, element_of[j], cell_of[j])
                is_voice = service == "voice"
                quantity = duration_of[j] if is_voice else volume_of[j]
                kind, considered, cause = causes.caused_record_fault(
                    draws[j][:4], [cause_of[k][j] for k in range(4)], service == "sms" or quantity > 0,
                    service != "sms" and quantity > 0)
                for name in considered:
                    self.populations[name] += 1
                self.populations["phantom_billing"] += 1

                late = causes.PARTNER_EXTRA_DELAY_S if causes.is_late_partner(self.causes, visited) else 0
                truth += self._bill_record(rater, billed, record, kind, quantity, discount,
                                           t + min(delays[j] + late, BILLING_SLA_S - 1), draws[j], cause)
                if draws[j][7] < rate:
                    truth.append(self._phantom(rater, billed, record, t, draws[j]))
        self.advance(len(subs) % PROGRESS_STEP)
        return network, billed, adjustment_lines, unbilled_counts

    def _bill_record(self, rater: ReferenceRater, billed: list, record: dict, kind: str,
                     quantity: int, discount: Decimal, billed_at: int, draw: list[float],
                     cause: int = causes.NOISE) -> list[str]:
        """Bill one network record correctly, then alter the billing by its fault `kind`
        (or not, for ""). The rater's state always advances by the correct rating. Returns
        the truth lines of the fault."""
        msisdn, record_id = record["msisdn"], record["record_id"]
        why = {"cause": causes.CAUSES[cause], "cause_key": self.causes.cause_key(cause)}
        is_voice = record["service"] == "voice"
        if kind == "usage_mismatch":
            # the billing system saw another quantity, from the same state before the record
            altered = dict(record)
            altered["duration_s" if is_voice else "volume_bytes"] = altered_quantity(
                quantity, is_voice, draw[5], draw[6])
            altered_charge = rater.rate(altered, commit=False).charge
        correct = rater.rate(record).charge

        if kind == "unbilled":
            return [self.truth("unbilled", record_id=record_id, msisdn=msisdn, amount=correct, **why)]
        if kind == "duplicate_billing":
            self._emit_bill(billed, self._bill_id(), record, correct, billed_at)
            extra = self._bill_id()
            self._emit_bill(billed, extra, record, correct, billed_at + 3600 + int(draw[5] * 47 * 3600))
            return [self.truth("duplicate_billing", record_id=record_id, bill_record_id=extra,
                               msisdn=msisdn, amount=-correct, **why)]
        bill_id = self._bill_id()
        if kind == "misrated":
            unpriced = rater.rate(record, commit=False, use_allowance=False).charge \
                if correct == 0 else ZERO
            wrong = misrated_charge(correct, unpriced, discount, draw[5], draw[6])
            if cause == causes.MISPRICED and correct > 0:
                wrong = causes.mispriced_charge(correct, self.causes.misprice_factor)
            self._emit_bill(billed, bill_id, record, wrong, billed_at)
            return [self.truth("misrated", record_id=record_id, bill_record_id=bill_id,
                               msisdn=msisdn, amount=correct - wrong, **why)]
        if kind == "usage_mismatch":
            self._emit_bill(billed, bill_id, altered, altered_charge, billed_at)
            return [self.truth("usage_mismatch", record_id=record_id, bill_record_id=bill_id,
                               msisdn=msisdn, amount=correct - altered_charge, **why)]
        self._emit_bill(billed, bill_id, record, correct, billed_at)
        return []

    def _reactive_topup(self, rng: np.random.Generator, msisdn: str, refused_at: int,
                        leaves_at: int, queue: list, adjustment_lines: list) -> bool:
        """Maybe a top-up some hours after usage was refused; whether one was scheduled."""
        if rng.random() >= REACTIVE_TOPUP_SHARE:
            return False
        when = refused_at + 60 + int(rng.exponential(3 * 3600))
        amount = Decimal(TOPUP_AMOUNTS[int(rng.integers(0, len(TOPUP_AMOUNTS)))])
        if when >= leaves_at:
            return False
        adjustment_id = self._adjustment_id()
        bisect.insort(queue, (when, adjustment_id, amount, "topup"))
        adjustment_lines.append((when, adjustment_id,
                                 adjustment_line(adjustment_id, msisdn, amount, when, "topup")))
        return True

    def _phantom(self, rater: ReferenceRater, billed: list, record: dict, t: int,
                 draw: list[float]) -> str:
        """An invented premium call billed shortly after a real record of the subscriber."""
        when = t + 60 + int(draw[8] * 7200)
        invented = {
            "record_id": self._record_id(), "msisdn": record["msisdn"], "service": "voice",
            "start_time": datetime.fromtimestamp(when, timezone.utc), "stamp": rfc3339(when),
            "duration_s": 30 + int(draw[9] * 570), "volume_bytes": 0,
            "destination": str(449090000000 + int(draw[8] * 1e7)),
            "roaming_mccmnc": record["roaming_mccmnc"],
        }
        charge = rater.rate(invented, commit=False).charge
        bill_id = self._bill_id()
        self._emit_bill(billed, bill_id, invented, charge,
                        when + BILLING_DELAY_MEDIAN_S + int(draw[4] * 3600))
        return self.truth("phantom_billing", record_id=invented["record_id"],
                          bill_record_id=bill_id, msisdn=record["msisdn"], amount=-charge)

    @staticmethod
    def _network_line(record: dict, element: int, cell: int) -> str:
        return network_line(record["record_id"], record["msisdn"], record["service"],
                            record["stamp"],
                            record["duration_s"], record["volume_bytes"], record["destination"],
                            record["roaming_mccmnc"], ELEMENTS[element],
                            f"23415-{cell}" if cell else "")

    @staticmethod
    def _emit_bill(billed: list, bill_id: str, record: dict, charge: Decimal,
                   billed_at: int) -> None:
        billed.append((billed_at, bill_id, billed_line(
            bill_id, record["record_id"], record["msisdn"], record["service"], record["stamp"],
            record["duration_s"], record["volume_bytes"], charge, billed_at)))

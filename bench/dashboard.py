"""Every page of the analysts' app rendered in headless Debian Chromium, on the demo store and
on a store of 10,000,000 network records, beside a bare Streamlit page in the same browser.

    .venv/bin/python -m bench.dashboard [--records 10000000] [--runs 10] [--dir DIR] [--demo-only]

Stores:
- demo: what `revguard demo` builds (2,000 subscribers, 7 days, seed 1, 1 % faults), simulated,
  loaded, rated and reconciled; the prioritisation figure (share of the injected leakage money
  in the 50 largest leakage alarms) is measured on it against truth.ndjson.
- large: a copy of the demo store replicated inside ClickHouse (INSERT ... SELECT) until it holds
  `--records` network records: every copy is the demo operator again with new subscribers
  (msisdn shifted by k * 10^10, account and IMSI suffixed) and new record, bill, finding,
  adjustment and alert ids (R000012345678 becomes R0k0012345678: ids keep their format and a
  copy's sort after the originals, as a growing store's new records do), over the same 7 days. Every usage, billing, rating, finding, alert,
  balance and reject row is copied, so the findings are what reconcile would find on the copy.

Timings (seconds from navigation, or from the click, to a page whose script finished with no
skeleton left, as tests/fixtures/browser.py waits for it):
- warm: the page opened again (new browser session; its query results cached, TTL 60 s);
- cold: "Refresh data" clicked on the page (every cached query runs again on the store);
- first: the first page after the app's server started (imports, client, migrations);
- baseline: a one-line Streamlit page on its own server, opened the same way (the floor).
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.browser import CHROMIUM, CHROMIUM_FLAGS, free_port, rendered  # noqa: E402

console = Console(width=120)  # the timing tables need their column names whole
DEMO = {"subscribers": 2000, "days": 7, "seed": 1, "fault_rate": 0.01}
TOP_ALARMS = 50

# Columns that identify a row (suffixed per copy) and columns holding a subscriber's number
# (shifted per copy, so it stays digits); every other column is copied as it is.
_ID_COLUMNS = {"record_id", "bill_record_id", "finding_id", "adjustment_id", "alert_id", "account_id", "imsi",
               "last_record_id"}
_MSISDN_COLUMNS = {"msisdn"}
_REPLICATED = ("network_usage", "billed_usage", "rated_usage", "discrepancies", "subscribers", "provisioning",
               "balances", "adjustments", "alerts", "rejects")
_BASELINE_APP = 'import streamlit as st\nst.title("baseline")\nst.write("one line of text")\n'
_PAGE_RENDER_MS = 180_000


@dataclass(frozen=True)
class Served:
    url: str
    store_url: str


def build_demo_store(root: Path) -> Path:
    """The demo's store in root/demo (its sim files in root/demo/sim); returns the home."""
    from assurance.reconcile import reconcile
    from clickhouse.client import close_store_clients, store_client
    from clickhouse.migrations import migrate
    from flows.load import load_directory
    from flows.simulator import simulate

    home = root / "demo"
    started = time.perf_counter()
    simulate(home / "sim", subscribers=DEMO["subscribers"], days=DEMO["days"], seed=DEMO["seed"],
             fault_rate=DEMO["fault_rate"], progress=True)
    client = store_client(f"chdb://{home / 'chdb'}")
    migrate(client)
    load_directory(client, home / "sim", progress=True)
    reconcile(client, progress=True)
    close_store_clients()  # the endpoint process opens the directory next
    console.print(f"demo store built in {time.perf_counter() - started:.0f} s")
    return home


def replication_sql(table: str, columns: list[str]) -> str:
    """INSERT ... SELECT copying every original row of `table` (kept in bench_base) once per k in
    [first, first + copies)."""
    def expression(column: str) -> str:
        if column in _ID_COLUMNS or (table == "rejects" and column == "source"):
            # R000012345678 -> R0k0012345678: the simulator's own format, and a copy's ids sort
            # after the originals as a growing store's do (new ids, new key ranges, new parts).
            return (f"multiIf({column} = '', '', match({column}, '^[A-Z][0-9]{{12}}$'), "
                    f"concat(substring({column}, 1, 1), leftPad(toString(toUInt64(substring({column}, 2)) "
                    f"+ k * 1000000000), 12, '0')), concat({column}, '.', toString(k)))")
        if column in _MSISDN_COLUMNS:
            return (f"if(match({column}, '^[0-9]{{6,15}}$'), "
                    f"toString(toUInt64({column}) + k * 10000000000), {column})")
        return column

    names = ", ".join(columns)
    chosen = ", ".join(expression(column) for column in columns)
    return (f"INSERT INTO revguard.{table} ({names}) SELECT {chosen} FROM bench_base.{table} "
            "CROSS JOIN (SELECT number + {first:UInt64} AS k FROM numbers({copies:UInt64})) AS copies")


def replicate(client, records: int) -> int:
    """Copies of the store's rows until network_usage holds at least `records`; the count."""
    base = int(client.query("SELECT count() FROM revguard.network_usage").result_rows[0][0])
    copies = max(0, math.ceil(records / base) - 1)
    started = time.perf_counter()
    client.command("CREATE DATABASE IF NOT EXISTS bench_base")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replicating the demo operator", total=copies * len(_REPLICATED))
        for table in _REPLICATED:
            columns = [row[0] for row in client.query(
                "SELECT name FROM system.columns WHERE database = 'revguard' AND table = {t:String} ORDER BY position",
                parameters={"t": table}).result_rows]
            # The originals apart, so that each batch copies them and never an earlier copy.
            client.command(f"CREATE TABLE bench_base.{table} ENGINE = MergeTree ORDER BY tuple() "
                           f"AS SELECT * FROM revguard.{table}")
            sql = replication_sql(table, columns)
            batch = 4
            for first in range(1, copies + 1, batch):
                count = min(batch, copies + 1 - first)
                client.command(sql, parameters={"first": first, "copies": count})
                progress.advance(task, count)
    client.command("DROP DATABASE bench_base")
    total = int(client.query("SELECT count() FROM revguard.network_usage").result_rows[0][0])
    console.print(f"replicated {copies} copies in {time.perf_counter() - started:.0f} s: {total:,} network records")
    return total


@contextmanager
def serving(home: Path, log_dir: Path) -> Iterator[Served]:
    """The embedded endpoint on `home` and the app on it; both stopped on exit."""
    from dashboards.launch import start_app, wait_until_serving
    from tests.fixtures.store import start_endpoint, stop_endpoint

    endpoint_process, endpoint = start_endpoint(home, timeout=300)
    app = None
    try:
        port = free_port()
        app = start_app("127.0.0.1", port, endpoint.url, log=log_dir / f"streamlit-{home.name}.log")
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, app)
        yield Served(url=url, store_url=endpoint.url)
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=15)
        stop_endpoint(endpoint_process)


@contextmanager
def baseline_server(work: Path) -> Iterator[str]:
    script = work / "baseline_app.py"
    script.write_text(_BASELINE_APP)
    port = free_port()
    from dashboards.launch import wait_until_serving

    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
                                "--server.port", str(port), "--server.headless", "true",
                                "--browser.gatherUsageStats", "false"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def visit(tab, url: str) -> float:
    began = time.perf_counter()
    tab.goto(url)
    rendered(tab, _PAGE_RENDER_MS)
    return time.perf_counter() - began


_WATCH_RUN = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    window.__benchRan = false; window.__benchRunning = false;
    new MutationObserver(() => {
        const state = app.getAttribute("data-test-script-state");
        if (state === "running") window.__benchRunning = true;
        if (window.__benchRunning && state === "notRunning") window.__benchRan = true;
    }).observe(app, {attributes: true});
}"""


def refreshed(tab) -> float:
    """Seconds from clicking "Refresh data" to the page rendered again from the store."""
    tab.evaluate(_WATCH_RUN)
    began = time.perf_counter()
    tab.get_by_role("button", name="Refresh data").click()
    tab.wait_for_function("() => window.__benchRan === true", timeout=_PAGE_RENDER_MS)
    rendered(tab, _PAGE_RENDER_MS)
    return time.perf_counter() - began


def page_urls(served: Served) -> list[tuple[str, str]]:
    """(name, address) of every page; the subscriber page opened on the subscriber with the most
    money in findings (its data, not the empty search box, is what costs)."""
    from clickhouse.client import store_client
    from dashboards.navigation import PAGES
    from dashboards.queries.subscriber import EXAMPLES

    client = store_client(served.store_url)
    top = client.query(EXAMPLES).result_rows
    pages = []
    for entry in PAGES:
        address = f"{served.url}/{'' if entry is PAGES[0] else entry.url_path}"
        if entry.url_path == "subscriber" and top:
            address += f"?msisdn={top[0][0]}"
        pages.append((entry.url_path, address))
    return pages


def screenshots(browser, served: Served, directory: Path) -> list[Path]:
    """One full-page screenshot of every page (tall viewport: Streamlit scrolls inside itself)."""
    directory.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1600, "height": 2200})
    tab = context.new_page()
    saved = []
    for name, address in page_urls(served):
        visit(tab, address)
        path = directory / f"demo-{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        saved.append(path)
    context.close()
    return saved


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q * 100) - 1] if len(ordered) > 1 else ordered[0]


def time_pages(browser, served: Served, runs: int) -> tuple[float, dict[str, tuple[list[float], list[float]]]]:
    """(first visit, {page: (warm seconds, cold seconds)})."""
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    tab = context.new_page()
    pages = page_urls(served)
    first = visit(tab, pages[0][1])
    timings: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name, _ in pages}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rendering pages", total=runs * len(pages))
        for _ in range(runs):
            for name, address in pages:
                # "Refresh data" clears every page's cache: the untimed visit fills this page's again.
                visit(tab, address)
                timings[name][0].append(visit(tab, address))
                timings[name][1].append(refreshed(tab))
                progress.advance(task)
    context.close()
    return first, timings


def time_baseline(browser, url: str, runs: int) -> list[float]:
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    tab = context.new_page()
    visit(tab, url)
    seconds = [visit(tab, url) for _ in range(runs)]
    context.close()
    return seconds


def report(title: str, first: float, timings: dict[str, tuple[list[float], list[float]]], baseline: list[float]) -> None:
    base = statistics.median(baseline)
    table = Table(title=title, title_justify="left")
    for column in ("page", "warm p50 s", "warm p95 s", "cold p50 s", "cold p95 s", "all p95 s", "warm p50 / baseline"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for name, (warm, cold) in timings.items():
        table.add_row(name, f"{statistics.median(warm):.2f}", f"{quantile(warm, 0.95):.2f}", f"{statistics.median(cold):.2f}",
                      f"{quantile(cold, 0.95):.2f}", f"{quantile(warm + cold, 0.95):.2f}", f"{statistics.median(warm) / base:.1f} x")
    table.add_row("(baseline page)", f"{base:.2f}", f"{quantile(baseline, 0.95):.2f}", "", "", "", "1.0 x")
    console.print(table)
    console.print(f"first page after the server started: {first:.2f} s")


def prioritisation(home: Path, store_url: str) -> None:
    from assurance.alarms import leakage_in_top_alarms
    from clickhouse.client import store_client

    share = leakage_in_top_alarms(store_client(store_url), (home / "sim" / "truth.ndjson"), top=TOP_ALARMS)
    console.print(f"prioritisation: the {TOP_ALARMS} largest of {share.alarms} leakage alarms hold "
                  f"{share.captured:,.2f} of {share.injected:,.2f} injected leakage money ({share.share:.1%})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000, help="network records in the large store")
    parser.add_argument("--runs", type=int, default=10, help="renders per page and per state (warm, cold)")
    parser.add_argument("--dir", type=Path, default=None, help="where the stores go (default: a temp dir, removed)")
    parser.add_argument("--demo-only", action="store_true", help="skip the large store")
    parser.add_argument("--screenshots", type=Path, default=None, help="save a screenshot of every page on the demo store here")
    args = parser.parse_args(argv)
    if args.runs < 2:
        print("bench/dashboard.py: error: --runs must be at least 2", file=sys.stderr)
        return 2
    if not CHROMIUM.exists():
        print(f"bench/dashboard.py: error: {CHROMIUM} is missing (Debian package chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="revguard-bench-dashboard-", dir=args.dir))
    console.print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; stores in {work}")
    try:
        demo = build_demo_store(work)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
            try:
                with baseline_server(work) as url:
                    baseline = time_baseline(browser, url, args.runs)
                with serving(demo, work) as served:
                    prioritisation(demo, served.store_url)
                    first, timings = time_pages(browser, served, args.runs)
                    if args.screenshots:
                        for path in screenshots(browser, served, args.screenshots):
                            console.print(f"screenshot: {path}")
                report(f"demo store ({DEMO['subscribers']:,} subscribers, {DEMO['days']} days)", first, timings, baseline)
                if not args.demo_only:
                    large = work / "large"
                    shutil.copytree(demo / "chdb", large / "chdb", symlinks=True)  # chDB links metadata into store/
                    with serving(large, work) as served:
                        from clickhouse.client import store_client

                        records = replicate(store_client(served.store_url), args.records)
                        first, timings = time_pages(browser, served, args.runs)
                    report(f"large store ({records:,} network records)", first, timings, baseline)
            finally:
                browser.close()
        console.print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

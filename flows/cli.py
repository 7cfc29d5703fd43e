"""The `revguard` command line (SPEC section 5).

Each subcommand imports its machinery lazily so that `--help` stays fast. User
mistakes surface as one line on stderr and exit code 2 (`UsageFailure`, or one
of the domain errors listed in `_USER_ERRORS`), never as a traceback.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click


class UsageFailure(click.ClickException):
    """A mistake the user can fix: printed as one line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:  # one line, no usage block
        click.echo(f"revguard: error: {self.format_message()}", err=True)


# Domain errors meaning "the input or the setup is wrong", not "revguard is broken".
_USER_ERRORS = (
    ("clickhouse.errors", "StoreError"),
    ("rating.catalog", "CatalogError"),
    ("flows.errors", "InputError"),
)


def _is_user_error(exc: BaseException) -> bool:
    """True for errors a user can fix. Only rooms already imported can have raised one."""
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return True
    for module, name in _USER_ERRORS:
        error_type = getattr(sys.modules.get(module), name, None)
        if isinstance(error_type, type) and isinstance(exc, error_type):
            return True
    return False


def _timestamp(value: str | None, option: str) -> dt.datetime | None:
    """RFC 3339 or a plain date, as an aware UTC datetime."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageFailure(f"{option}: not a date or RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _store(ctx: click.Context):
    """The ClickHouse client for this invocation (flag, environment, endpoint or embedded)."""
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate

    client = store_client(ctx.obj.get("clickhouse_url"))
    migrate(client)
    return client


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="revguard")
@click.option(
    "--clickhouse-url",
    envvar="REVGUARD_CLICKHOUSE_URL",
    metavar="URL",
    help="http(s)://user:pass@host:8123/ or chdb:///abs/path; default: the embedded store "
    "under REVGUARD_HOME (./.revguard).",
)
@click.option(
    "--kafka-bootstrap",
    envvar="REVGUARD_KAFKA_BOOTSTRAP",
    metavar="HOST:PORT",
    help="Kafka bootstrap servers (security settings: REVGUARD_KAFKA_* variables).",
)
@click.pass_context
def cli(ctx: click.Context, clickhouse_url: str | None, kafka_bootstrap: str | None) -> None:
    """revguard: stream-processing revenue assurance for mobile operators and MVNOs."""
    ctx.ensure_object(dict)
    ctx.obj["clickhouse_url"] = clickhouse_url
    ctx.obj["kafka_bootstrap"] = kafka_bootstrap


@cli.command()
@click.option("--subscribers", default=2000, show_default=True, help="Simulated subscribers.")
@click.option("--days", default=7, show_default=True, help="Simulated days.")
@click.option("--seed", default=1, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the simulated files go (default: REVGUARD_HOME/demo).")
@click.pass_context
def demo(ctx: click.Context, subscribers: int, days: int, seed: int, out_dir: Path | None) -> None:
    """The main job on embedded defaults: simulate, rate, load, reconcile, report."""
    from flows.demo import run_demo

    run_demo(ctx.obj.get("clickhouse_url"), subscribers=subscribers, days=days, seed=seed, out_dir=out_dir)


@cli.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the simulated files into.")
@click.option("--subscribers", default=2000, show_default=True, type=int)
@click.option("--days", default=7, show_default=True, type=int)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--start", default="2026-11-01", show_default=True, help="First simulated day (YYYY-MM-DD).")
@click.option("--fault-rate", default=0.01, show_default=True, type=float,
              help="Share of each fault population that gets a fault.")
def simulate(out_dir: Path, subscribers: int, days: int, seed: int, start: str, fault_rate: float) -> None:
    """Write a simulated network, billing and reference data set with labelled faults."""
    from flows.simulator import simulate as run_simulation

    try:
        start_day = dt.date.fromisoformat(start)
    except ValueError:
        raise UsageFailure(f"--start: not a date (YYYY-MM-DD): {start!r}") from None
    try:
        summary = run_simulation(out_dir, subscribers=subscribers, days=days, seed=seed,
                                 start=start_day, fault_rate=fault_rate, progress=True)
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None
    from flows.report import print_simulation

    print_simulation(summary, out_dir)


@cli.command()
@click.option("--catalog", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--subscribers", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Network usage records, NDJSON.")
@click.option("--adjustments", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Balance adjustments, NDJSON; applied in time order among the records.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Rated records, NDJSON, one per input line in input order.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="Worker threads: subscribers are split between them; the output is the same.")
def rate(catalog: Path, subscribers: Path, input_path: Path, adjustments: Path | None, output: Path,
         workers: int) -> None:
    """Rate a file through the same dataflow as the stream."""
    from flows.rate_file import rate_file
    from flows.report import print_counts

    counts = rate_file(catalog=catalog, subscribers=subscribers, usage=input_path,
                       adjustments=adjustments, output=output, progress=True, workers=workers)
    print_counts(counts)


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--only", type=click.Choice(["reference"]), default=None,
              help="Load only the catalog, subscribers and provisioning.")
@click.pass_context
def load(ctx: click.Context, directory: Path, only: str | None) -> None:
    """Load a simulated or exported directory into ClickHouse, rating network records on the way."""
    from flows.load import load_directory
    from flows.report import print_load

    summary = load_directory(_store(ctx), directory, reference_only=only == "reference", progress=True)
    print_load(summary)


@cli.group()
def run() -> None:
    """Long-running streaming flows."""


@run.command("rating")
@click.option("--workers", "-w", default=1, show_default=True, help="Worker threads in this process.")
@click.option("--process-id", "-i", type=int, default=None, help="This process's index in a cluster (with --addresses).")
@click.option("--addresses", "-a", default=None, metavar="HOST:PORT;...",
              help="Every cluster process's address, ';'-separated, in process-id order.")
@click.option("--until-idle", type=float, default=None, metavar="SECONDS",
              help="Stop once every partition is caught up and idle this long (default: run until stopped).")
@click.option("--topic-prefix", default="", help="Prefix of every topic name (several environments on one cluster).")
@click.option("--partitions", default=8, show_default=True, help="Partitions of topics the flow has to create.")
@click.option("--snapshot-interval", default=5.0, show_default=True, help="Seconds between recovery snapshots.")
@click.option("--store-flush-interval", default=3.0, show_default=True,
              help="Most seconds rated rows wait for their ClickHouse insert (0: insert at every snapshot).")
@click.option("--poll-records", default=50_000, show_default=True,
              help="Most records one Kafka partition hands the flow per poll (one columnar batch).")
@click.option("--batch-linger", default=0.2, show_default=True,
              help="Seconds a polled record may wait for its batch to fill (latency against per-batch cost).")
@click.option("--reference-refresh", default=10.0, show_default=True,
              help="Seconds between checks for changed catalog or subscribers in ClickHouse.")
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus /metrics on 127.0.0.1:PORT.")
@click.option("--shards", type=click.IntRange(min=1), default=None,
              help="Rating-state shards, fixed by the first run on a recovery directory "
                   "(default: one per worker of the cluster).")
@click.option("--kafka-output/--no-kafka-output", default=True, show_default=True,
              help="Also publish rated records, dead letters and alerts to Kafka.")
@click.pass_context
def run_rating(ctx: click.Context, workers: int, process_id: int | None, addresses: str | None,
               until_idle: float | None, topic_prefix: str, partitions: int, snapshot_interval: float,
               reference_refresh: float, metrics_port: int | None, poll_records: int, kafka_output: bool,
               batch_linger: float, store_flush_interval: float, shards: int | None) -> None:
    """The streaming rating flow on Kafka, until stopped; resumes where it stopped."""
    from flows.streaming import StreamOptions, StreamTopics, run_rating_flow

    bootstrap = ctx.find_root().obj.get("kafka_bootstrap")
    if not bootstrap:
        raise UsageFailure("no Kafka bootstrap: pass --kafka-bootstrap or set REVGUARD_KAFKA_BOOTSTRAP")
    if workers < 1:
        raise UsageFailure("--workers must be at least 1")
    if store_flush_interval < 0:
        raise UsageFailure("--store-flush-interval must be 0 or more")
    if (process_id is None) != (addresses is None):
        raise UsageFailure("--process-id and --addresses go together")
    peers = [a.strip() for a in addresses.split(";") if a.strip()] if addresses else None
    if peers is not None and not 0 <= process_id < len(peers):
        raise UsageFailure(f"--process-id {process_id} is not an index into the {len(peers)} addresses")
    options = StreamOptions(
        topics=StreamTopics.with_prefix(topic_prefix), until_idle_s=until_idle, partitions=partitions,
        snapshot_interval_s=snapshot_interval, reference_refresh_s=reference_refresh, poll_records=poll_records,
        kafka_output=kafka_output, batch_linger_s=batch_linger, store_flush_s=store_flush_interval or None,
        shards=shards,
    )
    run_rating_flow(ctx.find_root().obj.get("clickhouse_url"), bootstrap, workers=workers, options=options,
                    process_id=process_id, addresses=peers, metrics_port=metrics_port)


@cli.command()
@click.option("--from", "since", default=None, help="Start of the event-time range (RFC 3339 or date).")
@click.option("--to", "until", default=None, help="End of the event-time range, exclusive.")
@click.pass_context
def reconcile(ctx: click.Context, since: str | None, until: str | None) -> None:
    """Run the assurance controls in ClickHouse and write `discrepancies`."""
    start, end = _timestamp(since, "--from"), _timestamp(until, "--to")
    if start and end and end <= start:
        raise UsageFailure("--to must be later than --from")
    from assurance.reconcile import reconcile as run_controls
    from flows.report import print_reconcile

    summary = run_controls(_store(ctx), since=start, until=end, progress=True)
    print_reconcile(summary)


@cli.group()
def export() -> None:
    """Export results from ClickHouse."""


@export.command("discrepancies")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_discrepancies(ctx: click.Context, output: Path) -> None:
    """Findings as NDJSON, one per line, fields of SPEC section 4."""
    from assurance.export import export_discrepancies as write_findings

    count = write_findings(_store(ctx.find_root()), output)
    click.echo(f"{count} findings written to {output}")


@cli.group("clickhouse")
def clickhouse_group() -> None:
    """The embedded ClickHouse store."""


@clickhouse_group.command("serve")
@click.option("--port", default=8123, show_default=True, help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--password", envvar="REVGUARD_CLICKHOUSE_PASSWORD", default=None,
              help="Require this password from clients.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory (default: REVGUARD_HOME or ./.revguard).")
def clickhouse_serve(port: int, password: str | None, home: Path | None) -> None:
    """Serve the embedded store over the ClickHouse HTTP interface on 127.0.0.1."""
    from clickhouse.endpoint import serve

    home = home or Path(os.environ.get("REVGUARD_HOME", ".revguard"))
    serve(home, port=port, password=password,
          ready=lambda endpoint: click.echo(f"revguard: ClickHouse HTTP endpoint on {endpoint.url} (data in {home})",
                                            err=True))


@clickhouse_group.command("migrate")
@click.pass_context
def clickhouse_migrate(ctx: click.Context) -> None:
    """Apply pending schema migrations and print the schema version."""
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate, schema_version

    client = store_client(ctx.find_root().obj.get("clickhouse_url"))
    applied = migrate(client)
    click.echo(f"schema version {schema_version(client)} ({len(applied)} migrations applied now)")


# -- revguard score: every model over a range, one scorer function per family -------------

def _anomaly_scorer(client, home: Path, since, until, retrain: bool):
    from assurance.models.detection import score_anomalies
    from assurance.models.tables import anomalies_table

    return anomalies_table(score_anomalies(client, home, since, until, retrain=retrain, progress=True))


# Each scorer: (client, REVGUARD_HOME, since, until, retrain) -> something rich can print.
SCORERS = (_anomaly_scorer,)


@cli.command()
@click.option("--from", "since", default=None, help="Start of the event-time range (RFC 3339 or date).")
@click.option("--to", "until", default=None, help="End of the event-time range, exclusive.")
@click.option("--retrain", is_flag=True, help="Fit every model again on the range and save it.")
@click.pass_context
def score(ctx: click.Context, since: str | None, until: str | None, retrain: bool) -> None:
    """Fit or load the models and write `anomalies` (and the other models' tables)."""
    start, end = _timestamp(since, "--from"), _timestamp(until, "--to")
    if start and end and end <= start:
        raise UsageFailure("--to must be later than --from")
    from assurance.models.registry import ModelError
    from flows.report import stdout

    client = _store(ctx)
    home = Path(os.environ.get("REVGUARD_HOME", ".revguard"))
    for scorer in SCORERS:
        try:
            stdout.print(scorer(client, home, start, end, retrain))
        except (ModelError, ValueError) as exc:
            raise UsageFailure(" ".join(str(exc).split())) from None


def main() -> None:
    try:
        exit_code = cli(prog_name="revguard", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("revguard: interrupted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # Click's own usage block is several lines; the user gets one, and the way to --help.
        command = exc.ctx.command_path if exc.ctx else "revguard"
        click.echo(f"revguard: error: {exc.format_message()} (see '{command} --help')", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if not _is_user_error(exc):
            raise
        click.echo(f"revguard: error: {_one_line(exc)}", err=True)
        sys.exit(2)
    sys.exit(exit_code if isinstance(exit_code, int) else 0)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    main()

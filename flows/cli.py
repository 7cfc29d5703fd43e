"""The `revguard` command line (REFERENCE.md section 5).

Each subcommand imports its machinery lazily so that `--help` stays fast. User
mistakes surface as one line on stderr and exit code 2 (`UsageFailure`, or one
of the domain errors listed in `_USER_ERRORS`), never as a traceback.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
import time
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
    """RFC 3339 with an offset, or a plain date (its 00:00 UTC), as an aware UTC datetime."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageFailure(f"{option}: not a date or RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        if "T" in value.upper() or " " in value.strip():
            # A clock time in no zone: UTC, the operator's zone or the catalog's? Asking beats guessing.
            raise UsageFailure(f"{option}: {value!r} has no offset: add Z for UTC or one like +01:00")
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _store(ctx: click.Context):
    """The ClickHouse client for this invocation (flag, environment, endpoint or embedded)."""
    from clickhouse.client import store_client
    from clickhouse.migrations import migrate

    client = store_client(ctx.obj.get("clickhouse_url"))
    migrate(client)
    return client


def _store_with_usage(ctx: click.Context):
    """The store, for commands that read what was loaded: an embedded store that does not
    exist or holds no usage is refused with where to look (a demo's store is elsewhere)."""
    from clickhouse.client import resolve_target, revguard_home

    target = resolve_target(ctx.obj.get("clickhouse_url"))
    if target.scheme == "chdb" and not Path(target.url.removeprefix("chdb://")).is_dir():
        raise UsageFailure(f"no store at {target.shown}: nothing has been loaded there{_demo_hint(revguard_home())}")
    client = _store(ctx)
    loaded = client.query("SELECT (SELECT count() FROM revguard.network_usage) + "
                          "(SELECT count() FROM revguard.billed_usage)").result_rows[0][0]
    if not loaded:
        raise UsageFailure(f"the store {target.shown} holds no usage records{_demo_hint(revguard_home())}")
    return client


def _demo_hint(home: Path) -> str:
    demo = home / "demo"
    if (demo / "chdb").is_dir():
        return f"; the demo's store is in {demo}: export REVGUARD_HOME={demo}"
    return "; load some first: revguard load DIR (or run revguard demo)"


def _kafka_bootstrap_option(command):
    """`--kafka-bootstrap` where users type it: after the subcommand as well as before it."""
    return click.option("--kafka-bootstrap", "kafka_bootstrap", metavar="HOST:PORT", default=None,
                        help="Kafka bootstrap servers (default: REVGUARD_KAFKA_BOOTSTRAP, or the "
                             "same option given before the subcommand).")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog="Records, catalog, rating rules, commands and tables: REFERENCE.md in the repository.")
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
@click.option("--revenue-calendar", is_flag=True, default=False,
              help="Month-start usage bump and a tariff step on 2027-01-15 (history for forecasts).")
def simulate(out_dir: Path, subscribers: int, days: int, seed: int, start: str, fault_rate: float,
             revenue_calendar: bool) -> None:
    """Write a simulated network, billing and reference data set with labelled faults."""
    from flows.simulator import simulate as run_simulation

    try:
        start_day = dt.date.fromisoformat(start)
    except ValueError:
        raise UsageFailure(f"--start: not a date (YYYY-MM-DD): {start!r}") from None
    try:
        summary = run_simulation(out_dir, subscribers=subscribers, days=days, seed=seed,
                                 start=start_day, fault_rate=fault_rate, progress=True,
                                 revenue_calendar=revenue_calendar)
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
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Malformed adjustments with their reasons, NDJSON (default: beside --output, "
                   "NAME.rejects.ndjson; written when --adjustments is given).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="Worker threads: subscribers are split between them; the output is the same.")
def rate(catalog: Path, subscribers: Path, input_path: Path, adjustments: Path | None, output: Path,
         rejects: Path | None, workers: int) -> None:
    """Rate a file through the same dataflow as the stream."""
    import gc  # issue 17: the imports below allocate ~10^6 objects, nearly all kept: full collections
    gc.set_threshold(100_000, 50, 100)  # among them took 0.2-0.4 s of every run (gc.callbacks)
    # Arrow's allocator (mimalloc, read when pyarrow loads) keeps freed memory instead of handing
    # it back to the kernel after 10 ms: each batch's buffers were fresh pages to fault and zero.
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "-1")
    from flows.rate_file import default_rejects_path, rate_file
    from flows.report import print_counts

    inputs = {"--input": input_path, "--catalog": catalog, "--subscribers": subscribers, "--adjustments": adjustments}
    _refuse_overwriting(inputs, "--output", output)
    if adjustments is not None:
        rejects = rejects or default_rejects_path(output)
        _refuse_overwriting({**inputs, "--output": output}, "--rejects", rejects)
    counts = rate_file(catalog=catalog, subscribers=subscribers, usage=input_path,
                       adjustments=adjustments, rejects=rejects, output=output, progress=True, workers=workers)
    print_counts(counts)
    if rejects is not None:
        click.echo(f"malformed adjustments ({counts.get('adjustments_rejected', 0)}) written to {rejects}")


def _refuse_overwriting(inputs: dict[str, Path | None], option: str, path: Path) -> None:
    """A file a command writes must not be one it reads, and its directory must exist."""
    for name, given in inputs.items():
        if given is not None and path.resolve() == given.resolve():
            raise UsageFailure(f"{option} {path} is also {name}: writing it would destroy the input")
    if not path.resolve().parent.is_dir():
        raise UsageFailure(f"{option} {path}: directory {path.parent} does not exist")


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
@click.option("--network-alerts/--no-network-alerts", default=False, show_default=True,
              help="Also raise element_silent, traffic_drop and premium_surge from the stream "
                   "(early: see README, \"For operations\", for their measured precision).")
@_kafka_bootstrap_option
@click.pass_context
def run_rating(ctx: click.Context, workers: int, process_id: int | None, addresses: str | None,
               until_idle: float | None, topic_prefix: str, partitions: int, snapshot_interval: float,
               reference_refresh: float, metrics_port: int | None, poll_records: int, kafka_output: bool,
               batch_linger: float, store_flush_interval: float, shards: int | None,
               network_alerts: bool, kafka_bootstrap: str | None) -> None:
    """The streaming rating flow on Kafka, until stopped; resumes where it stopped."""
    from flows.streaming import StreamOptions, StreamTopics, run_rating_flow

    bootstrap = kafka_bootstrap or ctx.find_root().obj.get("kafka_bootstrap")
    if not bootstrap:
        raise UsageFailure("no Kafka bootstrap: pass --kafka-bootstrap HOST:PORT or set REVGUARD_KAFKA_BOOTSTRAP "
                           "(a local broker for trying things: revguard kafka broker)")
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
        shards=shards, network_alerts=network_alerts,
    )
    run_rating_flow(ctx.find_root().obj.get("clickhouse_url"), bootstrap, workers=workers, options=options,
                    process_id=process_id, addresses=peers, metrics_port=metrics_port)


@cli.command()
@click.option("--from", "since", default=None, metavar="T",
              help="Start of the event-time range: RFC 3339 with an offset (2026-11-01T08:00:00Z) "
                   "or a date (its 00:00 UTC).")
@click.option("--to", "until", default=None, metavar="T", help="End of the event-time range, exclusive; as --from.")
@click.pass_context
def reconcile(ctx: click.Context, since: str | None, until: str | None) -> None:
    """Run the assurance controls in ClickHouse and write `discrepancies`."""
    start, end = _timestamp(since, "--from"), _timestamp(until, "--to")
    if start and end and end <= start:
        raise UsageFailure("--to must be later than --from")
    from assurance.reconcile import reconcile as run_controls
    from flows.report import print_reconcile

    summary = run_controls(_store_with_usage(ctx), since=start, until=end, progress=True)
    print_reconcile(summary)


@cli.group()
def export() -> None:
    """Export results from ClickHouse."""


@export.command("discrepancies")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_discrepancies(ctx: click.Context, output: Path) -> None:
    """Findings as NDJSON, one per line, with the fields of REFERENCE.md section 4."""
    from assurance.export import export_discrepancies as write_findings

    _refuse_overwriting({}, "--output", output)
    count = write_findings(_store_with_usage(ctx.find_root()), output)
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


# --- Kafka for trying things: a local broker, a file into a topic, a topic onto the screen ---

def _kafka_conf(ctx: click.Context, given: str | None) -> dict:
    """librdkafka settings for a user command: flag after the subcommand, flag before it, environment."""
    from flows.kafka.settings import kafka_settings

    bootstrap = given or ctx.find_root().obj.get("kafka_bootstrap")
    if not bootstrap:
        raise UsageFailure("no Kafka bootstrap: pass --kafka-bootstrap HOST:PORT or set REVGUARD_KAFKA_BOOTSTRAP "
                           "(a local broker for trying things: revguard kafka broker)")
    try:
        return kafka_settings(bootstrap=bootstrap).client_config()
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None


@cli.group("kafka")
def kafka_group() -> None:
    """Kafka for trying the stream: a local broker, producing a file, reading a topic."""


@kafka_group.command("broker")
@click.option("--port", default=9092, show_default=True, type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (0 picks a free one).")
def kafka_broker(port: int) -> None:
    """A local Kafka-protocol broker (Tansu, in memory) until Ctrl-C: for trying things, not production.

    Prints its bootstrap on stdout. Topics and messages live in memory and are gone when it stops.
    """
    import signal
    import socket

    from flows.kafka.broker import BrokerStartError, LocalBroker

    if port:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise UsageFailure(f"port {port} on 127.0.0.1 is in use (another broker?): "
                                   "pass --port 0 for a free one") from None
    broker = LocalBroker(port=port or None)
    try:
        bootstrap = broker.start()
    except BrokerStartError as exc:
        raise UsageFailure(str(exc).splitlines()[0]) from None
    stopped = False

    def stop(_signum, _frame) -> None:
        nonlocal stopped
        stopped = True

    # Both set explicitly: a shell starts a background job with SIGINT ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(bootstrap)
    click.echo(f"revguard: Kafka-protocol broker (Tansu, in memory) on {bootstrap}; Ctrl-C stops it. "
               f"In other shells: export REVGUARD_KAFKA_BOOTSTRAP={bootstrap}", err=True)
    try:
        while not stopped and broker.running():
            time.sleep(0.2)
    finally:
        broker.stop()
    if not stopped:
        raise UsageFailure("the broker exited by itself")
    click.echo("revguard: broker stopped", err=True)


@kafka_group.command("produce")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", required=True, help="Topic to produce to (created if missing), e.g. revguard.usage.network.")
@click.option("--key-field", default="msisdn", show_default=True,
              help="JSON field whose value keys each message (one subscriber's records stay in order).")
@click.option("--partitions", default=8, show_default=True, type=click.IntRange(min=1),
              help="Partitions of the topic if it has to be created.")
@_kafka_bootstrap_option
@click.pass_context
def kafka_produce(ctx: click.Context, file: Path, topic: str, key_field: str, partitions: int,
                  kafka_bootstrap: str | None) -> None:
    """Produce every non-blank line of an NDJSON FILE to a topic, one message a line, in file order."""
    from confluent_kafka import KafkaException

    from flows.kafka.produce import DeliveryError, produce_ndjson
    from flows.kafka.topic_reader import TopicUnavailable, quiet, topic_partitions
    from flows.kafka.topics import ensure_topics

    conf = quiet(_kafka_conf(ctx, kafka_bootstrap))
    try:
        ensure_topics(conf, partitions, [topic], timeout_s=10)
        topic_partitions(conf, topic)
        count = produce_ndjson(file, topic, conf, key_field=key_field, flush_timeout_s=30)
    except (KafkaException, TopicUnavailable, DeliveryError) as exc:
        raise UsageFailure(_kafka_reason(exc, conf)) from None
    click.echo(f"{count:,} messages produced to {topic}")


@kafka_group.command("read")
@click.option("--topic", required=True, help="Topic to read, e.g. revguard.usage.rated or revguard.alerts.")
@click.option("--from-beginning", is_flag=True, help="Start at the first message (default: only new ones).")
@click.option("--max", "max_messages", type=click.IntRange(min=1), default=None, help="Stop after N messages.")
@click.option("--to-end", is_flag=True, help="Stop at the end of every partition instead of waiting for more.")
@_kafka_bootstrap_option
@click.pass_context
def kafka_read(ctx: click.Context, topic: str, from_beginning: bool, max_messages: int | None, to_end: bool,
               kafka_bootstrap: str | None) -> None:
    """Print a topic's messages on stdout, one a line, until --max, --to-end or Ctrl-C.

    Reads every partition directly (no consumer group: nothing is committed, and no wait for
    a group to form; see REFERENCE.md, "Reading a topic").
    """
    from flows.kafka.topic_reader import TopicUnavailable, topic_messages

    conf = _kafka_conf(ctx, kafka_bootstrap)
    out = click.get_binary_stream("stdout")
    try:
        for message in topic_messages(conf, topic, from_beginning=from_beginning, to_end=to_end,
                                      max_messages=max_messages):
            out.write((message.value or b"") + b"\n")
            out.flush()
    except TopicUnavailable as exc:
        raise UsageFailure(str(exc)) from None
    except KeyboardInterrupt:
        pass


def _kafka_reason(exc: BaseException, conf: dict) -> str:
    """One line for a Kafka failure, naming the bootstrap."""
    from confluent_kafka import KafkaException

    if isinstance(exc, KafkaException) and exc.args and hasattr(exc.args[0], "str"):
        return f"Kafka at {conf.get('bootstrap.servers')}: {exc.args[0].str()}"
    return " ".join(str(exc).split())
# --- refused input for the analyst (issue 19) -----------------------------------------------

@export.command("rejects")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--stream", type=click.Choice(["network", "billed", "adjustments"]), default=None,
              help="Only this stream's rejects (default: every stream).")
@click.pass_context
def export_rejects(ctx: click.Context, output: Path, stream: str | None) -> None:
    """Refused records as NDJSON: stream, source, the record_id / bill_record_id / msisdn the
    raw text names, reason, raw text, and what each meets in reconciliation."""
    from assurance.rejects import export_rejects as write_rejects

    count = write_rejects(_store(ctx.find_root()), output, stream)
    click.echo(f"{count} refused records written to {output}")


# -- revguard forecast: revenue forecasts for finance (forecasting/) ---------------------------

def _forecast_failure(exc: Exception) -> UsageFailure:
    return UsageFailure(" ".join(str(exc).split()))


@cli.group("forecast", invoke_without_command=True)
@click.option("--horizon", default=30, show_default=True, type=click.IntRange(min=1), help="Days ahead.")
@click.option("--by", "by", type=click.Choice(["total", "service", "plan", "segment", "zone"]), default="total",
              show_default=True, help="Series to forecast; the total is the sum of the groups (bottom-up).")
@click.option("--level", "levels", multiple=True, type=click.Choice(["80", "95"]), default=("80", "95"),
              show_default=True, help="Interval levels in percent (the table holds 80 and 95).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the forecast rows to this CSV file.")
@click.pass_context
def forecast(ctx: click.Context, horizon: int, by: str, levels: tuple[str, ...], output: Path | None) -> None:
    """Revenue forecasts with intervals into `revenue_forecasts`; prints the next days and the month end."""
    if ctx.invoked_subcommand is not None:
        return
    from forecasting.errors import ForecastInputError
    from forecasting.runs import print_run, run_forecast

    try:
        run = run_forecast(_store(ctx.find_root()), horizon=horizon, by=by,
                           levels=tuple(sorted({int(level) for level in levels})), output=output)
    except ForecastInputError as exc:
        raise _forecast_failure(exc) from None
    print_run(run)


@forecast.command("backtest")
@click.option("--horizon", default=14, show_default=True, type=click.IntRange(min=1), help="Days ahead.")
@click.option("--origins", default=8, show_default=True, type=click.IntRange(min=1), help="Rolling origins.")
@click.option("--by", "by", type=click.Choice(["total", "service", "plan", "segment", "zone"]), default="service",
              show_default=True)
@click.pass_context
def forecast_backtest(ctx: click.Context, horizon: int, origins: int, by: str) -> None:
    """Rolling-origin accuracy and interval coverage per series, beside seasonal naive."""
    from forecasting.errors import ForecastInputError
    from forecasting.runs import print_backtests, store_backtests

    try:
        results = store_backtests(_store(ctx.find_root()), horizon=horizon, origins=origins, by=by)
    except ForecastInputError as exc:
        raise _forecast_failure(exc) from None
    print_backtests(results)


@forecast.command("evaluate")
@click.option("--csv", "csv_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--time-col", required=True, help="Column holding the date or time of each value.")
@click.option("--value-col", required=True, help="Column holding the value to forecast.")
@click.option("--season", type=int, default=None, help="Season length in periods (default: 7 daily, 12 monthly).")
@click.option("--horizon", type=click.IntRange(min=1), default=None, help="Steps ahead (default: 14 daily, a season otherwise).")
@click.option("--origins", type=click.IntRange(min=1), default=8, show_default=True, help="Rolling origins.")
@click.option("--freq", default=None, help="Pandas frequency (D, W, MS, ...); inferred when absent.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def forecast_evaluate(csv_path: Path, time_col: str, value_col: str, season: int | None, horizon: int | None,
                      origins: int, freq: str | None, output: Path) -> None:
    """The forecasting method backtested on any series: one output row per origin and step."""
    from forecasting.errors import ForecastInputError
    from forecasting.evaluate import evaluate_csv
    from forecasting.report import accuracy_table, methods_table, stdout

    try:
        result = evaluate_csv(csv_path, time_col, value_col, output, season=season, horizon=horizon,
                              origins=origins, freq=freq)
    except ForecastInputError as exc:
        raise _forecast_failure(exc) from None
    stdout.print(accuracy_table(f"{result.origins} origins, {result.horizon} steps ahead", [result]))
    stdout.print(methods_table([result]))
    click.echo(f"{len(result.rows)} rows written to {output}")


# --- alert delivery (`revguard run alerts`) -------------------------------------------------
@run.command("alerts")
@click.option("--config", "config_path", default="alerts.yaml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="Receivers and routes (YAML).")
@click.option("--topic-prefix", default="", help="Prefix of the alerts and rejects topic names.")
@click.option("--until-idle", type=float, default=None, metavar="SECONDS",
              help="Stop once caught up, every delivery settled, and idle this long (default: run until stopped).")
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus /metrics on 127.0.0.1:PORT.")
@click.pass_context
def run_alerts(ctx: click.Context, config_path: Path, topic_prefix: str, until_idle: float | None,
               metrics_port: int | None) -> None:
    """Deliver alerts to Alertmanager, webhooks and Slack-compatible hooks; nothing lost, nothing doubled."""
    from flows.alerting.config import load_config
    from flows.alerting.service import AlertOptions, run_alert_delivery
    from flows.kafka import topics as names

    config = load_config(config_path)  # checked whole before anything connects
    bootstrap = ctx.find_root().obj.get("kafka_bootstrap")
    if not bootstrap:
        raise UsageFailure("no Kafka bootstrap: pass --kafka-bootstrap or set REVGUARD_KAFKA_BOOTSTRAP")
    options = AlertOptions(alerts_topic=topic_prefix + names.ALERTS, rejects_topic=topic_prefix + names.REJECTS,
                           until_idle_s=until_idle)
    run_alert_delivery(config, ctx.find_root().obj.get("clickhouse_url"), bootstrap, options, metrics_port=metrics_port)


@cli.command("replay")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--speed", type=float, default=None, metavar="X",
              help="Event-time seconds per wall second (60: an hour a minute); default: as fast as the broker takes it.")
@click.option("--topic-prefix", default="", help="Prefix of every topic name.")
@click.option("--as-delivered", is_flag=True, help="Network records in the file's (delivery) order, late ones late.")
@click.pass_context
def replay(ctx: click.Context, directory: Path, speed: float | None, topic_prefix: str, as_delivered: bool) -> None:
    """Replay a simulated directory's network, billed and adjustment files into Kafka, in event time."""
    from flows.kafka.settings import kafka_settings
    from flows.replay import replay_directory

    if speed is not None and speed <= 0:
        raise UsageFailure("--speed must be above 0")
    bootstrap = ctx.find_root().obj.get("kafka_bootstrap")
    if not bootstrap:
        raise UsageFailure("no Kafka bootstrap: pass --kafka-bootstrap or set REVGUARD_KAFKA_BOOTSTRAP")
    try:
        conf = kafka_settings(bootstrap=bootstrap).client_config()
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None
    summary = replay_directory(directory, conf, speed=speed, topic_prefix=topic_prefix, progress=True,
                               as_delivered=as_delivered)
    for topic, count in summary.produced.items():
        click.echo(f"{count:>10,} messages to {topic}")
    click.echo(f"{summary.event_span_s / 3600:.1f} h of event time in {summary.wall_s:.1f} s")


@cli.command("dashboard")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port of the app.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 exposes the app beyond this machine.")
@click.pass_context
def dashboard(ctx: click.Context, port: int, host: str) -> None:
    """The analysts' Streamlit app, on the store (through the embedded endpoint, started when needed)."""
    from dashboards.launch import run_dashboard

    code = run_dashboard(host, port, ctx.find_root().obj.get("clickhouse_url"),
                         say=lambda line, err=False: click.echo(line, err=err))
    if code:
        raise UsageFailure(f"the app's server stopped with exit code {code}")


# -- revguard score: every model over a range, one scorer function per family -------------

def _anomaly_scorer(client, home: Path, since, until, retrain: bool):
    from assurance.models.detection import score_anomalies
    from assurance.models.tables import anomalies_table

    return anomalies_table(score_anomalies(client, home, since, until, retrain=retrain, progress=True))


# Each scorer: (client, REVGUARD_HOME, since, until, retrain) -> something rich can print.


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
    # A model the store cannot feed yet (too short a history, no findings to learn from) is
    # named and passed over, so the others still run; a refused model file stops the command.
    skipped: list[str] = []
    for scorer in SCORERS:
        try:
            stdout.print(scorer(client, home, start, end, retrain))
        except ModelError as exc:
            raise UsageFailure(" ".join(str(exc).split())) from None
        except ValueError as exc:
            reason = " ".join(str(exc).split())
            skipped.append(reason)
            click.echo(f"revguard: {scorer.__name__.strip('_').removesuffix('_scorer')}: not scored: {reason}",
                       err=True)
    if len(skipped) == len(SCORERS):
        raise UsageFailure(skipped[0])


# --- issue 23 (leakage risk): a scorer of `revguard score`, records inside the billing SLA ---
def _leakage_scorer(client, home: Path, since, until, retrain: bool):
    from assurance.models.leakage_scoring import score_leakage
    from assurance.models.leakage_tables import leakage_table

    return leakage_table(score_leakage(client, home, since, until, retrain=retrain, progress=True))



# --- churn (issue 23): the churn scorer, `revguard churn evaluate`, `revguard churn simulate` ---

def _churn_scorer(client, home: Path, since, until, retrain: bool):
    from assurance.models.churn_scoring import churn_table, score_churn

    return churn_table(score_churn(client, home, since, until, retrain=retrain))


# `revguard score` runs these in turn (read at call time, so tests may run one alone).
SCORERS = (_anomaly_scorer, _leakage_scorer, _churn_scorer)


@cli.group("churn")
def churn_group() -> None:
    """Churn: evaluate the churn pipeline on a labelled table, simulate churn history."""


@churn_group.command("evaluate")
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A table with one row per subscriber and a 0/1 label column.")
@click.option("--label", required=True, help="The label column: 1 = left, 0 = stayed.")
@click.option("--id", "id_column", default=None, help="An id column to leave out of the features.")
@click.option("--folds", default=5, show_default=True, type=int, help="Stratified folds.")
def churn_evaluate(csv_path: Path, label: str, id_column: str | None, folds: int) -> None:
    """Stratified K-fold ROC AUC, PR AUC, top-decile lift and Brier of the churn pipeline."""
    from rich.table import Table

    from assurance.models.churn_evaluate import METRICS, TableProblem, evaluate, read_table
    from flows.report import stdout

    if not csv_path.is_file():
        raise UsageFailure(f"--csv {csv_path}: no such file")
    try:
        features, labels = read_table(csv_path, label, id_column)
        result = evaluate(features, labels, folds=folds)
    except TableProblem as exc:
        raise UsageFailure(str(exc)) from None
    table = Table(title=f"{csv_path.name}: {result.rows:,} rows, {result.leavers:,} with {label} = 1, "
                        f"{len(result.features)} features, {result.folds}-fold stratified", title_justify="left")
    for column in ("metric", "mean", "spread (sd)", "min", "max"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    names = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "top_decile_lift": "lift, top decile", "brier": "Brier score"}
    for metric in METRICS:
        values = [fold[metric] for fold in result.per_fold]
        table.add_row(names[metric], f"{result.mean(metric):.3f}", f"{result.spread(metric):.3f}",
                      f"{min(values):.3f}", f"{max(values):.3f}")
    stdout.print(table)


@churn_group.command("simulate")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--subscribers", default=1000, show_default=True, type=int)
@click.option("--days", default=180, show_default=True, type=int)
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--fault-rate", default=0.01, show_default=True, type=float)
def churn_simulate(out_dir: Path, subscribers: int, days: int, seed: int, fault_rate: float) -> None:
    """`revguard simulate` in churn mode: leaving driven by observable causes, churn.ndjson truth."""
    from flows.report import print_simulation
    from flows.simulator import simulate as run_simulation

    try:
        summary = run_simulation(out_dir, subscribers=subscribers, days=days, seed=seed,
                                 fault_rate=fault_rate, progress=True, churn_mode=True)
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None
    print_simulation(summary, out_dir)


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

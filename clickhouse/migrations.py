"""Numbered schema migrations: `clickhouse/migrations/NNNN_name.sql`, applied in order.

Each applied file is recorded in `revguard.schema_migrations` with its sha256, so running
`migrate` again applies only files it has not seen, a store written by a newer revguard is
refused (`SchemaTooNew`) and an applied file that was edited afterwards is refused too
(`MigrationChanged`): a released migration is never changed, a new one is added.

Statements use `IF NOT EXISTS`, so a migration interrupted half way is simply run again.

Clusters (not implemented here): on a ClickHouse cluster the same files would be applied
from one node with each DDL statement carrying `ON CLUSTER '{cluster}'` and the
MergeTree engines in their Replicated form (`ReplicatedReplacingMergeTree(...)`, with
`Distributed` tables in front where reads fan out); `schema_migrations` itself would be
replicated so every node sees the same version. That is a rewrite of the statements at
apply time, keyed on a cluster name setting, and leaves the migration files as they are.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from clickhouse_connect.driver import Client

from clickhouse.errors import MigrationChanged, SchemaError, SchemaTooNew

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")

# Bootstrap: the ledger must exist before any numbered migration can be recorded in it.
# ReplacingMergeTree on version, so two processes migrating at once leave one row each.
_LEDGER_DDL = (
    "CREATE DATABASE IF NOT EXISTS revguard",
    """CREATE TABLE IF NOT EXISTS revguard.schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(applied_at)
ORDER BY version""",
)
_LEDGER_QUERY = "SELECT version, name, checksum FROM revguard.schema_migrations FINAL ORDER BY version"
_LEDGER_EXISTS = "SELECT count() FROM system.tables WHERE database = 'revguard' AND name = 'schema_migrations'"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def statements(self) -> list[str]:
        return split_statements(self.sql)


def known_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files shipped with this code, in version order."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise SchemaError(f"migration file {path.name} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise SchemaError(f"two migration files carry version {version}: {found[version].name} and {match.group(2)}")
        found[version] = Migration(version=version, name=match.group(2), sql=path.read_text())
    return [found[version] for version in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Statements separated by `;`, ignoring `;` inside quotes and comments. Comments are
    left out (a statement reads in an error message as it was written, minus comments);
    comment-only pieces are dropped."""
    statements: list[str] = []
    current: list[str] = []
    has_code = False
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            end = _closing_quote(sql, i)
            current.append(sql[i:end])
            has_code = True
            i = end
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            current.append(" ")
            i = n if end < 0 else end + 2
        elif ch == ";":
            if has_code:
                statements.append("".join(current).strip())
            current, has_code = [], False
            i += 1
        else:
            current.append(ch)
            has_code = has_code or not ch.isspace()
            i += 1
    if has_code:
        statements.append("".join(current).strip())
    return statements


def _closing_quote(sql: str, start: int) -> int:
    """Index just past the quote that closes the one at `start` (backslash and doubled quotes escape)."""
    quote = sql[start]
    i = start + 1
    while i < len(sql):
        if sql[i] == "\\":
            i += 2
            continue
        if sql[i] == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    raise SchemaError(f"unterminated {quote} quote in migration SQL starting at character {start}")


def applied_migrations(client: Client) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) as recorded in the store; empty for a fresh store."""
    if not int(client.command(_LEDGER_EXISTS)):
        return {}
    return {int(version): (name, checksum) for version, name, checksum in client.query(_LEDGER_QUERY).result_rows}


def schema_version(client: Client) -> int:
    """The highest migration version applied to the store, 0 for a fresh one."""
    return max(applied_migrations(client), default=0)


def migrate(client: Client, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the migrations the store has not seen, in order; the versions applied now."""
    known = known_migrations(directory)
    applied = applied_migrations(client)
    check_compatible(known, applied)
    for statement in _LEDGER_DDL:
        client.command(statement)
    done: list[int] = []
    for migration in known:
        if migration.version in applied:
            continue
        for statement in migration.statements:
            client.command(statement)
        client.insert(
            "revguard.schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        done.append(migration.version)
    return done


def check_compatible(known: list[Migration], applied: dict[int, tuple[str, str]]) -> None:
    """Refuse a store this code cannot safely use: unknown versions or edited migrations."""
    by_version = {migration.version: migration for migration in known}
    newest_known = max(by_version, default=0)
    unknown = sorted(version for version in applied if version not in by_version)
    if unknown:
        raise SchemaTooNew(
            f"the store has schema version {max(applied)} (migration {unknown[-1]:04d}_{applied[unknown[-1]][0]}) "
            f"but this revguard knows only up to {newest_known}: upgrade revguard to use this store"
        )
    for version, (name, checksum) in sorted(applied.items()):
        if by_version[version].checksum != checksum:
            raise MigrationChanged(
                f"migration {version:04d}_{name} was applied with checksum {checksum[:12]} but the file now has "
                f"{by_version[version].checksum[:12]}: restore it and add a new migration instead"
            )

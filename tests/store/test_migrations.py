"""Numbered migrations: applied once, in order, recorded with checksums, refused when the store is ahead."""
import hashlib
import shutil

import pytest

from clickhouse.errors import MigrationChanged, SchemaTooNew
from clickhouse.migrations import MIGRATIONS_DIR, migrate, schema_version, split_statements

SHIPPED = sorted(MIGRATIONS_DIR.glob("*.sql"))


def test_migrate_again_applies_nothing(store_client):
    # the fixture has migrated once already
    assert migrate(store_client) == []
    assert migrate(store_client) == []


def test_ledger_holds_each_shipped_file_with_its_sha256(store_client):
    expected = [
        (int(path.name[:4]), path.stem[5:], hashlib.sha256(path.read_bytes()).hexdigest()) for path in SHIPPED
    ]
    rows = store_client.query(
        "SELECT version, name, checksum FROM revguard.schema_migrations FINAL ORDER BY version"
    ).result_rows
    assert rows == expected


def test_schema_version_is_the_highest_shipped_version(store_client):
    assert schema_version(store_client) == int(SHIPPED[-1].name[:4])


def test_every_spec_table_exists_after_migration(store_client):
    spec_tables = {
        "network_usage", "billed_usage", "rated_usage", "balances", "adjustments", "subscribers",
        "provisioning", "rejects", "discrepancies", "alerts", "schema_migrations",
    }  # fmt: skip
    names = set(store_client.query("SELECT name FROM system.tables WHERE database = 'revguard'").result_columns[0])
    assert spec_tables <= names


def test_a_new_migration_file_is_applied_once(store_client, tmp_path):
    for path in SHIPPED:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "9001_probe.sql").write_text("CREATE TABLE IF NOT EXISTS revguard.migration_probe (a UInt8) ENGINE = Memory;\n")
    try:
        assert migrate(store_client, tmp_path) == [9001]
        assert migrate(store_client, tmp_path) == []
        assert store_client.command("EXISTS TABLE revguard.migration_probe") == 1
    finally:
        store_client.command("DROP TABLE IF EXISTS revguard.migration_probe")
        store_client.command("DELETE FROM revguard.schema_migrations WHERE version = 9001")


def test_store_with_a_version_this_code_does_not_know_is_refused(store_client):
    store_client.insert("revguard.schema_migrations", [[9999, "from_the_future", "x" * 64]], column_names=["version", "name", "checksum"])
    try:
        with pytest.raises(SchemaTooNew, match="9999"):
            migrate(store_client)
    finally:
        store_client.command("DELETE FROM revguard.schema_migrations WHERE version = 9999")
    assert migrate(store_client) == []


def test_an_applied_migration_edited_afterwards_is_refused(store_client, tmp_path):
    for path in SHIPPED:
        shutil.copy(path, tmp_path / path.name)
    edited = tmp_path / SHIPPED[0].name
    edited.write_text(edited.read_text() + "\n-- edited after release\n")
    with pytest.raises(MigrationChanged, match=SHIPPED[0].stem):
        migrate(store_client, tmp_path)


def test_semicolons_in_strings_and_comments_do_not_split():
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (s String DEFAULT 'a;b', q String DEFAULT 'it''s; \\'x\\';') ENGINE = Memory;
    /* block; comment */
    SELECT ";" AS `semi;colon`;
    -- trailing comment only;
    """
    statements = split_statements(sql)
    assert len(statements) == 2
    assert statements[0].endswith("ENGINE = Memory")
    assert "'it''s; \\'x\\';'" in statements[0]
    assert statements[1].endswith('SELECT ";" AS `semi;colon`')


def test_shipped_first_migration_splits_into_database_and_tables():
    # 0001 creates the database, then 11 tables: the 10 of SPEC section 6 plus catalog
    statements = split_statements((MIGRATIONS_DIR / "0001_tables.sql").read_text())
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS revguard"
    assert sum(statement.startswith("CREATE TABLE") for statement in statements) == 11
    assert len(statements) == 12

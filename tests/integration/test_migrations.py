"""Migrations against real Postgres: idempotent, complete, transactional, tamper-evident."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg2
import pytest

from recon_operators.demo.services import pg_dsn
from recon_operators.paths import migrations_dir
from recon_operators.store import MigrationError, apply_migrations, connect, migration_status
from recon_operators.store.catalog import REQUIRED_TABLES, missing_tables
from recon_operators.store.migrations import discover

pytestmark = pytest.mark.integration

_CATALOG_SNAPSHOT = """
SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable,
       coalesce(c.column_default, '')
  FROM information_schema.columns c
 WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT schemaname, tablename, indexname, indexdef, '', '' FROM pg_indexes
 WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT n.nspname, conrelid::regclass::text, conname, pg_get_constraintdef(k.oid), '', ''
  FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, 3
"""


def _snapshot(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(_CATALOG_SNAPSHOT)
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM recon_report.etl_stage_table_matrix")
        rows.append(("matrix_rows", cur.fetchone()[0]))
    conn.rollback()
    return rows


def test_applying_twice_changes_nothing(fresh_pg_database):
    conn = connect(pg_dsn(fresh_pg_database))
    try:
        first = apply_migrations(conn)
        assert [m.version for m in first] == [m.version for m, _ in migration_status(conn)]
        before = _snapshot(conn)
        assert apply_migrations(conn) == []
        assert _snapshot(conn) == before
        # The files themselves are idempotent too: replaying every one changes nothing.
        with conn.cursor() as cur:
            for migration in first:
                cur.execute(migration.sql)
        conn.commit()
        assert _snapshot(conn) == before
    finally:
        conn.close()


def test_every_table_the_reference_spec_names_exists(fresh_pg_database):
    conn = connect(pg_dsn(fresh_pg_database))
    try:
        assert len(missing_tables(conn)) == len(REQUIRED_TABLES)  # a blank database has none
        apply_migrations(conn)
        assert missing_tables(conn) == []
    finally:
        conn.close()
    names = {f"{s}.{t}" for s, t in REQUIRED_TABLES}
    assert {
        "Migration.log_table",
        "Migration.control_table",
        "mini_recon_1.recon_status",
        "mini_recon_1.tbl_recon_report_prefix_summary",
        "recon.recon_audit",
        "metrics.mismatch_detail_sample",
    } <= names
    assert sum(1 for s, t in REQUIRED_TABLES if s == "mini_recon_1" and t.startswith("tbl_")) == 12
    assert sum(1 for s, t in REQUIRED_TABLES if s == "mini_recon_2" and t != "tbl_recon_2_summary") == 8


def _copy_migrations(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), target)
    return target


def test_a_failing_migration_is_rolled_back_and_later_ones_not_applied(fresh_pg_database, tmp_path):
    directory = _copy_migrations(tmp_path)
    (directory / "0900_half_broken.sql").write_text(
        "CREATE TABLE recon.half_written (id int);\nSELECT no_such_function();\n"
    )
    (directory / "0901_after.sql").write_text("CREATE TABLE recon.after_broken (id int);\n")
    conn = connect(pg_dsn(fresh_pg_database))
    try:
        with pytest.raises(
            MigrationError, match=r"0900_half_broken.sql failed and was rolled back: .*no_such_function"
        ):
            apply_migrations(conn, directory)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('recon.half_written'), to_regclass('recon.after_broken')")
            assert cur.fetchone() == (None, None)
            cur.execute("SELECT max(version) FROM recon.schema_migrations")
            assert cur.fetchone()[0] == max(m.version for m in discover())  # numbers may skip (reserved ones)
        conn.rollback()
    finally:
        conn.close()


def test_editing_an_applied_migration_is_refused(fresh_pg_database, tmp_path):
    directory = _copy_migrations(tmp_path)
    conn = connect(pg_dsn(fresh_pg_database))
    try:
        apply_migrations(conn, directory)
        edited = directory / "0002_mini_recon_1.sql"
        edited.write_text(edited.read_text() + "\n-- edited later\n")
        with pytest.raises(MigrationError, match="0002_mini_recon_1.sql was changed after it was applied"):
            apply_migrations(conn, directory)
    finally:
        conn.close()


def test_misnamed_migration_file_is_refused(tmp_path):
    directory = _copy_migrations(tmp_path)
    (directory / "10_Bad Name.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_lower_snake.sql"):
        apply_migrations(None, directory)  # refused before any connection is used


def test_status_columns_refuse_unknown_values(store_dsn):
    conn = psycopg2.connect(store_dsn)
    try:
        with pytest.raises(psycopg2.errors.CheckViolation), conn.cursor() as cur:
            cur.execute(
                'INSERT INTO "Migration".log_table (run_id, env, process_name, entity_name, status, scope_key)'
                " VALUES ('r-x', 'dev', 'Transformation', 'Mini Recon 1', 'Sort of done', 'env=dev')"
            )
    finally:
        conn.rollback()
        conn.close()

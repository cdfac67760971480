"""Numbered, checksummed DDL migrations from include/sql/migrations, one transaction each.

A file that was applied is never applied again, and a file edited after it was applied is
refused (its checksum changed) instead of silently leaving databases in different shapes.
Concurrent upgraders (two workers starting at once) serialise on an advisory lock.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from recon_operators.errors import one_line
from recon_operators.paths import migrations_dir
from recon_operators.store.db import transaction

_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works: it only has to be the same for every upgrader of this store.
_ADVISORY_LOCK_KEY = 727_100_001

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS recon;
CREATE TABLE IF NOT EXISTS recon.schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


class MigrationError(RuntimeError):
    """A migration file is malformed, was edited after being applied, or failed to apply."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(directory: Path | None = None) -> list[Migration]:
    """Every ``NNNN_name.sql`` file in order; stray files and duplicate numbers are errors."""
    directory = directory or migrations_dir()
    if not directory.is_dir():
        raise MigrationError(f"migrations folder not found: {directory}")
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, match.group(2), path, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def _applied(cur: Any) -> dict[int, str]:
    cur.execute("SELECT version, checksum FROM recon.schema_migrations")
    return dict(cur.fetchall())


def apply_migrations(conn: Any, directory: Path | None = None) -> list[Migration]:
    """Apply pending migrations; return those applied now (empty when up to date)."""
    migrations = discover(directory)
    with transaction(conn) as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
        cur.execute(_BOOTSTRAP)
    applied_now: list[Migration] = []
    for migration in migrations:
        try:
            with transaction(conn) as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
                applied = _applied(cur)
                if migration.version in applied:
                    if applied[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"{migration.path.name} was changed after it was applied; "
                            "add a new numbered migration instead of editing an applied one"
                        )
                    continue
                cur.execute(migration.sql)
                cur.execute(
                    "INSERT INTO recon.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.checksum),
                )
        except psycopg2.Error as exc:
            raise MigrationError(f"{migration.path.name} failed and was rolled back: {one_line(exc)}") from None
        applied_now.append(migration)
    return applied_now


def migration_status(conn: Any, directory: Path | None = None) -> list[tuple[Migration, bool]]:
    """Each known migration with whether this store has it."""
    migrations = discover(directory)
    with transaction(conn) as cur:
        cur.execute("SELECT to_regclass('recon.schema_migrations') IS NOT NULL")
        applied = _applied(cur) if cur.fetchone()[0] else {}
    return [(m, m.version in applied) for m in migrations]

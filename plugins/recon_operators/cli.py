"""``recon`` command line: the same engine and store as the Airflow operators, without Airflow.

Exit codes: 0 success (all matched), 1 mismatch found, 2 error (bad input, unreachable database).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from recon_operators.connections import ConnectionConfigError, store_dsn
from recon_operators.store import MigrationError, StoreError, apply_migrations, connect, migration_status
from recon_operators.store.catalog import missing_tables

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


def _db_upgrade(args: argparse.Namespace) -> int:
    conn = connect(store_dsn(args.dsn))
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    if applied:
        for migration in applied:
            print(f"applied {migration.version:04d}_{migration.name}")
        print(f"results store upgraded: {len(applied)} migration(s) applied")
    else:
        print("results store is up to date: nothing to apply")
    return EXIT_OK


def _db_status(args: argparse.Namespace) -> int:
    conn = connect(store_dsn(args.dsn))
    try:
        status = migration_status(conn)
        missing = missing_tables(conn)
    finally:
        conn.close()
    for migration, applied in status:
        print(f"{'applied' if applied else 'pending'}  {migration.version:04d}_{migration.name}")
    pending = sum(1 for _, applied in status if not applied)
    print(f"{len(status) - pending} applied, {pending} pending")
    if missing:
        print(f"missing tables ({len(missing)}): {', '.join(missing)}")
        return EXIT_ERROR
    print("all required tables present")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recon", description="Reconciliation gates for data migrations")
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="manage the results store")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, handler, help_text in (
        ("upgrade", _db_upgrade, "apply pending DDL migrations (idempotent)"),
        ("status", _db_status, "list applied and pending migrations"),
    ):
        sub = db_commands.add_parser(name, help=help_text)
        sub.add_argument("--dsn", help="store DSN or Airflow connection URI "
                                       "(default: RECON_STORE_DSN, then AIRFLOW_CONN_RECON_STORE)")
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConnectionConfigError, MigrationError, StoreError) as exc:
        print(f"recon: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""``recon`` command line: the same engine and store as the Airflow operators, without Airflow.

Exit codes: 0 success (all matched), 1 mismatch found, 2 error (bad input, unreachable database).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from recon_operators.connections import ConnectionConfigError, store_dsn
from recon_operators.engine.scope import Scope, ScopeError
from recon_operators.engine.spec import SuiteError, load_suite
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


def _parse_scope(pairs: list[str]) -> Scope:
    values: dict[str, str] = {"env": "local"}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ScopeError(f"--scope takes KEY=VALUE, not {pair!r}")
        values[key.strip()] = value.strip()
    return Scope.from_mapping(values)


def _validate(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    kinds = ", ".join(sorted({c.kind for c in suite.checks}))
    print(f"{args.suite}: suite {suite.name} is valid: {len(suite.checks)} check(s) ({kinds}); "
          f"source {suite.source.kind}, target {suite.target.kind}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from recon_operators.engine.opener import open_side
    from recon_operators.engine.runner import run_suite
    from recon_operators.report import render_json, render_table, summary

    suite = load_suite(args.suite)
    scope = _parse_scope(args.scope)
    from recon_operators.diff_cli import TerminalProgress

    progress = TerminalProgress()
    try:
        results = run_suite(suite, scope, open_side, only=args.only or None, progress=progress)
    finally:
        progress.done()
    counts = summary(results)
    if args.json:
        print(render_json(suite.name, scope.as_dict(), results))
    else:
        print(f"suite {suite.name}  scope {scope.key}")
        print(render_table(results))
        print(f"{counts['matched']} matched, {counts['mismatched']} mismatched, {counts['errors']} errors")
    if counts["errors"]:
        return EXIT_ERROR
    return EXIT_MISMATCH if counts["mismatched"] else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recon", description="Reconciliation gates for data migrations")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="run a check suite; exit 0 all matched, 1 mismatch, 2 error")
    check.add_argument("suite", help="suite YAML file")
    check.add_argument("--scope", action="append", default=[], metavar="KEY=VALUE",
                       help="scope values bound into filters (repeatable), e.g. cohort_id=C1; env defaults to local")
    check.add_argument("--only", action="append", metavar="CHECK", help="run only this check (repeatable)")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    check.set_defaults(handler=_check)

    validate = commands.add_parser("validate", help="validate a suite without running it")
    validate.add_argument("suite", help="suite YAML file")
    validate.set_defaults(handler=_validate)

    from recon_operators import diff_cli

    diff_cli.add_parser(commands)

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
    except SuiteError as exc:
        for problem in exc.problems:
            print(f"recon: error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    except (ConnectionConfigError, MigrationError, StoreError, ScopeError) as exc:
        print(f"recon: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""``recon`` command line: the same engine and store as the Airflow operators, without Airflow.

Exit codes: 0 success (all matched), 1 compared and differences found, 2 anything else (bad input,
an unreachable database, a check that could not be evaluated). An exit 2 always prints exactly
one line on stderr, ``recon: error: ...``, naming the side, file, line or option at fault, with
secrets and PII masked; ``--debug`` (or ``RECON_DEBUG=1``) adds the traceback above it.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from recon_operators.connections import environment_secrets, store_dsn, url_secrets
from recon_operators.engine.scope import Scope, ScopeError
from recon_operators.engine.spec import SuiteError, SuiteSpec, load_suite
from recon_operators.errors import CommandError, error_line, mask_line, redact_values, url_secrets_in
from recon_operators.paths import resolve_suite_path
from recon_operators.store import apply_migrations, connect, migration_status
from recon_operators.store.catalog import missing_tables

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line too (exit 2), masked like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {mask_line(message)} (see {self.prog} --help)\n")


class Output:
    """What a command prints on stdout, with the secrets it knows of (``--dsn``, dataset URLs,
    a suite's connections, ``AIRFLOW_CONN_*``) hidden however an engine or driver quoted them.
    PII in stdout is the renderers' business (``--no-mask`` shows it on purpose)."""

    def __init__(self, secrets: set[str]):
        self.secrets = secrets

    def print(self, text: str) -> None:
        print(redact_values(text, self.secrets))


def _load_suite(path: str, out: Output) -> SuiteSpec:
    """Load a suite, first learning the passwords of the URLs written in it.

    A name that is no file here is looked up among the bundled suites (include/config/suites),
    so an installed ``recon`` runs ``recon check example_files.yaml`` from any folder.
    """
    if not Path(path).exists() and resolve_suite_path(path).is_file():
        path = str(resolve_suite_path(path))
    try:
        out.secrets |= url_secrets_in(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        pass  # load_suite says why, in one line
    return load_suite(path)


def _db_upgrade(args: argparse.Namespace, out: Output) -> int:
    conn = connect(store_dsn(args.dsn))
    try:
        applied = apply_migrations(conn)
    finally:
        conn.close()
    if applied:
        for migration in applied:
            out.print(f"applied {migration.version:04d}_{migration.name}")
        out.print(f"results store upgraded: {len(applied)} migration(s) applied")
    else:
        out.print("results store is up to date: nothing to apply")
    return EXIT_OK


def _db_status(args: argparse.Namespace, out: Output) -> int:
    conn = connect(store_dsn(args.dsn))
    try:
        status = migration_status(conn)
        missing = missing_tables(conn)
    finally:
        conn.close()
    for migration, applied in status:
        out.print(f"{'applied' if applied else 'pending'}  {migration.version:04d}_{migration.name}")
    pending = sum(1 for _, applied in status if not applied)
    out.print(f"{len(status) - pending} applied, {pending} pending")
    if missing:
        out.print(f"missing tables ({len(missing)}): {', '.join(missing)}")
        raise CommandError(f"the results store is missing {len(missing)} table(s): run recon db upgrade")
    out.print("all required tables present")
    return EXIT_OK


def _parse_scope(pairs: list[str]) -> Scope:
    values: dict[str, str] = {"env": "local"}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ScopeError(f"--scope takes KEY=VALUE, not {pair!r}")
        values[key.strip()] = value.strip()
    return Scope.from_mapping(values)


def _validate(args: argparse.Namespace, out: Output) -> int:
    """Every problem of the suite on stdout, one per line; the first also as the error line."""
    try:
        suite = _load_suite(args.suite, out)
    except SuiteError as exc:
        for problem in exc.problems:
            out.print(str(problem))
        raise
    kinds = ", ".join(sorted({c.kind for c in suite.checks}))
    out.print(
        f"{args.suite}: suite {suite.name} is valid: {len(suite.checks)} check(s) ({kinds}); "
        f"source {suite.source.kind}, target {suite.target.kind}"
    )
    return EXIT_OK


def _check(args: argparse.Namespace, out: Output) -> int:
    from recon_operators.engine.opener import open_side
    from recon_operators.engine.runner import run_suite
    from recon_operators.report import render_json, render_table, summary

    suite = _load_suite(args.suite, out)
    scope = _parse_scope(args.scope)
    unknown = sorted(set(args.only or ()) - {c.name for c in suite.checks})
    if unknown:
        raise CommandError(
            f"--only {', '.join(unknown)}: no such check in suite {suite.name} "
            f"(its checks: {', '.join(c.name for c in suite.checks)})"
        )
    from recon_operators.diff_cli import TerminalProgress, apply_engine

    engine = apply_engine(args)
    progress = TerminalProgress()
    try:
        results = run_suite(suite, scope, open_side, only=args.only or None, progress=progress, engine=engine)
    finally:
        progress.done()
    counts = summary(results)
    if args.json:
        out.print(render_json(suite.name, scope.as_dict(), results))
    else:
        out.print(f"suite {suite.name}  scope {scope.key}")
        out.print(render_table(results))
        out.print(f"{counts['matched']} matched, {counts['mismatched']} mismatched, {counts['errors']} errors")
    errors = [r for r in results if r.status.value == "Error"]
    if errors:
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise CommandError(
            f"{len(errors)} of {len(results)} check(s) could not be evaluated; "
            f"{errors[0].check_name}: {errors[0].message}{more}"
        )
    return EXIT_MISMATCH if counts["mismatched"] else EXIT_OK


def _config_docs(args: argparse.Namespace, out: Output) -> int:
    from recon_operators.config.reference import write_reference

    out.print(f"wrote {write_reference()}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="on an error, print the traceback too (or set RECON_DEBUG=1)",
    )
    parser = _Parser(prog="recon", description="Reconciliation gates for data migrations", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "check", help="run a check suite; exit 0 all matched, 1 mismatch, 2 error", parents=[common]
    )
    check.add_argument("suite", help="suite YAML file, or the name of a bundled suite (example_files.yaml)")
    check.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scope values bound into filters (repeatable), e.g. cohort_id=C1; env defaults to local",
    )
    check.add_argument("--only", action="append", metavar="CHECK", help="run only this check (repeatable)")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    from recon_operators.diff_cli import add_engine_options

    add_engine_options(check)
    check.set_defaults(handler=_check)

    validate = commands.add_parser("validate", help="validate a suite without running it", parents=[common])
    validate.add_argument("suite", help="suite YAML file, or the name of a bundled suite")
    validate.set_defaults(handler=_validate)

    from recon_operators import diff_cli

    diff_cli.add_parser(commands, parents=[common])

    docs = commands.add_parser(
        "config-docs", help="write docs/config-reference.md from the config models", parents=[common]
    )
    docs.set_defaults(handler=_config_docs)

    db = commands.add_parser("db", help="manage the results store", parents=[common])
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, handler, help_text in (
        ("upgrade", _db_upgrade, "apply pending DDL migrations (idempotent)"),
        ("status", _db_status, "list applied and pending migrations"),
    ):
        sub = db_commands.add_parser(name, help=help_text, parents=[common])
        sub.add_argument(
            "--dsn",
            help="store DSN or Airflow connection URI (default: RECON_STORE_DSN, then AIRFLOW_CONN_RECON_STORE)",
        )
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. Anything that is not a completed comparison exits 2 with one line."""
    argv = list(sys.argv[1:] if argv is None else argv)
    given = {s for a in argv for s in url_secrets(a) | url_secrets(a.partition("=")[2])}  # URL or --dsn=URL
    out = Output(environment_secrets(os.environ) | given)
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("RECON_DEBUG") == "1"
    try:
        return args.handler(args, out)
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - the contract: one line, never a traceback wall
        if debug:
            traceback.print_exc()
        line = "interrupted" if isinstance(exc, KeyboardInterrupt) else error_line(exc, out.secrets)
        print(f"recon: error: {line}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

"""``recon diff SOURCE TARGET --key ...``: the keyed row diff from the command line.

Exit codes and errors as for ``recon check`` (``cli.main``): 0 equal, 1 differences, 2 anything
that is not a completed diff, with one masked line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from recon_operators.engine.adapters.base import Adapter
from recon_operators.engine.opener import check_dataset, dataset_side, open_side, resolve_connection
from recon_operators.engine.rowdiff import DiffResult, DiffSpec, run_diff
from recon_operators.engine.rowdiff.model import DEFAULT_SAMPLE
from recon_operators.engine.rowdiff.options import column_pairs, parse_tolerance, rules_from, split_names
from recon_operators.engine.workspace import WorkspaceError, check_work_dir, size_bytes
from recon_operators.errors import CommandError, error_line

EXIT_OK, EXIT_DIFFERENT = 0, 1
T = TypeVar("T")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--spark-master``, shared by ``recon check`` and ``recon diff``."""
    parser.add_argument(
        "--engine",
        choices=("default", "spark"),
        default=None,
        help="default: each side on its own engine (DuckDB diff); spark: both sides read, "
        "aggregated and joined by Spark (docs/spark.md)",
    )
    parser.add_argument(
        "--spark-master",
        metavar="URL",
        default=None,
        help="Spark master for --engine spark (default local[*], or RECON_SPARK_MASTER)",
    )


def apply_engine(args: argparse.Namespace) -> str | None:
    """The run's engine; for Spark, its master is set before the session starts."""
    if args.spark_master and args.engine != "spark":
        raise CommandError("--spark-master needs --engine spark")
    if args.engine == "spark":
        from recon_operators.engine.spark.session import configure

        configure(args.spark_master)
    return args.engine


def add_parser(commands: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    diff = commands.add_parser(
        "diff",
        help="keyed row diff of two datasets; exit 0 equal, 1 differences, 2 error",
        description="Datasets: postgresql://user@host:port/db?table=schema.name (or &query=...), "
        "mysql://user@host:port/db?table=name, mongodb://host:port/db?collection=name, "
        "s3://bucket/key.csv, a local .csv/.parquet path, conn://<airflow_conn_id>?table=...; "
        "each takes &filter=... too.",
        parents=list(parents),
    )
    diff.add_argument("source", help="source dataset URL or path")
    diff.add_argument("target", help="target dataset URL or path")
    diff.add_argument("--key", required=True, action="append", metavar="COL[,COL]", help="key column(s)")
    diff.add_argument(
        "--columns",
        action="append",
        metavar="COL[,COL]",
        help="compare only these columns (default: every column both sides have)",
    )
    diff.add_argument("--exclude", action="append", metavar="COL[,COL]", help="columns not to compare")
    diff.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="COL=ABS",
        help="numeric tolerance: 0.01 absolute, 0.5%% relative, or 0.01,0.5%%",
    )
    for flag, where in (
        ("--rule", "both sides"),
        ("--source-rule", "the source only"),
        ("--target-rule", "the target only"),
    ):
        diff.add_argument(
            flag,
            action="append",
            default=[],
            metavar="COL=RULE",
            help=f"normalisation for {where}, e.g. amount=decimal,scale:2 or "
            "name=trim,lower,empty_as_null or ts=timestamp,tz:+07:00 (COL * = every column)",
        )
    diff.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="value bound to :KEY in a filter"
    )
    diff.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        metavar="N",
        help=f"sample rows kept per kind (default {DEFAULT_SAMPLE})",
    )
    diff.add_argument("--no-mask", action="store_true", help="show PII (MSISDN, IMSI, email) in samples unmasked")
    diff.add_argument(
        "--output",
        metavar="PATH",
        help="write every missing, extra and changed key (with the changed "
        "columns' values) to a .csv or .parquet file, local or s3://",
    )
    diff.add_argument(
        "--output-conn", metavar="CONN", help="AWS connection for an s3:// --output (default aws_default)"
    )
    diff.add_argument("--keys-only", action="store_true", help="compare keys only (no other column needed)")
    diff.add_argument("--work-dir", help="where the diff spills to disk (default: the system temp folder)")
    diff.add_argument("--memory-limit", default="1GB", help="DuckDB memory limit for the join (default 1GB)")
    diff.add_argument("--json", action="store_true", help="print one JSON object")
    add_engine_options(diff)
    diff.set_defaults(handler=run)


def spec_from(args: argparse.Namespace) -> DiffSpec:
    return DiffSpec(
        key=split_names(args.key),
        columns=split_names(args.columns) or None,
        exclude=split_names(args.exclude),
        rules=rules_from(column_pairs(args.rule, "--rule")),
        source_rules=rules_from(column_pairs(args.source_rule, "--source-rule")),
        target_rules=rules_from(column_pairs(args.target_rule, "--target-rule")),
        tolerances={c: parse_tolerance(v) for c, v in column_pairs(args.tolerance, "--tolerance").items()},
        sample_limit=args.sample,
        mask=not args.no_mask,
        keys_only=args.keys_only,
    )


def render_text(result: DiffResult) -> str:
    lines = [
        f"key {', '.join(result.key)}; {len(result.columns)} column(s) compared in {result.seconds:.2f}s",
        f"source rows {result.source_rows}, target rows {result.target_rows}, matched {result.matched_rows}",
        f"missing in target {result.missing_in_target}, extra in target {result.extra_in_target}, "
        f"changed {result.changed_rows}",
        f"duplicate keys: source {result.duplicate_keys_source}, target {result.duplicate_keys_target}",
    ]
    for column, count in sorted(result.column_mismatches.items()):
        lines.append(f"  {column}: {count} mismatched")
    for reason in result.incomparable.values():
        lines.append(f"  not compared: {reason}")
    for sample in result.samples:
        key = ",".join(str(v) for v in sample["key"].values())
        detail = " ".join(f"{c}={v}" for c, v in sample.get("columns", {}).items())
        lines.append(f"  {sample['status']} [{key}] {detail}".rstrip())
    lines.append("EQUAL" if result.equal else "DIFFERENT")
    return "\n".join(lines)


class TerminalProgress:
    """Phase and rows per side on one stderr line, only on a terminal (stdout and --json stay clean)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.state: dict[str, str] = {}

    def __call__(self, side: str, phase: str, rows: int) -> None:
        if not self.enabled:
            return
        self.state[side] = f"{side} {phase}" + (f" {rows:,} rows" if rows else "")
        sys.stderr.write("\r\033[K" + "; ".join(self.state.values()))
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.state:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _output_filesystem(args: argparse.Namespace) -> Any:
    if not (args.output or "").startswith("s3://"):
        return None
    from recon_operators.engine.adapters.files import s3_filesystem

    info, _ = resolve_connection(args.output_conn or "aws_default")
    return s3_filesystem(
        endpoint_url=info.extra.get("endpoint_url"),
        region=info.extra.get("region_name"),
        access_key=info.login,
        secret_key=info.password,
    )


def _named(side: str, work: Callable[[], T]) -> T:
    """``work()``; an error names the side it came from."""
    try:
        return work()
    except Exception as exc:
        raise CommandError(f"{side}: {error_line(exc)}") from exc


def _check_options(args: argparse.Namespace) -> None:
    """The workspace options, named as the user typed them, before any side is read."""
    for option, check in (
        ("--memory-limit", lambda: size_bytes(args.memory_limit)),
        ("--work-dir", lambda: check_work_dir(args.work_dir)),
    ):
        try:
            check()
        except WorkspaceError as exc:
            raise CommandError(f"{option}: {exc}") from None


def run(args: argparse.Namespace, out: Any) -> int:
    """Diff and print; errors propagate to ``cli.main``, which prints them as one masked line."""
    _check_options(args)
    engine = apply_engine(args)
    spec = spec_from(args)
    params = column_pairs(args.param, "--param")
    named = [("source", args.source), ("target", args.target)]
    sides = [_named(name, lambda url=url: dataset_side(url)) for name, url in named]
    for (name, _), (side, label) in zip(named, sides):
        _named(name, lambda side=side, label=label: check_dataset(side, label))
    progress = TerminalProgress()
    opened: list[Adapter] = []
    try:
        for (name, _), (side, label) in zip(named, sides):
            opened.append(
                _named(name, lambda side=side, label=label: open_side(side, label, params=params, engine=engine))
            )
        result = run_diff(
            spec,
            opened[0],
            opened[1],
            work_dir=args.work_dir,
            memory_limit=args.memory_limit,
            output=args.output,
            output_filesystem=_output_filesystem(args),
            progress=progress,
        )
    finally:
        progress.done()
        for dataset in opened:
            dataset.close()
    out.print(json.dumps(result.as_dict(), default=str) if args.json else render_text(result))
    return EXIT_OK if result.equal else EXIT_DIFFERENT

"""The diff itself: both sides staged concurrently into one on-disk DuckDB database, then one
columnar FULL OUTER JOIN on the key that keeps only the differing rows.

Memory stays bounded whatever the row count: staged tables live in a DuckDB file in a work
directory, DuckDB runs under ``memory_limit`` and spills its join to ``temp_directory``, and
only the differing rows (a small table) are read back, in key order, for counts and samples.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import duckdb

from recon_operators.engine.masking import mask_value
from recon_operators.engine.rowdiff.datasets import Dataset
from recon_operators.engine.rowdiff.model import DiffResult, DiffSpec
from recon_operators.engine.rowdiff.plan import ColumnPlan, plan_columns
from recon_operators.engine.sources.base import SourceError

DEFAULT_MEMORY_LIMIT = "1GB"
NUMERIC = "DECIMAL(38,10)"  # the value a number compares by: 28 integer and 10 decimal digits
NULL_TEXT = "NULL"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _duckdb(work_dir: str | None, memory_limit: str) -> Iterator[tuple[Any, Path]]:
    """A throw-away DuckDB database with bounded memory: beyond ``memory_limit`` its tables and
    join spill to ``temp_directory`` (in-memory tables skip the on-disk format's compression,
    which would cost more than the diff itself)."""
    root = Path(tempfile.mkdtemp(prefix="recon-diff-", dir=work_dir))
    try:
        duck = duckdb.connect()
        try:
            duck.execute(f"SET memory_limit = '{memory_limit}'")
            duck.execute(f"SET temp_directory = '{root / 'spill'}'")
            duck.execute("SET preserve_insertion_order = false")
            yield duck, root
        finally:
            duck.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _key_expr(plan: ColumnPlan) -> str:
    """Numeric keys match by value (``7`` = ``7.0``, shown as ``7``); text keys (MSISDN...) byte
    for byte. A fixed-scale decimal always has a '.', so trimming zeros then '.' is safe."""
    column = _q(plan.name)
    if plan.numeric:
        return f"coalesce(rtrim(rtrim(CAST(TRY_CAST({column} AS {NUMERIC}) AS VARCHAR), '0'), '.'), {column})"
    return column


def _differs(plan: ColumnPlan, left: str, right: str) -> str:
    """True when the canonical values differ beyond the column's tolerance (NULL = NULL)."""
    if not plan.numeric:
        return f"({left} IS DISTINCT FROM {right})"
    a, b = f"TRY_CAST({left} AS {NUMERIC})", f"TRY_CAST({right} AS {NUMERIC})"
    same = f"{a} = {b}"
    if plan.tolerance is not None:
        gap = f"abs(CAST({a} AS DOUBLE) - CAST({b} AS DOUBLE))"
        same = f"({gap} <= {float(plan.tolerance.abs)!r} OR {gap} <= {float(plan.tolerance.rel)!r} * abs(CAST({a} AS DOUBLE)))"
    # CASE evaluates lazily: the casts run only for the few values whose text differs.
    return f"(CASE WHEN {left} IS NOT DISTINCT FROM {right} THEN false ELSE NOT coalesce({same}, false) END)"


def _stage_both(duck: Any, root: Path, source: Dataset, target: Dataset, plans: list[ColumnPlan],
                timings: dict[str, float]) -> None:
    def stage(dataset: Dataset, table: str, side: str) -> None:
        cursor = duck.cursor()
        started = time.monotonic()
        try:
            dataset.stage(cursor, table, plans, side, root)
            timings[f"{side}_seconds"] = round(time.monotonic() - started, 3)
        except SourceError as exc:
            raise SourceError(f"{side}: {exc}") from None
        finally:
            cursor.close()

    shared = getattr(source, "connection", None) is not None and \
        getattr(source, "connection", None) is getattr(target, "connection", None)
    if shared:  # one DB-API connection cannot stream two results at once
        stage(source, "src", "source")
        stage(target, "tgt", "target")
        return
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="recon-diff") as pool:
        futures = [pool.submit(stage, source, "src", "source"), pool.submit(stage, target, "tgt", "target")]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error


def _kinds(dataset: Dataset, side: str) -> dict[str, str | None]:
    try:
        return dataset.kinds()
    except SourceError as exc:
        raise SourceError(f"{side}: {exc}") from None


def run_diff(spec: DiffSpec, source: Dataset, target: Dataset, *, work_dir: str | None = None,
             memory_limit: str = DEFAULT_MEMORY_LIMIT) -> DiffResult:
    """Diff two datasets by key. Raises ``SourceError`` (a side cannot be read) or ``DiffError``."""
    started = time.monotonic()
    plans = plan_columns(spec, _kinds(source, "source"), _kinds(target, "target"))
    keys = [p for p in plans if p.is_key]
    values = [p for p in plans if not p.is_key]
    result = DiffResult(key=[p.name for p in keys], columns=[p.name for p in values],
                        source=source.describe(), target=target.describe())
    with _duckdb(work_dir, memory_limit) as (duck, root):
        _stage_both(duck, root, source, target, plans, result.timings)
        compared = time.monotonic()
        _compare(duck, spec, keys, values, result)
        result.timings["compare_seconds"] = round(time.monotonic() - compared, 3)
    result.seconds = time.monotonic() - started
    return result


def _compare(duck: Any, spec: DiffSpec, keys: list[ColumnPlan], values: list[ColumnPlan], result: DiffResult) -> None:
    key_cols = [f"k{i}" for i in range(len(keys))]
    select = ", ".join([*(f"{_key_expr(p)} AS k{i}" for i, p in enumerate(keys)),
                        *(f"{_q(p.name)} AS v{j}" for j, p in enumerate(values)), "true AS p"])
    for table in ("src", "tgt"):
        duck.execute(f"CREATE TEMP VIEW {table}_keyed AS SELECT {select} FROM {table}")
        duck.execute(f"CREATE TEMP TABLE {table}_dup AS SELECT {', '.join(key_cols)}, count(*) AS n "
                     f"FROM {table}_keyed GROUP BY ALL HAVING count(*) > 1")
    result.source_rows = duck.execute("SELECT count(*) FROM src").fetchone()[0]
    result.target_rows = duck.execute("SELECT count(*) FROM tgt").fetchone()[0]
    result.duplicate_keys_source = duck.execute("SELECT count(*) FROM src_dup").fetchone()[0]
    result.duplicate_keys_target = duck.execute("SELECT count(*) FROM tgt_dup").fetchone()[0]
    compared_source = result.source_rows
    sides = {"src": "src_keyed", "tgt": "tgt_keyed"}
    if result.duplicate_keys_source or result.duplicate_keys_target:
        # Rows of a duplicated key are reported, not paired arbitrarily with the other side.
        keys_list = ", ".join(key_cols)
        duck.execute(f"CREATE TEMP TABLE dup_keys AS SELECT {keys_list} FROM src_dup UNION SELECT {keys_list} FROM tgt_dup")
        for table in ("src", "tgt"):
            duck.execute(f"CREATE TEMP VIEW {table}_unique AS SELECT * FROM {table}_keyed ANTI JOIN dup_keys USING ({keys_list})")
            sides[table] = f"{table}_unique"
        compared_source = duck.execute("SELECT count(*) FROM src_unique").fetchone()[0]

    on = " AND ".join(f"s.{k} = t.{k}" for k in key_cols)
    projections = ["s.p AS sp", "t.p AS tp",
                   *(f"coalesce(s.{k}, t.{k}) AS {k}" for k in key_cols),
                   *(f"{_differs(p, f's.v{j}', f't.v{j}')} AS d{j}" for j, p in enumerate(values)),
                   *(f"s.v{j} AS s{j}, t.v{j} AS t{j}" for j in range(len(values)))]
    differs = " OR ".join(["sp IS NULL", "tp IS NULL", *(f"d{j}" for j in range(len(values)))])
    duck.execute(f"CREATE TEMP TABLE diff AS SELECT * FROM (SELECT {', '.join(projections)} "
                 f"FROM {sides['src']} s FULL OUTER JOIN {sides['tgt']} t ON {on}) WHERE {differs}")

    column_sums = "".join(f", coalesce(sum(CAST(d{j} AS INTEGER)) FILTER (WHERE sp AND tp), 0)" for j in range(len(values)))
    row = duck.execute("SELECT count(*) FILTER (WHERE tp IS NULL), count(*) FILTER (WHERE sp IS NULL), "
                       f"count(*) FILTER (WHERE sp AND tp){column_sums} FROM diff").fetchone()
    result.missing_in_target, result.extra_in_target, result.changed_rows = row[0], row[1], row[2]
    result.matched_rows = compared_source - result.missing_in_target
    result.column_mismatches = {p.name: int(n) for p, n in zip(values, row[3:]) if n}
    result.samples = _samples(duck, spec, keys, values, key_cols)


def _samples(duck: Any, spec: DiffSpec, keys: list[ColumnPlan], values: list[ColumnPlan],
             key_cols: list[str]) -> list[dict[str, Any]]:
    """Up to ``sample_limit`` rows of each kind, in key order (a rerun shows the same rows)."""
    limit = int(spec.sample_limit)
    if not limit:
        return []
    order = ", ".join(key_cols)
    mask = (lambda column, value: mask_value(column, value)) if spec.mask else (lambda column, value: value)

    def key_of(row: tuple) -> dict[str, Any]:
        return {p.name: mask(p.name, row[i]) for i, p in enumerate(keys)}

    def text(column: str, value: Any) -> str:
        return NULL_TEXT if value is None else str(mask(column, value))

    samples: list[dict[str, Any]] = []
    width = len(key_cols)
    flags = ", ".join(f"d{j}, s{j}, t{j}" for j in range(len(values)))
    changed = duck.execute(f"SELECT {order}{', ' + flags if flags else ''} FROM diff WHERE sp AND tp "
                           f"ORDER BY {order} LIMIT {limit}").fetchall()
    for row in changed:
        columns = {}
        for j, plan in enumerate(values):
            differs, old, new = row[width + 3 * j: width + 3 * j + 3]
            if differs:
                columns[plan.name] = f"{text(plan.name, old)}~{text(plan.name, new)}"
        samples.append({"status": "changed", "key": key_of(row), "columns": columns})
    for status, where in (("missing_in_target", "tp IS NULL"), ("extra_in_target", "sp IS NULL")):
        for row in duck.execute(f"SELECT {order} FROM diff WHERE {where} ORDER BY {order} LIMIT {limit}").fetchall():
            samples.append({"status": status, "key": key_of(row)})
    for status, table in (("duplicate_in_source", "src_dup"), ("duplicate_in_target", "tgt_dup")):
        for row in duck.execute(f"SELECT {order}, n FROM {table} ORDER BY {order} LIMIT {limit}").fetchall():
            samples.append({"status": status, "key": key_of(row), "rows": int(row[width])})
    return samples

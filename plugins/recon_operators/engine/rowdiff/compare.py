"""The diff itself: both sides staged concurrently into one DuckDB database (tables, or views
over spill or local CSV files), then only the differing rows are kept.

When every compared column of both sides fits the memory budget: one pass per side for the row
count and duplicate keys, then a FULL OUTER JOIN on the key carrying every column. Beyond it,
each side is reduced, as soon as it is staged (while the other still streams), to a narrow
table: key, one 64-bit fingerprint per row (numbers hashed by value) and the tolerance columns.
One hash aggregate over both narrow tables gives row counts, duplicate keys and the missing,
extra and changed keys; full rows are read back for the changed keys only, a bit filter of
their hashes dropping the other rows as the files are parsed. So a 5M-row diff needs about
1 GB and costs about three parses per side. DuckDB runs under ``memory_limit`` and spills to
``temp_directory``; only the differing rows (a small table) are read back into Python, in key
order, for counts and samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from recon_operators.engine.adapters.base import Adapter, Progress, SourceError, value_free
from recon_operators.engine.canonical import ColumnPlan, finish_sql
from recon_operators.engine.masking import mask_value
from recon_operators.engine.rowdiff.model import DiffError, DiffResult, DiffSpec
from recon_operators.engine.rowdiff.plan import defer, finish, plan_columns
from recon_operators.engine.workspace import WorkspaceError, diff_workspace, lock_down, size_bytes
from recon_operators.errors import one_line

DEFAULT_MEMORY_LIMIT = "1GB"
T = TypeVar("T")
NULL_TEXT = "NULL"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key_expr(plan: ColumnPlan) -> str:
    """Keys are canonical text on both sides already (``7`` and ``7.00`` of a decimal pair render
    alike); floats and JSON are finished here."""
    return finish_sql(_q(plan.name), plan.form)


def _differs(plan: ColumnPlan, left: str, right: str) -> str:
    """True when the canonical values differ beyond the column's tolerance (NULL = NULL). CASE
    evaluates lazily: finishing (floats, JSON) and casts run only for values whose text differs."""
    if plan.tolerance is not None:
        a, b = f"TRY_CAST({left} AS DOUBLE)", f"TRY_CAST({right} AS DOUBLE)"
        gap = f"abs({a} - {b})"
        same = f"({gap} <= {float(plan.tolerance.abs)!r} OR {gap} <= {float(plan.tolerance.rel)!r} * abs({a}))"
    elif plan.finished:
        same = f"{finish(plan, 'source', left)} IS NOT DISTINCT FROM {finish(plan, 'target', right)}"
    else:
        return f"({left} IS DISTINCT FROM {right})"
    return f"(CASE WHEN {left} IS NOT DISTINCT FROM {right} THEN false ELSE NOT coalesce({same}, false) END)"


def _stage_both(
    duck: Any,
    root: Path,
    source: Adapter,
    target: Adapter,
    plans: list[ColumnPlan],
    timings: dict[str, float],
    memory: int,
    progress: Progress | None = None,
) -> int:
    """Stage both sides (concurrently unless they share a connection); returns the bytes of
    the sides left as views over files. A side too big for the wide join gets its narrow table
    (``narrow``) in its own thread as soon as it is staged, while the other side still streams."""

    def stage(dataset: Adapter, side: str) -> None:
        table = "src" if side == "source" else "tgt"
        cursor = duck.cursor()
        started = time.monotonic()
        try:
            if progress:
                progress(side, "reading", 0)
            dataset.stage(cursor, table, plans, side, root, memory // 4, progress)  # a table may hold a quarter
            if progress:  # rows of a staged table; a view over a file is counted by the comparison itself
                staged = 0 if dataset.staged_bytes else cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                progress(side, "staged", staged)
            timings[f"{side}_seconds"] = round(time.monotonic() - started, 3)
            if dataset.staged_bytes * 2 > memory:  # the join cannot be wide: see _compare
                _narrow(cursor, table, plans)
            elif not dataset.staged_bytes:  # a table: its row count and duplicated keys while the other side streams
                _side_counts(cursor, table, plans)
        except SourceError as exc:
            raise SourceError(f"{side}: {exc}") from None
        except duckdb.Error as exc:
            raise SourceError(f"{side}: {dataset.fail(exc)}") from None
        finally:
            cursor.close()

    _on_both(source, target, stage)
    return source.staged_bytes + target.staged_bytes


def _on_both(source: Adapter, target: Adapter, work: Callable[[Adapter, str], T]) -> tuple[T, T]:
    """``work(dataset, side)`` for the source and the target: at once, unless both sides are on
    one DB-API connection (which cannot serve two reads at once). The source's error wins."""
    connection = getattr(source, "connection", None)
    if connection is not None and connection is getattr(target, "connection", None):
        return work(source, "source"), work(target, "target")
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="recon-diff") as pool:
        futures = [pool.submit(work, source, "source"), pool.submit(work, target, "target")]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return futures[0].result(), futures[1].result()


def _types(dataset: Adapter, side: str) -> dict[str, Any]:
    """One side's column types (a file side samples its rows: about 0.3 s, so both run at once)."""
    try:
        return dataset.columns()
    except SourceError as exc:
        raise SourceError(f"{side}: {exc}") from None


def run_diff(
    spec: DiffSpec,
    source: Adapter,
    target: Adapter,
    *,
    work_dir: str | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    output: str | None = None,
    output_filesystem: Any = None,
    progress: Progress | None = None,
) -> DiffResult:
    """Diff two sides by key. Raises ``SourceError`` (a side cannot be read) or ``DiffError``.
    ``output``: a .csv/.parquet path (local or s3:// with ``output_filesystem``) that receives
    every missing, extra and changed key with the changed columns' values (``rowdiff.output``)."""
    from recon_operators.engine.rowdiff.output import check_output, write_output

    started = time.monotonic()
    try:
        size_bytes(memory_limit)  # a bad limit is an error before anything is read
    except WorkspaceError as exc:
        raise DiffError(str(exc)) from None
    local_output = check_output(output)
    plans = defer(plan_columns(spec, *_on_both(source, target, _types)), source.textual, target.textual)
    keys = [p for p in plans if p.is_key]
    values = [p for p in plans if not p.is_key and not p.incomparable]
    result = DiffResult(
        key=[p.name for p in keys],
        columns=[p.name for p in values],
        source=source.describe(),
        target=target.describe(),
        forms={p.name: p.describe() for p in plans if not p.incomparable},
        incomparable={p.name: p.incomparable for p in plans if p.incomparable},
    )
    try:
        with diff_workspace(work_dir, memory_limit) as (duck, root):
            lock_down(
                duck,
                [str(root)],
                [
                    *source.local_files(),
                    *target.local_files(),
                    *([local_output] if local_output and not output_filesystem else []),
                ],
            )
            on_spark = source.engine == "spark" and target.engine == "spark"  # the join runs in Spark
            staged_bytes = (
                0
                if on_spark
                else _stage_both(duck, root, source, target, plans, result.timings, _bytes(memory_limit), progress)
            )
            compared = time.monotonic()
            if progress:
                progress("both", "comparing", 0)
            try:
                if on_spark:
                    from recon_operators.engine.spark.diff import spark_compare

                    spark_compare(duck, spec, source, target, plans, result)
                else:
                    _compare(duck, spec, keys, values, result, memory_limit, staged_bytes)
                if output:
                    write_output(duck, root, output, output_filesystem, keys, values, mask=spec.mask)
            except (duckdb.Error, OSError) as exc:  # a file side read in each pass, a full disk, an S3 upload
                sides = f"{source.label} / {target.label}"
                raise SourceError(f"{sides}: {value_free(one_line(exc))}") from None
            result.timings["compare_seconds"] = round(time.monotonic() - compared, 3)
    except WorkspaceError as exc:
        raise DiffError(str(exc)) from None
    result.seconds = time.monotonic() - started
    return result


def _compare(
    duck: Any,
    spec: DiffSpec,
    keys: list[ColumnPlan],
    values: list[ColumnPlan],
    result: DiffResult,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    staged_bytes: int = 0,
) -> None:
    """``staged_bytes``: size of the sides DuckDB reads from files in each pass (views)."""
    key_cols = [f"k{i}" for i in range(len(keys))]
    for table in ("src", "tgt"):
        _keyed(duck, table, [*keys, *values])
    in_tables = (
        0 if staged_bytes else sum(duck.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("src", "tgt"))
    )
    wide = _fits(in_tables, len(keys) + len(values), memory_limit) and staged_bytes * 2 <= _bytes(memory_limit)
    sides = {"src": "src_keyed", "tgt": "tgt_keyed"}
    if not wide:
        for table in ("src", "tgt"):
            _narrow(duck, table, [*keys, *values])
        compared_source = _group_keys(duck, values, key_cols, result)
        _join_by_fingerprint(duck, values, key_cols, sides)
        _count_diff(duck, spec, keys, values, key_cols, result, compared_source)
        return
    # A side read from its file in each pass (a view) is read once: counts come from the join
    # itself. Tables are cheap to read again, and each was counted as it was staged.
    compared_source = _join_once(duck, values, key_cols, result, sides) if staged_bytes else None
    if compared_source is not None:  # no key is duplicated: counts and the diff came from one join
        _count_diff(duck, spec, keys, values, key_cols, result, compared_source)
        return
    compared_source = _count_rows_and_duplicates(duck, [*keys, *values], result)
    if result.duplicate_keys_source or result.duplicate_keys_target:
        # Rows of a duplicated key are reported, not paired arbitrarily with the other side.
        keys_list = ", ".join(key_cols)
        duck.execute(
            f"CREATE TEMP TABLE dup_keys AS SELECT {keys_list} FROM src_dup UNION SELECT {keys_list} FROM tgt_dup"
        )

        def unique(relation: str) -> str:
            duck.execute(
                f"CREATE TEMP VIEW {relation}_unique AS SELECT * FROM {relation} ANTI JOIN dup_keys USING ({keys_list})"
            )
            return f"{relation}_unique"

        sides = {t: unique(r) for t, r in sides.items()}
        compared_source = duck.execute(f"SELECT count(*) FROM {sides['src']}").fetchone()[0]
    _join_wide(duck, values, key_cols, sides)
    _count_diff(duck, spec, keys, values, key_cols, result, compared_source)


def _count_diff(
    duck: Any,
    spec: DiffSpec,
    keys: list[ColumnPlan],
    values: list[ColumnPlan],
    key_cols: list[str],
    result: DiffResult,
    compared_source: int,
) -> None:
    """Counts and samples from the ``diff`` table (small: the differing rows only)."""
    column_sums = "".join(
        f", coalesce(sum(CAST(d{j} AS INTEGER)) FILTER (WHERE sp AND tp), 0)" for j in range(len(values))
    )
    row = duck.execute(
        "SELECT count(*) FILTER (WHERE tp IS NULL), count(*) FILTER (WHERE sp IS NULL), "
        f"count(*) FILTER (WHERE sp AND tp){column_sums} FROM diff"
    ).fetchone()
    result.missing_in_target, result.extra_in_target, result.changed_rows = row[0], row[1], row[2]
    result.matched_rows = compared_source - result.missing_in_target
    result.column_mismatches = {p.name: int(n) for p, n in zip(values, row[3:]) if n}
    result.samples = _samples(duck, spec, keys, values, key_cols)


def _keyed(duck: Any, table: str, plans: list[ColumnPlan]) -> str:
    """``{table}_keyed``: the side as k0.. (canonical key) and v0.. (compared values), p = true.
    Not TEMP: a stage thread's cursor (another DuckDB connection) creates it too."""
    keys, values = [p for p in plans if p.is_key], [p for p in plans if not p.is_key]
    select = ", ".join(
        [
            *(f"{_key_expr(p)} AS k{i}" for i, p in enumerate(keys)),
            *(f"{_q(p.name)} AS v{j}" for j, p in enumerate(values)),
            "true AS p",
        ]
    )
    duck.execute(f"CREATE VIEW IF NOT EXISTS {table}_keyed AS SELECT {select} FROM {table}")
    return f"{table}_keyed"


def _narrow(duck: Any, table: str, plans: list[ColumnPlan]) -> str:
    """``{table}_narrow``, once: one pass over the side for (key, fingerprint, tolerance columns)."""
    keys, values = [p for p in plans if p.is_key], [p for p in plans if not p.is_key]
    tolerant = "".join(f", s.v{j}" for j, p in enumerate(values) if p.tolerance is not None)
    duck.execute(
        f"CREATE TABLE IF NOT EXISTS {table}_narrow AS SELECT {', '.join(f's.k{i}' for i in range(len(keys)))}, "
        f"{_fingerprint(values, 's')} AS h{tolerant}, true AS p FROM {_keyed(duck, table, plans)} s"
    )
    return f"{table}_narrow"


FILTER_BITS_PER_KEY, FILTER_MIN_BITS, FILTER_MAX_BITS = 16, 1 << 12, 1 << 24  # changed-key filter: < 1% false hits
BYTES_PER_VALUE = 24  # a short string in a DuckDB join hash table, with its share of the row overhead


def _bytes(limit: str) -> int:
    return size_bytes(limit)


def _fits(rows: int, columns: int, memory_limit: str) -> bool:
    """Whether a join carrying every column fits in memory; beyond, the join carries one
    fingerprint per row and full rows are read back for the changed keys only."""
    return rows * columns * BYTES_PER_VALUE <= _bytes(memory_limit)


def _join_wide(duck: Any, values: list[ColumnPlan], key_cols: list[str], sides: dict[str, str]) -> None:
    """The ``diff`` table in one pass: a FULL OUTER JOIN carrying every compared column. Equal
    staged text is equal data, so the per-column comparisons (finishing, parsing a CSV's text,
    tolerances) run only on the rows where some text differs."""
    on = " AND ".join(f"s.{k} = t.{k}" for k in key_cols)
    joined = [
        "s.p AS sp",
        "t.p AS tp",
        *(f"coalesce(s.{k}, t.{k}) AS {k}" for k in key_cols),
        *(f"s.v{j} AS s{j}, t.v{j} AS t{j}" for j in range(len(values))),
    ]
    text_differs = " OR ".join(
        ["s.p IS NULL", "t.p IS NULL", *(f"s.v{j} IS DISTINCT FROM t.v{j}" for j in range(len(values)))]
    )
    flags = [f"{_differs(p, f's{j}', f't{j}')} AS d{j}" for j, p in enumerate(values)]
    differs = " OR ".join(["sp IS NULL", "tp IS NULL", *(f"d{j}" for j in range(len(values)))])
    duck.execute(
        f"CREATE TEMP TABLE diff AS SELECT * FROM (SELECT *{''.join(', ' + f for f in flags)} FROM "
        f"(SELECT {', '.join(joined)} FROM {sides['src']} s FULL OUTER JOIN {sides['tgt']} t ON {on} "
        f"WHERE {text_differs})) WHERE {differs}"
    )


def _join_once(
    duck: Any, values: list[ColumnPlan], key_cols: list[str], result: DiffResult, sides: dict[str, str]
) -> int | None:
    """Row counts and the ``diff`` table from one FULL OUTER JOIN, each side read once (a file
    side is parsed once, as by DuckDB's own join diff). ``joined`` keeps every joined row narrow:
    its key, which sides it came from, and values only where some text differs. A key on more
    than one joined row is duplicated on a side: then ``joined`` is dropped and None returned, and
    the caller counts each side's keys first (duplicated keys are reported, never paired). A row
    with a NULL in its key never pairs and is never a duplicate. Returns the source's rows."""
    keys = ", ".join(key_cols)
    on = " AND ".join(f"s.{k} = t.{k}" for k in key_cols)
    text_differs = " OR ".join(
        ["s.p IS NULL", "t.p IS NULL", *(f"s.v{j} IS DISTINCT FROM t.v{j}" for j in range(len(values)))]
    )
    joined = [
        "s.p AS sp",
        "t.p AS tp",
        *(f"coalesce(s.{k}, t.{k}) AS {k}" for k in key_cols),
        f"({text_differs}) AS td",
        *(f"s.v{j} AS s{j}, t.v{j} AS t{j}" for j in range(len(values))),
    ]
    carried = "".join(
        f", CASE WHEN td THEN s{j} END AS s{j}, CASE WHEN td THEN t{j} END AS t{j}" for j in range(len(values))
    )
    duck.execute(
        f"CREATE TEMP TABLE joined AS SELECT sp, tp, {keys}, td{carried} FROM "
        f"(SELECT {', '.join(joined)} FROM {sides['src']} s FULL OUTER JOIN {sides['tgt']} t ON {on})"
    )
    null_key = " OR ".join(f"{k} IS NULL" for k in key_cols)
    keyed_rows, distinct_keys, source_rows, target_rows = duck.execute(
        f"SELECT count(*) FILTER (WHERE NOT ({null_key})), (SELECT count(*) FROM (SELECT DISTINCT {keys} FROM joined "
        f"WHERE NOT ({null_key}))), count(*) FILTER (WHERE sp), count(*) FILTER (WHERE tp) FROM joined"
    ).fetchone()
    if keyed_rows != distinct_keys:
        duck.execute("DROP TABLE joined")
        return None
    result.source_rows, result.target_rows = source_rows, target_rows
    result.duplicate_keys_source = result.duplicate_keys_target = 0
    for table in ("src", "tgt"):
        duck.execute(f"CREATE TEMP VIEW {table}_dup AS SELECT {keys}, CAST(0 AS BIGINT) AS n FROM joined WHERE false")
    flags = "".join(f", {_differs(p, f's{j}', f't{j}')} AS d{j}" for j, p in enumerate(values))
    differs = " OR ".join(["sp IS NULL", "tp IS NULL", *(f"d{j}" for j in range(len(values)))])
    pairs = "".join(f", s{j}, t{j}" for j in range(len(values)))
    duck.execute(
        f"CREATE TEMP TABLE diff AS SELECT * FROM (SELECT sp, tp, {keys}{pairs}{flags} FROM joined "
        f"WHERE td) WHERE {differs}"
    )
    return source_rows


def _side_counts(duck: Any, table: str, plans: list[ColumnPlan]) -> None:
    """``{table}_counts``, once: the side's duplicated keys (a NULL key is never one) and, the ()
    grouping set, its row total, in one pass. Not TEMP: a stage thread's cursor builds it."""
    key_cols = [f"k{i}" for i, p in enumerate(p for p in plans if p.is_key)]
    keys = ", ".join(key_cols)
    null_key = " OR ".join(f"{k} IS NULL" for k in key_cols)
    duck.execute(
        f"CREATE TABLE IF NOT EXISTS {table}_counts AS SELECT {keys}, GROUPING({key_cols[0]}) AS total, "
        f"count(*) AS n FROM {_keyed(duck, table, plans)} GROUP BY GROUPING SETS (({keys}), ()) "
        f"HAVING (count(*) > 1 AND NOT ({null_key})) OR GROUPING({key_cols[0]}) = 1"
    )


def _count_rows_and_duplicates(duck: Any, plans: list[ColumnPlan], result: DiffResult) -> int:
    """Row counts and duplicated keys (``src_dup``/``tgt_dup``) from each side's counts (built by
    its stage thread when it was staged as a table). Returns the source's row count."""
    for table in ("src", "tgt"):
        _side_counts(duck, table, plans)
        duck.execute(f"CREATE TEMP VIEW {table}_dup AS SELECT * EXCLUDE (total) FROM {table}_counts WHERE total = 0")
    result.source_rows = duck.execute("SELECT coalesce(sum(n), 0) FROM src_counts WHERE total = 1").fetchone()[0]
    result.target_rows = duck.execute("SELECT coalesce(sum(n), 0) FROM tgt_counts WHERE total = 1").fetchone()[0]
    result.duplicate_keys_source = duck.execute("SELECT count(*) FROM src_dup").fetchone()[0]
    result.duplicate_keys_target = duck.execute("SELECT count(*) FROM tgt_dup").fetchone()[0]
    return result.source_rows


def _fingerprint(values: list[ColumnPlan], alias: str) -> str:
    """One 64-bit hash of a row's compared values (canonical text); columns with a tolerance stay
    out of it and are compared one by one. Floats and JSON hash their engine text: a row whose
    text differs is only a candidate, settled by the per-column comparison of the full rows."""
    parts = [f"{alias}.v{j}" for j, plan in enumerate(values) if plan.tolerance is None]
    return f"hash({', '.join(parts)})" if parts else "0"


def _group_keys(duck: Any, values: list[ColumnPlan], key_cols: list[str], result: DiffResult) -> int:
    """Row counts, duplicated keys (``src_dup``/``tgt_dup``) and ``key_diff`` (missing, extra
    and changed keys) in one hash aggregate over both narrow tables, cheaper than a GROUP BY per
    side plus a FULL OUTER JOIN. A row with a NULL in the key never pairs (as in a join) and is
    never a duplicate: each is missing (source) or extra (target), as in the wide join. Returns
    the source rows whose key is not duplicated on either side."""
    keys = ", ".join(key_cols)
    tolerant = [j for j, p in enumerate(values) if p.tolerance is not None]
    carried = "".join(f", v{j}" for j in tolerant)
    null_key = " OR ".join(f"{k} IS NULL" for k in key_cols)
    both = " UNION ALL ".join(
        f"SELECT {keys}, h{carried}, {side} AS side FROM {table}_narrow WHERE NOT ({null_key})"
        for side, table in ((0, "src"), (1, "tgt"))
    )
    per_side = [
        "count(*) FILTER (WHERE side = 0) AS ns",
        "count(*) FILTER (WHERE side = 1) AS nt",
        "min(h) FILTER (WHERE side = 0) AS hs",
        "min(h) FILTER (WHERE side = 1) AS ht",
        *(f"min(v{j}) FILTER (WHERE side = 0) AS s{j}, min(v{j}) FILTER (WHERE side = 1) AS t{j}" for j in tolerant),
    ]
    changed = " OR ".join(["hs IS DISTINCT FROM ht", *(_differs(values[j], f"s{j}", f"t{j}") for j in tolerant)])
    duck.execute(
        f"CREATE TEMP TABLE key_groups AS SELECT * FROM (SELECT {keys}, {', '.join(per_side)} FROM ({both}) "
        f"GROUP BY {keys}) WHERE ns <> 1 OR nt <> 1 OR {changed}"
    )
    for table, count in (("src", "ns"), ("tgt", "nt")):
        duck.execute(f"CREATE TEMP VIEW {table}_dup AS SELECT {keys}, {count} AS n FROM key_groups WHERE {count} > 1")
    result.source_rows = duck.execute("SELECT count(*) FROM src_narrow").fetchone()[0]
    result.target_rows = duck.execute("SELECT count(*) FROM tgt_narrow").fetchone()[0]
    result.duplicate_keys_source = duck.execute("SELECT count(*) FROM src_dup").fetchone()[0]
    result.duplicate_keys_target = duck.execute("SELECT count(*) FROM tgt_dup").fetchone()[0]
    duplicated = duck.execute("SELECT coalesce(sum(ns), 0) FROM key_groups WHERE ns > 1 OR nt > 1").fetchone()[0]
    duck.execute(
        f"CREATE TEMP TABLE key_diff AS SELECT CASE WHEN ns = 1 THEN true END AS sp, "
        f"CASE WHEN nt = 1 THEN true END AS tp, {keys} FROM key_groups WHERE ns <= 1 AND nt <= 1 "
        f"UNION ALL SELECT true, NULL, {keys} FROM src_narrow WHERE {null_key} "
        f"UNION ALL SELECT NULL, true, {keys} FROM tgt_narrow WHERE {null_key}"
    )
    return result.source_rows - int(duplicated)


def _join_by_fingerprint(duck: Any, values: list[ColumnPlan], key_cols: list[str], sides: dict[str, str]) -> None:
    """The ``diff`` table from ``key_diff``: missing and extra keys as they are, full rows (with
    per-column flags) only for the changed keys, whose hash table stays small.
    """
    keys = ", ".join(key_cols)
    on = " AND ".join(f"s.{k} = t.{k}" for k in key_cols)
    flags = [f"{_differs(p, f's.v{j}', f't.v{j}')} AS d{j}" for j, p in enumerate(values)]
    pairs = [f"s.v{j} AS s{j}, t.v{j} AS t{j}" for j in range(len(values))]
    nulls = [f"CAST(NULL AS BOOLEAN) AS d{j}" for j in range(len(values))] + [
        f"CAST(NULL AS VARCHAR) AS s{j}, CAST(NULL AS VARCHAR) AS t{j}" for j in range(len(values))
    ]
    any_flag = " OR ".join(f"d{j}" for j in range(len(values))) or "false"
    # Full rows only for the changed keys: a SEMI JOIN hashes the small key table and streams
    # each side past it (a plain join may pick the big side to hash).
    duck.execute(f"CREATE TEMP TABLE changed_keys AS SELECT {keys} FROM key_diff WHERE sp AND tp")
    bits, slot = _key_filter(duck, keys)
    for table in ("src", "tgt"):
        duck.execute(
            f"CREATE TEMP TABLE {table}_changed AS SELECT * FROM (SELECT * FROM {sides[table]} "
            f"WHERE get_bit($bits::BIT, {slot}) = 1) SEMI JOIN changed_keys USING ({keys})",
            {"bits": bits},
        )
    duck.execute(
        f"CREATE TEMP TABLE diff AS "
        f"SELECT * FROM (SELECT true AS sp, true AS tp, {', '.join(f's.{k}' for k in key_cols)}"
        f"{''.join(', ' + x for x in flags + pairs)} FROM src_changed s JOIN tgt_changed t ON {on}) "
        f"WHERE {any_flag} "
        f"UNION ALL SELECT sp, tp, {keys}{''.join(', ' + x for x in nulls)} FROM key_diff "
        f"WHERE sp IS NULL OR tp IS NULL"
    )


def _key_filter(duck: Any, keys: str) -> tuple[str, str]:
    """A Bloom-style bit filter of the changed keys (one bit per key hash), as a BIT literal and
    the slot expression to test. Checking one bit per row drops all but the changed rows
    before the semi join, whose probe of every full-width row costs twice the file's parse;
    the semi join still decides, so a false positive costs nothing but a probe."""
    changed = duck.execute("SELECT count(*) FROM changed_keys").fetchone()[0]
    size = max(FILTER_MIN_BITS, min(FILTER_MAX_BITS, 1 << (changed * FILTER_BITS_PER_KEY).bit_length()))
    slot = f"CAST(hash({keys}) % {size} AS INTEGER)"
    bits = duck.execute(
        f"SELECT CAST(bitstring_agg(CAST(hash({keys}) % {size} AS BIGINT), 0, {size - 1}) AS VARCHAR) FROM changed_keys"
    ).fetchone()[0]
    return bits or "0" * size, slot


def _samples(
    duck: Any, spec: DiffSpec, keys: list[ColumnPlan], values: list[ColumnPlan], key_cols: list[str]
) -> list[dict[str, Any]]:
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
    flags = ", ".join(
        f"d{j}, {finish(p, 'source', f's{j}')}, {finish(p, 'target', f't{j}')}" for j, p in enumerate(values)
    )
    changed = duck.execute(
        f"SELECT {order}{', ' + flags if flags else ''} FROM diff WHERE sp AND tp ORDER BY {order} LIMIT {limit}"
    ).fetchall()
    for row in changed:
        columns = {}
        for j, plan in enumerate(values):
            differs, old, new = row[width + 3 * j : width + 3 * j + 3]
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

"""The keyed row diff on Spark: both sides' canonical columns (``SparkAdapter.frame``), a FULL
OUTER JOIN on the key in Spark, and only the rows whose text differs brought back.

Spark does the work that grows with the data: reading each side once (persisted), the row
counts, the duplicated keys and the join. What comes back to the driver is small: the
duplicated keys' count and first ``sample_limit`` rows, and the *candidate* rows (a side missing,
or some column's text differing). Those land in the diff's DuckDB, where the same code as the
default engine settles floats, JSON and tolerances (``compare._differs``), counts, samples,
masking and ``--output``; so both engines give the same JSON result.
"""

from __future__ import annotations

import time
from typing import Any

from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.canonical import ColumnPlan
from recon_operators.engine.rowdiff.model import DiffResult, DiffSpec
from recon_operators.engine.spark.dialect import SPARK


def _frame(adapter: Any, plans: list[ColumnPlan], side: str, keys: list[ColumnPlan], values: list[ColumnPlan]) -> Any:
    """k0.., v0.. and p = true, persisted on disk: the side is read once for all the passes below,
    and the heap stays free for the aggregates and the join (kept in memory, two 1M-row sides
    exhausted a 512 MB driver's heap; on disk the same diff completes)."""
    from pyspark import StorageLevel

    frame = adapter.frame(plans, side)
    names = [
        *(f"{SPARK.quote(p.name)} AS k{i}" for i, p in enumerate(keys)),
        *(f"{SPARK.quote(p.name)} AS v{j}" for j, p in enumerate(values)),
        "true AS p",
    ]
    return frame.selectExpr(*names).persist(StorageLevel.DISK_ONLY)


def _duplicates(frame: Any, key_cols: list[str]) -> Any:
    """Keys held by more than one row (a NULL key is never one), with their row counts."""
    from pyspark.sql import functions as F

    not_null = " AND ".join(f"{k} IS NOT NULL" for k in key_cols)
    return frame.where(not_null).groupBy(*key_cols).agg(F.count("*").alias("n")).where("n > 1")


def _to_duck(duck: Any, name: str, frame: Any, columns: dict[str, str]) -> None:
    """A small Spark result as a DuckDB table, columns cast to the given DuckDB types."""
    arrow = frame.toArrow()
    duck.register(f"{name}_arrow", arrow)
    try:
        select = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns.items())
        duck.execute(f"CREATE TEMP TABLE {name} AS SELECT {select} FROM {name}_arrow")
    finally:
        duck.unregister(f"{name}_arrow")


def spark_compare(
    duck: Any, spec: DiffSpec, source: Any, target: Any, plans: list[ColumnPlan], result: DiffResult
) -> None:
    """Fill ``result`` (counts, samples) and leave the ``diff`` table in ``duck``, as ``compare._compare`` does."""
    from recon_operators.engine.adapters.spark import spark_error
    from recon_operators.engine.rowdiff import compare

    keys = [p for p in plans if p.is_key]
    values = [p for p in plans if not p.is_key and not p.incomparable]
    key_cols = [f"k{i}" for i in range(len(keys))]
    frames: list[Any] = []
    try:
        started = time.monotonic()
        src = _frame(source, [*keys, *values], "source", keys, values)
        frames.append(src)
        tgt = _frame(target, [*keys, *values], "target", keys, values)
        frames.append(tgt)
        result.source_rows, result.target_rows = src.count(), tgt.count()
        result.timings["spark_read_seconds"] = round(time.monotonic() - started, 3)
        key_types = {k: "VARCHAR" for k in key_cols}
        dups = {}
        for name, frame in (("src", src), ("tgt", tgt)):
            dup = _duplicates(frame, key_cols)
            count = dup.count()
            dups[name] = dup if count else None
            setattr(result, "duplicate_keys_source" if name == "src" else "duplicate_keys_target", count)
            _to_duck(
                duck,
                f"{name}_dup",
                dup.orderBy(*key_cols).limit(max(spec.sample_limit, 1)),
                {**key_types, "n": "BIGINT"},
            )
        if any(d is not None for d in dups.values()):
            # Rows of a duplicated key are reported, not paired arbitrarily with the other side.
            dup_keys = None
            for dup in dups.values():
                if dup is not None:
                    part = dup.select(*key_cols)
                    dup_keys = part if dup_keys is None else dup_keys.union(part)
            dup_keys = dup_keys.distinct()
            src = src.join(dup_keys, key_cols, "left_anti")
            tgt = tgt.join(dup_keys, key_cols, "left_anti")
            compared_source = src.count()
        else:
            compared_source = result.source_rows
        joined = time.monotonic()
        session = source.spark
        src.createOrReplaceTempView("recon_diff_src")
        tgt.createOrReplaceTempView("recon_diff_tgt")
        on = " AND ".join(f"s.{k} = t.{k}" for k in key_cols)
        text_differs = " OR ".join(
            ["s.p IS NULL", "t.p IS NULL", *(f"NOT (s.v{j} <=> t.v{j})" for j in range(len(values)))]
        )
        selected = [
            "s.p AS sp",
            "t.p AS tp",
            *(f"coalesce(s.{k}, t.{k}) AS {k}" for k in key_cols),
            *(f"s.v{j} AS s{j}, t.v{j} AS t{j}" for j in range(len(values))),
        ]
        candidates = session.sql(
            f"SELECT {', '.join(selected)} FROM recon_diff_src s FULL OUTER JOIN "
            f"recon_diff_tgt t ON {on} WHERE {text_differs}"
        )
        columns = {
            "sp": "BOOLEAN",
            "tp": "BOOLEAN",
            **key_types,
            **{c: "VARCHAR" for j in range(len(values)) for c in (f"s{j}", f"t{j}")},
        }
        _to_duck(duck, "candidates", candidates, columns)
        result.timings["spark_join_seconds"] = round(time.monotonic() - joined, 3)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - Spark analysis and JVM errors
        raise SourceError(f"{source.label} / {target.label}: {spark_error(exc)}") from None
    finally:
        for frame in frames:
            frame.unpersist()
        for view in ("recon_diff_src", "recon_diff_tgt"):
            try:
                source.spark.catalog.dropTempView(view)
            except Exception:  # noqa: BLE001 - best effort: nothing is left to undo when this fails
                pass
    flags = [f"{compare._differs(p, f's{j}', f't{j}')} AS d{j}" for j, p in enumerate(values)]
    differs = " OR ".join(["sp IS NULL", "tp IS NULL", *(f"d{j}" for j in range(len(values)))])
    duck.execute(
        f"CREATE TEMP TABLE diff AS SELECT * FROM (SELECT *{''.join(', ' + f for f in flags)} "
        f"FROM candidates) WHERE {differs}"
    )
    compare._count_diff(duck, spec, keys, values, key_cols, result, compared_source)

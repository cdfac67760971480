"""Keyed row diff: which rows differ between two datasets, and in which columns.

Plain Python (no Airflow), used by ``recon diff``, ``RowDiffOperator`` and any DAG that needs
row-level metrics (e.g. the daily OLD-vs-NEW claims reconciliation). Public API::

    from recon_operators.engine.rowdiff import DiffSpec, SqlDataset, run_diff

    old = SqlDataset(pg_conn, "postgres", table="stage.claims_old")          # psycopg2 connection
    new = SqlDataset(pg_conn2, "postgres", table="stage.claims_new", filter="day = :day",
                     params={"day": "2026-01-31"})
    result = run_diff(DiffSpec(key=("claim_id",), sample_limit=50), old, new)
    result.source_rows, result.target_rows      # row counts
    result.matched_rows                         # keys found once on both sides (equal or changed)
    result.missing_in_target, result.extra_in_target, result.changed_rows
    result.duplicate_keys_source, result.duplicate_keys_target
    result.column_mismatches                    # {column: rows whose value differs}
    result.samples                              # [{"status": "changed", "key": {...},
                                                #   "columns": {"amount": "10.5~11"}}, ...]
    result.as_dict()                            # the same, JSON-ready (what `recon diff --json` prints)

Datasets: ``SqlDataset`` (Postgres/MySQL/MariaDB table or query, SQL filter with ``:name``
parameters), ``FileDataset`` (CSV/Parquet, local or S3 with an Arrow filesystem),
``MongoDataset`` (a collection of a pymongo/mongomock database). Both sides may be any mix.
Two SqlDatasets on the same connection are read one after the other, otherwise concurrently.
All-TEXT stage tables (as a CSV load produces) compare as text unless a rule says otherwise:
declare ``rules={"amount": ColumnRule(type="decimal")}`` or a tolerance to compare by value.

``samples`` hold up to ``sample_limit`` rows per status (changed, missing_in_target,
extra_in_target, duplicate_in_source, duplicate_in_target) in key order, PII masked unless
``DiffSpec(mask=False)``; NULL shows as ``NULL`` in ``"old~new"``.

``urls.parse_dataset_url``/``open_dataset`` turn the CLI's dataset URLs into datasets.
Errors: ``SourceError`` (a side cannot be read; the message names the side) and ``DiffError``
(the diff is asked wrongly: no key, unknown column).

How it stays fast and bounded: see ``datasets`` (bulk streaming, normalised where the data
lives) and ``compare`` (on-disk DuckDB, one columnar join keeping only differing rows).
"""

from recon_operators.engine.rowdiff.compare import run_diff
from recon_operators.engine.rowdiff.datasets import Dataset, FileDataset, MongoDataset, SqlDataset
from recon_operators.engine.rowdiff.model import DiffError, DiffResult, DiffSpec

__all__ = ["Dataset", "DiffError", "DiffResult", "DiffSpec", "FileDataset", "MongoDataset", "SqlDataset", "run_diff"]

"""Keyed row diff: which rows differ between two sides, and in which columns.

Plain Python (no Airflow), used by ``recon diff``, ``RowDiffOperator`` and any DAG that needs
row-level metrics (e.g. the daily OLD-vs-NEW claims reconciliation). Sides are engine adapters
(``engine.adapters``), opened from a URL, a connection id or a mapping by ``engine.opener``::

    from recon_operators.engine.opener import open_dataset
    from recon_operators.engine.rowdiff import DiffSpec, run_diff

    with open_dataset("postgresql://u@h/db?table=stage.claims_old") as old, \\
            open_dataset({"conn_id": "stage_mysql", "table": "claims"}) as new:
        result = run_diff(DiffSpec(key=("claim_id",), sample_limit=50), old, new, output="diff.parquet")
    result.source_rows, result.target_rows      # row counts
    result.matched_rows                         # keys found once on both sides (equal or changed)
    result.missing_in_target, result.extra_in_target, result.changed_rows
    result.duplicate_keys_source, result.duplicate_keys_target
    result.column_mismatches                    # {column: rows whose value differs}
    result.forms                                # {column: the canonical form each side rendered}
    result.incomparable                         # {column: why its types cannot be compared}
    result.samples                              # [{"status": "changed", "key": {...},
                                                #   "columns": {"amount": "10.5~11"}}, ...]
    result.as_dict()                            # the same, JSON-ready (what `recon diff --json` prints)

Every column pair is compared in its canonical form (``engine.canonical``), computed where the
data lives: equal data matches across engines with no rule written; rules are overrides.
``samples`` hold up to ``sample_limit`` rows per status in key order, PII masked unless
``DiffSpec(mask=False)``; NULL shows as ``NULL`` in ``"old~new"``. Errors: ``SourceError`` (a
side cannot be read; the message names the side) and ``DiffError`` (the diff is asked wrongly).

How it stays fast and bounded: see ``compare`` (sides staged concurrently into DuckDB under a
memory limit; a full-width join, or beyond the budget a fingerprint join then full rows for the
changed keys only).
"""

from recon_operators.engine.rowdiff.compare import run_diff
from recon_operators.engine.rowdiff.model import DiffError, DiffResult, DiffSpec

__all__ = ["DiffError", "DiffResult", "DiffSpec", "run_diff"]

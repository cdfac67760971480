"""``--output``: every missing, extra and changed key in one file, streamed out of DuckDB.

One row per difference: ``status`` (missing_in_target, extra_in_target, changed), the key
columns, then ``<column>__source`` and ``<column>__target`` for each compared column, filled
where that column changed. CSV or Parquet by the extension; a local path or ``s3://`` (written
to the spill folder by DuckDB's COPY, then copied up through the Arrow filesystem). Columns whose
names say MSISDN, IMSI or email are masked in SQL unless masking is off; other free text is
written as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from recon_operators.engine.canonical import ColumnPlan
from recon_operators.engine.masking import _column_kind
from recon_operators.engine.rowdiff.model import DiffError
from recon_operators.engine.rowdiff.plan import finish
from recon_operators.paths import read_sql

FORMATS = {".csv": "(FORMAT csv, HEADER true)", ".parquet": "(FORMAT parquet)"}


def _format(path: str) -> str:
    suffix = Path(path.split("?", 1)[0]).suffix.lower()
    if suffix not in FORMATS:
        raise DiffError(f"--output {path}: name a .csv or .parquet file")
    return FORMATS[suffix]


def check_output(path: str | None) -> str | None:
    """Fail before reading anything; the local file DuckDB will write (None for S3 or no output)."""
    if path is None:
        return None
    _format(path)
    if any(c in path for c in "'\"\\\n\r\x00"):
        raise DiffError("--output must not hold quotes, backslashes or line breaks")
    if path.startswith("s3://"):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise DiffError(f"--output folder {folder} does not exist")
    return os.path.abspath(path)


def _masked(name: str, expr: str, mask: bool) -> str:
    kind = _column_kind(name) if mask else None
    return f"recon_mask_{kind}({expr})" if kind else expr


def write_output(
    duck: Any, root: Path, path: str, filesystem: Any, keys: list[ColumnPlan], values: list[ColumnPlan], *, mask: bool
) -> None:
    duck.execute(read_sql("engine/duckdb_masks.sql"))
    status = "CASE WHEN tp IS NULL THEN 'missing_in_target' WHEN sp IS NULL THEN 'extra_in_target' ELSE 'changed' END"
    columns = [f"{status} AS status", *(f'{_masked(p.name, f"k{i}", mask)} AS "{p.name}"' for i, p in enumerate(keys))]
    for j, plan in enumerate(values):
        for side, prefix in (("source", "s"), ("target", "t")):
            value = _masked(plan.name, finish(plan, side, f"{prefix}{j}"), mask)
            columns.append(f'CASE WHEN sp AND tp AND d{j} THEN {value} END AS "{plan.name}__{side}"')
    order = ", ".join(f"k{i}" for i in range(len(keys)))
    local = str(root / f"output{Path(path).suffix.lower()}") if path.startswith("s3://") else os.path.abspath(path)
    duck.execute(f"COPY (SELECT {', '.join(columns)} FROM diff ORDER BY {order}) TO '{local}' {_format(path)}")
    if path.startswith("s3://"):
        if filesystem is None:
            raise DiffError(f"--output {path}: an S3 path needs an AWS connection")
        import pyarrow.fs as pafs

        pafs.copy_files(
            local, path[len("s3://") :], source_filesystem=pafs.LocalFileSystem(), destination_filesystem=filesystem
        )

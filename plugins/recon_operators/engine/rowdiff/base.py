"""What every row diff side offers (``Dataset``) and the helpers the sides share.

A side streams its rows, as canonical text, into a DuckDB table or view. See ``sql_dataset``,
``file_dataset`` and ``mongo_dataset``; ``datasets`` gathers them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recon_operators.engine.rowdiff.plan import DATE, NUMBER, TIMESTAMP, ColumnPlan
from recon_operators.engine.sources.base import SourceError
from recon_operators.errors import one_line


def literal(text: str) -> str:
    """A SQL string literal (DuckDB, Postgres)."""
    return "'" + text.replace("'", "''") + "'"


def arrow_kind(data_type: Any) -> str | None:
    import pyarrow as pa

    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return NUMBER
    if pa.types.is_timestamp(data_type):
        return TIMESTAMP
    if pa.types.is_date(data_type):
        return DATE
    return None


class Dataset:
    """One side. ``kinds()`` names its columns (and their kinds); ``stage()`` makes a DuckDB
    table or view whose VARCHAR columns are the plan's columns, in plan order, canonical text.
    ``table_budget``: bytes of data a side may hold in a DuckDB table (beyond, a view over the
    spill file)."""

    label = "dataset"
    staged_bytes = 0  # bytes DuckDB reads from files in each pass (a view); 0 for a table

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def kinds(self) -> dict[str, str | None]:
        raise NotImplementedError

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path,
              table_budget: int = 1 << 62) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def fail(self, exc: BaseException) -> SourceError:
        return SourceError(f"{self.label}: {one_line(exc)}")

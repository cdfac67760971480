"""File sides: CSV or Parquet, local or on S3, read by DuckDB (local CSV) or through Arrow."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Mapping

from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.identifiers import IdentifierError, quote_ident
from recon_operators.engine.normalise import NormaliseError
from recon_operators.engine.rowdiff.base import Dataset, arrow_kind, literal
from recon_operators.engine.rowdiff.plan import ColumnPlan, side_expression
from recon_operators.engine.sources.base import SourceError
from recon_operators.engine.spec import SideSpec


class FileDataset(Dataset):
    """CSV or Parquet, local or ``s3://`` (pass an Arrow ``filesystem`` for S3), a folder or a
    glob; ``filter`` is a DuckDB predicate. CSV columns are read as text, so ``10.10`` keeps its
    digits until the plan compares it as a number."""

    def __init__(self, path: str, format: str | None = None, *, filesystem: Any = None, filter: str | None = None,
                 csv: Mapping[str, Any] | None = None, label: str | None = None):
        self.format = format or ("parquet" if path.lower().endswith((".parquet", ".pq")) else "csv")
        self.path, self.filter, self.csv = path, filter, dict(csv or {})
        self.label = label or f"file {path}"
        self.dataset: Any = None
        self._native: str | None = None
        try:
            if filesystem is None and not path.startswith("s3://") and self.format == "csv" \
                    and self.csv.get("encoding", "utf8").lower() in ("utf8", "utf-8"):
                self._native, self._names = self._native_csv()
                return
            from recon_operators.engine.sources.files import FileSource

            self.dataset = FileSource._dataset(path, SideSpec(path=path, format=self.format, csv=self.csv),
                                               filesystem, empty_is_null=True)
            self._names = list(self.dataset.schema.names)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - Arrow, DuckDB and OS errors alike
            raise self.fail(exc) from None

    def describe(self) -> dict[str, Any]:
        out = {"engine": "file", "format": self.format, "path": self.path}
        if self.filter:
            out["filter"] = self.filter
        return out

    def kinds(self) -> dict[str, str | None]:
        if self.dataset is None:
            return dict.fromkeys(self._names)  # CSV: every column is text
        return {f.name: arrow_kind(f.type) for f in self.dataset.schema}

    def _native_csv(self) -> tuple[str, list[str]]:
        """DuckDB's own parallel CSV reader for local UTF-8 files (twice as fast as an Arrow
        scan, and no pyarrow to import): every column text, unquoted empty = NULL, ``""`` = ''."""
        import duckdb

        if "*" in self.path:
            files = sorted(glob.glob(self.path))
        elif os.path.isdir(self.path):
            files = sorted(glob.glob(os.path.join(self.path, "*.csv")))
        else:
            files = [self.path] if os.path.isfile(self.path) else []
        if not files:
            raise SourceError(f"{self.label}: no such file")
        options = (f"header={'false' if self.csv.get('header') is False else 'true'}, all_varchar=true, "
                   f"delim={literal(self.csv.get('delimiter', ','))}, quote='\"', escape='\"', "
                   "allow_quoted_nulls=false")
        listed = ", ".join(literal(f) for f in files)
        with duckdb.connect() as probe:
            names = [d[0] for d in probe.execute(f"SELECT * FROM read_csv([{listed}], {options}) LIMIT 0").description]
        quoted = ", ".join(literal(n) for n in names)
        self.staged_bytes = sum(os.path.getsize(f) for f in files)
        return f"read_csv([{listed}], {options}, names=[{quoted}])", names

    def stage(self, duck: Any, table: str, plans: list[ColumnPlan], side: str, spill_dir: Path,
              table_budget: int = 1 << 62) -> None:
        dialect, textual = DIALECTS["duckdb"], self.format == "csv"
        view = f"{table}_input"
        try:
            exprs = [f"{side_expression(dialect, quote_ident(p.name), p.rule(side), p.numeric, textual)} "
                     f"AS {quote_ident(p.name)}" for p in plans]
            where = f" WHERE ({self.filter})" if self.filter else ""
            duck.execute("SET TimeZone = 'UTC'")
            if self._native:  # a view: DuckDB reads the local file in each pass, as fast as a table scan
                duck.execute(f"CREATE VIEW {table} AS SELECT {', '.join(exprs)} FROM {self._native}{where}")
                duck.execute(f"SELECT 1 FROM {table} LIMIT 0")  # a bad filter fails here, naming this side
                return
            duck.register(view, self.dataset)  # S3 and Parquet: read once, into a table
            duck.execute(f"CREATE TABLE {table} AS SELECT {', '.join(exprs)} FROM {view}{where}")
        except (IdentifierError, NormaliseError) as exc:
            raise SourceError(f"{self.label}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - Arrow and DuckDB read errors
            raise self.fail(exc) from None
        finally:
            try:
                duck.unregister(view)
            except Exception:  # noqa: BLE001
                pass

"""Load one CSV extract, streamed from S3, into an all-TEXT Postgres stage table with COPY.

The bytes go from the S3 response straight into ``COPY ... FROM STDIN`` (psycopg2
``copy_expert``): no Python object per row, memory bounded by the read size, and Postgres' own
CSV parser applies the quoting rules. Only a leading UTF-8 BOM is removed on the way: left in,
it would sit before the header's first quote and could change how that skipped line is parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from recon_operators.claims.files import BOM, InvalidFile
from recon_operators.engine.identifiers import quote_ident, validate_identifier
from recon_operators.engine.masking import mask_text
from recon_operators.errors import one_line
from recon_operators.sql_templates import Ident, fragment, ident, render_sql

READ_SIZE = 1 << 20


@dataclass(frozen=True)
class StageTable:
    """``schema.name`` of a per-run stage table, validated once."""

    schema: str
    name: str

    def __post_init__(self) -> None:
        validate_identifier(self.schema)
        validate_identifier(self.name)

    @property
    def dotted(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def ident(self) -> Ident:
        return ident(self.schema, self.name)


def stage_table(schema: str, dataset: str, day_nodash: str, side: str) -> StageTable:
    """The day's table for one side, e.g. ``stage.claims_daily_claims_20260131_old``."""
    return StageTable(schema, f"claims_{dataset}_{day_nodash}_{side}")


class BomSkippingReader:
    """A read-only stream that drops a leading UTF-8 BOM from the wrapped stream."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self._first = True

    def read(self, size: int = -1) -> bytes:
        chunk = self.raw.read(READ_SIZE if size is None or size < 0 else max(size, len(BOM)))
        if self._first:
            self._first = False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM) :] or self.raw.read(READ_SIZE)
        return chunk


def _columns(names: Sequence[str], typed: bool) -> str:
    return ", ".join(f"{quote_ident(n)} text" if typed else quote_ident(n) for n in names)


def load_csv(conn: Any, table: StageTable, columns: Sequence[str], stream: BinaryIO, label: str) -> int:
    """(Re)create ``table`` with ``columns`` as TEXT and COPY ``stream`` into it; commits; returns rows.

    A malformed file (ragged row, unterminated quote, bad encoding) raises ``InvalidFile`` naming
    ``label`` and the line Postgres stopped at; nothing of it stays loaded.
    """
    import psycopg2

    cur = conn.cursor()
    try:
        cur.execute(
            render_sql("claims/create_stage_table.sql", table=table.ident, columns=fragment(_columns(columns, True)))
        )
        cur.copy_expert(
            render_sql("claims/copy_stage_table.sql", table=table.ident, columns=fragment(_columns(columns, False))),
            BomSkippingReader(stream),
            size=READ_SIZE,
        )
        rows = cur.rowcount
        conn.commit()
        return rows
    except psycopg2.DataError as exc:
        conn.rollback()
        raise InvalidFile(f"{label}: {_copy_error(exc)}") from None
    except BaseException:
        conn.rollback()
        raise
    finally:
        cur.close()


def _copy_error(exc: Any) -> str:
    """'line N: what' from a COPY error; the data Postgres quotes in its context is not repeated."""
    context = getattr(getattr(exc, "diag", None), "context", None) or ""
    line = ""
    for part in context.split(","):
        part = part.strip()
        if part.startswith("line "):
            line = part.split(":")[0] + ": "
            break
    primary = getattr(getattr(exc, "diag", None), "message_primary", None) or one_line(exc)
    return mask_text(line + primary)


def drop_table(conn: Any, table: StageTable) -> None:
    cur = conn.cursor()
    try:
        cur.execute(render_sql("claims/drop_stage_table.sql", table=table.ident))
        conn.commit()
    finally:
        cur.close()

"""The one template helper for SQL files: ``{name}`` slots take identifiers or code-built fragments.

SQL placeholder styles, one per purpose (tests/unit/test_sql_style.py holds include/sql to them):

* values are always bound parameters, ``%(name)s``, passed to ``cursor.execute``; never rendered;
* identifiers and SQL pieces go in ``{name}`` slots, filled by :func:`render_sql` (any dialect)
  or, in Postgres-only code that composes with the driver, by ``psycopg2.sql.SQL.format`` with
  ``sql.Identifier`` (the batch load): both read the same ``{name}`` syntax.

A slot takes an :func:`ident` (validated when made, quoted for the dialect when rendered) or a
:func:`fragment`: SQL the Python side assembled from fixed text and identifiers it quoted, never
text from config (:func:`literal` quotes a file path where DuckDB cannot bind one). A plain ``str`` is refused, so nothing reaches a slot unchecked. Full-line
``--`` comments are dropped first (they may name slots or hold ``%`` signs); a slot without a
value, or a value without a slot, is a bug in the caller and raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recon_operators.engine.identifiers import IdentifierError, quote_ident, validate_identifier
from recon_operators.paths import read_sql

_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Ident:
    """A possibly qualified identifier (``schema.table``, ``alias.column``), parts validated."""

    parts: tuple[str, ...]

    def quoted(self, dialect: str) -> str:
        return ".".join(quote_ident(part, dialect) for part in self.parts)


@dataclass(frozen=True)
class Fragment:
    """SQL built by code (fixed text and identifiers already quoted), never taken from config."""

    text: str


def ident(*parts: str) -> Ident:
    """``ident("schema", "table")`` or ``ident("schema.table")``; each part validated now."""
    split = tuple(p for part in parts for p in (part.split(".") if isinstance(part, str) else [part]))
    if not 1 <= len(split) <= 3:
        raise IdentifierError(f"{'.'.join(map(str, split))!r} is not a valid [db.][schema.]name")
    return Ident(tuple(validate_identifier(p) for p in split))


def fragment(text: str) -> Fragment:
    return Fragment(text)


def literal(text: str) -> Fragment:
    """A string literal for the one place a value cannot be bound: a file path DuckDB reads or
    writes (``read_csv``, ``COPY ... TO``) in the benchmark. Quotes doubled, so it stays one literal."""
    return Fragment("'" + text.replace("'", "''") + "'")


def strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def render_sql(
    relative: str, *, dialect: str = "postgres", package: str | None = None, **slots: Ident | Fragment
) -> str:
    """The template ``relative`` (include/sql, or ``package``'s sql/) with its slots filled."""
    text = strip_comments(read_sql(relative, package=package))
    values: dict[str, str] = {}
    for name, value in slots.items():
        if isinstance(value, Ident):
            values[name] = value.quoted(dialect)
        elif isinstance(value, Fragment):
            values[name] = value.text
        else:
            raise TypeError(f"{relative}: slot {name} takes ident(...) or fragment(...), not {type(value).__name__}")
    found = set(_SLOT.findall(text))
    if found - set(values):
        raise RuntimeError(f"{relative}: no value for slot(s) {', '.join(sorted(found - set(values)))}")
    if set(values) - found:
        raise RuntimeError(f"{relative} lost its slot(s) {', '.join(sorted(set(values) - found))}")
    return _SLOT.sub(lambda match: values[match.group(1)], text)  # one pass: fragments are not re-read

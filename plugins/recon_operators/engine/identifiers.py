"""Identifiers from config are validated and quoted, never pasted into SQL as they come."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


class IdentifierError(ValueError):
    """A table, schema or column name from config is not a plain identifier."""


def validate_identifier(name: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise IdentifierError(f"{name!r} is not a valid identifier (letters, digits, _; max 63)")
    return name


def quote_ident(name: str, dialect: str = "postgres") -> str:
    """Quote one identifier part for the dialect after validating it."""
    validate_identifier(name)
    if dialect in ("mysql", "mariadb"):
        return f"`{name}`"
    return f'"{name}"'


def quote_qualified(dotted: str, dialect: str = "postgres") -> str:
    """Quote ``schema.table`` (or ``table``) part by part."""
    parts = dotted.split(".")
    if not 1 <= len(parts) <= 3:
        raise IdentifierError(f"{dotted!r} is not a valid [db.][schema.]name")
    return ".".join(quote_ident(p, dialect) for p in parts)

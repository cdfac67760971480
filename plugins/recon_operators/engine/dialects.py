"""SQL dialects: the same normalisation and aggregates, spelled for Postgres, MySQL/MariaDB
and DuckDB (which reads the file sides), so every engine yields identical canonical values.

Canonical forms (see ``normalise``): text as-is after trim/case/empty rules; decimals rounded
half away from zero to the declared scale; timestamps in UTC as ``YYYY-MM-DD HH:MM:SS``; dates
``YYYY-MM-DD``. Text comparisons are binary (MariaDB's case-insensitive collations would
otherwise merge ``Active`` and ``ACTIVE`` in a group-by or a distinct count).
"""

from __future__ import annotations

from recon_operators.engine.identifiers import quote_ident
from recon_operators.engine.normalise import ColumnRule, NormaliseError, offset_minutes, tzinfo_for

NULL_MARK = "\\N"  # stands for NULL inside a row hash, so (NULL, 'a') and ('a', NULL) differ


class Dialect:
    name = "generic"
    text_type = "VARCHAR"
    decimal_type = "DECIMAL(38,{scale})"
    sum_scale = 10

    def quote(self, name: str) -> str:
        return quote_ident(name)

    def qualified(self, dotted: str) -> str:
        return ".".join(self.quote(part) for part in dotted.split("."))

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    # -- normalisation ------------------------------------------------------------------------
    def as_text(self, expr: str) -> str:
        return f"CAST({expr} AS {self.text_type})"

    def text_rules(self, expr: str, rule: ColumnRule) -> str:
        if rule.trim:
            expr = f"TRIM({expr})"
        if rule.case == "upper":
            expr = f"UPPER({expr})"
        elif rule.case == "lower":
            expr = f"LOWER({expr})"
        if rule.empty_as_null:
            expr = f"NULLIF({expr}, '')"
        return expr

    def decimal(self, expr: str, scale: int | None) -> str:
        return f"CAST({expr} AS {self.decimal_type.format(scale=self.sum_scale if scale is None else scale)})"

    def integer(self, expr: str) -> str:
        return f"CAST({expr} AS BIGINT)"

    def utc_timestamp(self, expr: str, zone: str | None) -> str:
        raise NotImplementedError

    def format_timestamp(self, expr: str) -> str:
        raise NotImplementedError

    def format_date(self, expr: str) -> str:
        raise NotImplementedError

    def blank_to_null(self, expr: str) -> str:
        """Typed columns read from text (CSV) may hold '' for missing: treat it as NULL."""
        return f"NULLIF(TRIM({self.as_text(expr)}), '')"

    def typed(self, expr: str, rule: ColumnRule, textual: bool = False) -> str:
        """The normalised value, typed: numbers stay numbers (for sums, min/max)."""
        kind = rule.effective_type
        if kind in (None, "text"):
            return self.text_rules(self.as_text(expr) if rule.trim or rule.case else expr, rule)
        source = self.blank_to_null(expr) if textual else expr
        if kind == "decimal":
            return self.decimal(source, rule.scale)
        if kind == "integer":
            return self.integer(source)
        if kind == "timestamp":
            return self.format_timestamp(self.utc_timestamp(source, rule.timezone))
        if kind == "date":
            return self.format_date(source)
        raise NormaliseError(f"unsupported type {kind!r}")

    def canonical(self, expr: str, rule: ColumnRule, textual: bool = False) -> str:
        """The normalised value as canonical text: for group keys, distinct counts, hashes."""
        kind = rule.effective_type
        if kind == "decimal" and rule.scale is None:
            raise NormaliseError("a decimal column used as text (group, distinct, hash) needs a scale")
        typed = self.typed(expr, rule, textual)
        return typed if kind in ("timestamp", "date") else self.as_text(typed)

    def binary(self, expr: str) -> str:
        """Compare/group text byte-wise whatever the column's collation."""
        return expr

    # -- aggregates ---------------------------------------------------------------------------
    def row_hash(self, texts: list[str]) -> str:
        """60-bit integer from the md5 of the row's canonical texts joined by '|'."""
        raise NotImplementedError

    def concat_row(self, texts: list[str]) -> str:
        marked = [f"COALESCE({t}, {self.literal(NULL_MARK)})" for t in texts]
        return f"CONCAT_WS('|', {', '.join(marked)})"


class PostgresDialect(Dialect):
    name = "postgres"
    text_type = "text"
    decimal_type = "numeric(65,{scale})"

    def decimal(self, expr: str, scale: int | None) -> str:
        if scale is None:
            return f"CAST({expr} AS numeric)"
        return super().decimal(expr, scale)

    def utc_timestamp(self, expr: str, zone: str | None) -> str:
        # The session runs in UTC, so naive values read as UTC and aware ones convert to it.
        if zone is None:
            return f"(CAST({expr} AS timestamptz) AT TIME ZONE 'UTC')"
        minutes = offset_minutes(zone)
        if minutes is not None:
            return f"(CAST({expr} AS timestamp) - INTERVAL '{minutes} minutes')"
        tzinfo_for(zone)
        return f"((CAST({expr} AS timestamp) AT TIME ZONE {self.literal(zone)}) AT TIME ZONE 'UTC')"

    def format_timestamp(self, expr: str) -> str:
        return f"to_char({expr}, 'YYYY-MM-DD HH24:MI:SS')"

    def format_date(self, expr: str) -> str:
        return f"to_char(CAST({expr} AS date), 'YYYY-MM-DD')"

    def binary(self, expr: str) -> str:
        return f'({expr} COLLATE "C")'

    def row_hash(self, texts: list[str]) -> str:
        return f"CAST(CAST('x' || substr(md5({self.concat_row(texts)}), 1, 15) AS bit(60)) AS bigint)"


class MySQLDialect(Dialect):
    name = "mysql"
    text_type = "CHAR"
    decimal_type = "DECIMAL(65,{scale})"
    sum_scale = 30

    def quote(self, name: str) -> str:
        return quote_ident(name, "mysql")

    def literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def integer(self, expr: str) -> str:
        return f"CAST({expr} AS SIGNED)"

    def utc_timestamp(self, expr: str, zone: str | None) -> str:
        # The session time_zone is +00:00, so TIMESTAMP columns come back in UTC.
        value = f"CAST({expr} AS DATETIME)"
        if zone is None:
            return value
        minutes = offset_minutes(zone)
        if minutes is not None:
            return f"({value} - INTERVAL {minutes} MINUTE)"
        tzinfo_for(zone)
        return f"CONVERT_TZ({value}, {self.literal(zone)}, '+00:00')"

    def format_timestamp(self, expr: str) -> str:
        return f"DATE_FORMAT({expr}, '%Y-%m-%d %H:%i:%s')"

    def format_date(self, expr: str) -> str:
        return f"DATE_FORMAT(CAST({expr} AS DATE), '%Y-%m-%d')"

    def binary(self, expr: str) -> str:
        return f"CAST({expr} AS BINARY)"

    def row_hash(self, texts: list[str]) -> str:
        return f"CAST(CONV(SUBSTR(MD5({self.concat_row(texts)}), 1, 15), 16, 10) AS UNSIGNED)"


class DuckDBDialect(Dialect):
    name = "duckdb"

    def utc_timestamp(self, expr: str, zone: str | None) -> str:
        if zone is None:
            # Through TIMESTAMPTZ so text like '...+07:00' keeps its offset (the session is UTC,
            # so values without one read as UTC); a plain TIMESTAMP cast would drop the offset.
            return f"(CAST({expr} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
        value = f"CAST({expr} AS TIMESTAMP)"
        minutes = offset_minutes(zone)
        if minutes is None:
            raise NormaliseError(f"file sides take UTC or +HH:MM offsets, not the zone name {zone!r}")
        return f"({value} - to_minutes({minutes}))"

    def format_timestamp(self, expr: str) -> str:
        return f"strftime({expr}, '%Y-%m-%d %H:%M:%S')"

    def format_date(self, expr: str) -> str:
        return f"strftime(CAST({expr} AS DATE), '%Y-%m-%d')"

    def row_hash(self, texts: list[str]) -> str:
        return f"CAST('0x' || substr(md5({self.concat_row(texts)}), 1, 15) AS BIGINT)"


DIALECTS = {"postgres": PostgresDialect(), "mysql": MySQLDialect(), "duckdb": DuckDBDialect()}

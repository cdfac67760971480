"""SQL dialects: each engine renders a column pair's canonical form (``canonical``) in its own SELECT.

Postgres, MySQL/MariaDB and DuckDB (which reads the file sides) each spell the same forms, so
equal data yields identical text on every engine with no Python per row. Two forms are only
*transported* by Postgres and MariaDB (their text is lossless but not canonical) and finished
by DuckDB: floats (``recon_float``) and JSON (``recon_json``): see ``canonical.finish_sql``.

Text comparisons are binary (MariaDB's case-insensitive collations would otherwise merge
``Active`` and ``ACTIVE`` in a group-by or a distinct count).
"""

from __future__ import annotations

from recon_operators.engine.canonical import Form
from recon_operators.engine.identifiers import quote_ident
from recon_operators.engine.logical_types import (
    BINARY,
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    JSON,
    TEXT,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UUID,
    LogicalType,
)
from recon_operators.engine.normalise import ColumnRule, NormaliseError, offset_minutes, tzinfo_for

NULL_MARK = "\\N"  # stands for NULL inside a row hash, so (NULL, 'a') and ('a', NULL) differ
_TRUE_WORDS, _FALSE_WORDS = "'t', 'true', 'yes', '1'", "'f', 'false', 'no', '0'"


class Dialect:
    name = "generic"
    text_type = "VARCHAR"
    date_type = "DATE"

    def quote(self, name: str) -> str:
        return quote_ident(name)

    def qualified(self, dotted: str) -> str:
        return ".".join(self.quote(part) for part in dotted.split("."))

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

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

    def blank_to_null(self, expr: str) -> str:
        """Text read as a typed value: surrounding spaces dropped, '' is NULL."""
        return f"NULLIF(TRIM({self.as_text(expr)}), '')"

    def binary(self, expr: str) -> str:
        """Compare/group text byte-wise whatever the column's collation."""
        return expr

    # -- canonical forms --------------------------------------------------------------------------
    def canonical(
        self, expr: str, side: LogicalType, form: Form, rule: ColumnRule | None = None, textual: bool = False
    ) -> str:
        """The form as text, computed by this engine. ``textual``: the storage is text whatever
        the side's (inferred) type, as every column of a CSV file."""
        rule = rule or ColumnRule()
        if form.kind == TEXT:
            # CHAR(n) is padded on output by Postgres: the cast to text drops the padding
            base = expr if (side.kind == TEXT and not side.padded) or textual else self.typed_as_text(expr, side)
            return self.text_rules(base, rule)
        if side.kind == TEXT or textual:
            # '' is no number or date (NULL, as a CSV's empty field), but it is empty bytes
            return self.parse(self.blank_to_null(expr) if form.kind != BINARY else self.as_text(expr), form, rule)
        render = getattr(self, f"r_{form.kind}")
        return render(expr, side, form, rule)

    def typed_as_text(self, expr: str, side: LogicalType) -> str:
        if side.kind == TIMESTAMPTZ:
            return self.as_text(self.utc(expr, side, ColumnRule()))
        return self.as_text(expr)

    def parse(self, text: str, form: Form, rule: ColumnRule) -> str:
        """Text to the form (a declared rule, or text paired with a typed column)."""
        raise NotImplementedError

    def utc(self, expr: str, side: LogicalType, rule: ColumnRule) -> str:
        raise NotImplementedError

    def numeric(self, expr: str, side: LogicalType, form: Form, textual: bool = False) -> str:
        """The value as an exact number, for sums and numeric min/max."""
        raise NotImplementedError

    def r_boolean(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == BOOLEAN:
            return self.as_text(expr)
        return _zero_one(expr, self.as_text(expr))

    def r_timestamp(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        # Postgres (a UTC session, ISO DateStyle) and DuckDB print the fraction up to its last non-zero digit.
        return self.as_text(self.utc(expr, side, rule))

    def r_date(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        value = expr if side.kind == DATE else self.utc(expr, side, rule)
        return self.as_text(f"CAST({value} AS {self.date_type})")

    # -- aggregates -------------------------------------------------------------------------------
    def row_hash(self, texts: list[str]) -> str:
        """60-bit integer from the md5 of the row's canonical texts joined by '|'."""
        raise NotImplementedError

    def concat_row(self, texts: list[str]) -> str:
        marked = [f"COALESCE({t}, {self.literal(NULL_MARK)})" for t in texts]
        return f"CONCAT_WS('|', {', '.join(marked)})"


def _boolean_words(text: str) -> str:
    return (
        f"CASE WHEN LOWER({text}) IN ({_TRUE_WORDS}) THEN 'true' WHEN LOWER({text}) IN ({_FALSE_WORDS}) "
        f"THEN 'false' ELSE {text} END"
    )


def _zero_one(number: str, as_text: str) -> str:
    return f"CASE {number} WHEN 0 THEN 'false' WHEN 1 THEN 'true' ELSE {as_text} END"


class PostgresDialect(Dialect):
    name = "postgres"
    text_type = "text"
    date_type = "date"

    def typed_as_text(self, expr: str, side: LogicalType) -> str:
        if side.kind == BINARY:
            return f"encode({expr}, 'hex')"
        return super().typed_as_text(expr, side)

    def utc(self, expr: str, side: LogicalType, rule: ColumnRule) -> str:
        # The session runs in UTC: naive values are taken as UTC unless the rule names their zone.
        if side.kind == TIMESTAMPTZ:
            return f"({expr} AT TIME ZONE 'UTC')"
        value = expr if side.kind == TIMESTAMP else f"CAST({expr} AS timestamp)"
        if not rule.timezone:
            return value
        minutes = offset_minutes(rule.timezone)
        if minutes is not None:
            return f"({value} - INTERVAL '{minutes} minutes')"
        tzinfo_for(rule.timezone)
        return f"(({value} AT TIME ZONE {self.literal(rule.timezone)}) AT TIME ZONE 'UTC')"

    def r_integer(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == INTEGER:
            return self.as_text(expr)
        if side.kind == BOOLEAN:
            return f"CAST(CAST({expr} AS integer) AS text)"
        return f"CAST(CAST({expr} AS numeric(1000, 0)) AS text)"

    def r_decimal(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if form.scale is None:
            return f"CAST(trim_scale(CAST({expr} AS numeric)) AS text)"
        if side.kind == DECIMAL and side.scale == form.scale and not form.rounds:
            return self.as_text(expr)
        return f"CAST(CAST(CAST({expr} AS numeric) AS numeric(1000, {form.scale})) AS text)"

    def r_float(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.as_text(expr)  # shortest round-trip digits; DuckDB settles the notation

    def r_time(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"CAST(CAST({expr} AS time) AS text)"

    def r_uuid(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"LOWER({self.as_text(expr)})"

    def r_json(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.as_text(expr)

    def r_binary(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"encode({expr}, 'hex')" if side.kind == BINARY else f"encode(convert_to({expr}, 'UTF8'), 'hex')"

    def parse(self, text: str, form: Form, rule: ColumnRule) -> str:
        kind = form.kind
        if kind in (INTEGER, DECIMAL):
            return (
                self.r_decimal(text, LogicalType(TEXT), form, rule)
                if kind == DECIMAL
                else f"CAST(CAST(CAST({text} AS numeric) AS numeric(1000, 0)) AS text)"
            )
        if kind == BOOLEAN:
            return _boolean_words(text)
        if kind in (TIMESTAMP, DATE):
            value = (
                f"(CAST({text} AS timestamptz) AT TIME ZONE 'UTC')"
                if not rule.timezone
                else self.utc(text, LogicalType(TIMESTAMP), rule)
            )
            return f"CAST({value} AS text)" if kind == TIMESTAMP else f"CAST(CAST({value} AS date) AS text)"
        if kind == TIME:
            return f"CAST(CAST({text} AS time) AS text)"
        if kind == UUID:
            return f"LOWER({text})"
        if kind == BINARY:
            return f"encode(convert_to({text}, 'UTF8'), 'hex')"
        return text  # float and json: transported, finished by DuckDB

    def numeric(self, expr: str, side: LogicalType, form: Form, textual: bool = False) -> str:
        value = self.blank_to_null(expr) if side.kind == TEXT or textual else expr
        if form.rounds:
            return f"CAST(CAST({value} AS numeric) AS numeric(1000, {form.scale}))"
        return f"CAST({value} AS numeric)" if side.kind != FLOAT else f"CAST({value} AS double precision)"

    def binary(self, expr: str) -> str:
        return f'({expr} COLLATE "C")'

    def row_hash(self, texts: list[str]) -> str:
        return f"CAST(CAST('x' || substr(md5({self.concat_row(texts)}), 1, 15) AS bit(60)) AS bigint)"


def _trim_fraction(text: str) -> str:
    """'…16.500000' -> '…16.5', '…16.000000' -> '…16' (the text always holds a '.')."""
    return f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {text}))"


class MySQLDialect(Dialect):
    name = "mysql"
    text_type = "CHAR"

    def quote(self, name: str) -> str:
        return quote_ident(name, "mysql")

    def literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def typed_as_text(self, expr: str, side: LogicalType) -> str:
        if side.kind == BINARY:
            return f"LOWER(HEX({expr}))"
        if side.kind == BOOLEAN:
            return f"CAST({expr} + 0 AS CHAR)"
        return super().typed_as_text(expr, side)

    def utc(self, expr: str, side: LogicalType, rule: ColumnRule) -> str:
        # The session's time_zone is +00:00, so TIMESTAMP columns come back in UTC.
        value = f"CAST({expr} AS DATETIME(6))"
        if side.kind == TIMESTAMPTZ or not rule.timezone:
            return value
        minutes = offset_minutes(rule.timezone)
        if minutes is not None:
            return f"({value} - INTERVAL {minutes} MINUTE)"
        tzinfo_for(rule.timezone)
        return f"CONVERT_TZ({value}, {self.literal(rule.timezone)}, '+00:00')"

    def r_integer(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == INTEGER:
            return expr
        return f"CAST(CAST({expr} AS DECIMAL(65, 0)) AS CHAR)"

    def r_decimal(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if form.scale is None:
            if side.kind == INTEGER or (side.kind == DECIMAL and side.scale == 0):
                return expr
            text = f"CAST(CAST({expr} AS DECIMAL(65, 30)) AS CHAR)" if side.kind != DECIMAL else self.as_text(expr)
            return f"IF({expr} = 0, '0', {_trim_fraction(text)})"
        if side.kind == DECIMAL and side.scale == form.scale and not form.rounds:
            return expr
        return f"CAST(CAST({expr} AS DECIMAL(65, {min(form.scale, 30)})) AS CHAR)"

    def r_float(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.as_text(expr)

    def r_boolean(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return _zero_one(f"{expr} + 0", f"CAST({expr} + 0 AS CHAR)")

    def r_timestamp(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind in (TIMESTAMP, TIMESTAMPTZ) and not rule.timezone:
            # DATETIME(p)/TIMESTAMP(p) print their p fraction digits (in the session's UTC): no
            # cast to DATETIME(6) and back to text, 0.3 s of server CPU per 1M values
            return _trim_fraction(expr) if side.precision else expr
        return _trim_fraction(self.as_text(self.utc(expr, side, rule)))

    def r_date(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == DATE:
            return expr
        return f"CAST(CAST({self.utc(expr, side, rule)} AS DATE) AS CHAR)"

    def r_time(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == TIME:
            return _trim_fraction(expr) if side.precision else expr  # TIME(p) prints p digits
        return _trim_fraction(f"CAST(CAST({expr} AS TIME(6)) AS CHAR)")

    def r_uuid(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"LOWER({self.as_text(expr)})"

    def r_json(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return expr

    def r_binary(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"LOWER(HEX({expr}))"

    def parse(self, text: str, form: Form, rule: ColumnRule) -> str:
        kind = form.kind
        if kind == INTEGER:
            return f"CAST(CAST({text} AS DECIMAL(65, 0)) AS CHAR)"
        if kind == DECIMAL:
            return self.r_decimal(text, LogicalType(TEXT), form, rule)
        if kind == BOOLEAN:
            return _boolean_words(text)
        if kind in (TIMESTAMP, DATE):
            value = self.utc(text, LogicalType(TIMESTAMP), rule)
            return _trim_fraction(self.as_text(value)) if kind == TIMESTAMP else f"CAST(CAST({value} AS DATE) AS CHAR)"
        if kind == TIME:
            return _trim_fraction(f"CAST(CAST({text} AS TIME(6)) AS CHAR)")
        if kind == UUID:
            return f"LOWER({text})"
        if kind == BINARY:
            return f"LOWER(HEX({text}))"
        return text

    def numeric(self, expr: str, side: LogicalType, form: Form, textual: bool = False) -> str:
        value = self.blank_to_null(expr) if side.kind == TEXT or textual else expr
        if form.rounds:
            return f"CAST({value} AS DECIMAL(65, {min(form.scale or 0, 30)}))"
        if side.kind in (INTEGER, DECIMAL):
            return value
        return f"CAST({value} AS DOUBLE)" if side.kind == FLOAT else f"CAST({value} AS DECIMAL(65, 30))"

    def binary(self, expr: str) -> str:
        return f"CAST({expr} AS BINARY)"

    def row_hash(self, texts: list[str]) -> str:
        return f"CAST(CONV(SUBSTR(MD5({self.concat_row(texts)}), 1, 15), 16, 10) AS UNSIGNED)"


class DuckDBDialect(Dialect):
    """Files (CSV as text, Parquet typed) and the row diff's own tables. Text that does not parse
    as the pair's form stays as it is (``TRY_CAST``), so it differs instead of failing the run."""

    name = "duckdb"

    def canonical(
        self, expr: str, side: LogicalType, form: Form, rule: ColumnRule | None = None, textual: bool = False
    ) -> str:
        rendered = super().canonical(expr, side, form, rule, textual)
        if form.kind == INTEGER and (side.kind == TEXT or textual):
            # Text already in canonical integer form (no sign but '-', no leading zero, no space,
            # under 19 digits) is its own form: a match costs a third of the parse and cast back.
            text = self.as_text(expr)
            return f"CASE WHEN regexp_full_match({text}, '-?[1-9][0-9]{{0,17}}|0') THEN {text} ELSE {rendered} END"
        return rendered

    def typed_as_text(self, expr: str, side: LogicalType) -> str:
        if side.kind == BINARY:
            return f"lower(hex({expr}))"
        if side.kind == JSON:
            return f"CAST(to_json({expr}) AS VARCHAR)"
        return super().typed_as_text(expr, side)

    def utc(self, expr: str, side: LogicalType, rule: ColumnRule) -> str:
        if side.kind == TIMESTAMPTZ:
            return f"({expr} AT TIME ZONE 'UTC')"
        value = f"CAST({expr} AS TIMESTAMP)" if side.kind != TIMESTAMP or (side.precision or 6) <= 6 else expr
        if not rule.timezone:
            return value
        minutes = offset_minutes(rule.timezone)
        if minutes is None:
            raise NormaliseError(f"file sides take UTC or +HH:MM offsets, not the zone name {rule.timezone!r}")
        return f"({value} - to_minutes({minutes}))"

    def r_integer(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == INTEGER:
            return self.as_text(expr)
        return f"CAST(CAST({expr} AS HUGEINT) AS VARCHAR)"

    def r_decimal(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if form.scale is None:
            return f"recon_decimal(CAST({expr} AS VARCHAR))"
        if side.kind == DECIMAL and side.scale == form.scale and not form.rounds:
            return self.as_text(expr)
        return f"CAST(CAST({expr} AS DECIMAL(38, {form.scale})) AS VARCHAR)"

    def r_float(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.as_text(expr)

    def r_time(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.as_text(expr)

    def r_uuid(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"lower({self.as_text(expr)})"

    def r_json(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.typed_as_text(expr, side) if side.kind == JSON else self.as_text(expr)

    def r_binary(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"lower(hex({expr}))" if side.kind == BINARY else f"lower(hex(encode({expr})))"

    def parse(self, text: str, form: Form, rule: ColumnRule) -> str:
        kind = form.kind
        strict = bool(rule.effective_type)  # a declared rule fails on a value it cannot read

        def tried(cast: str) -> str:
            if strict:
                return cast.replace("TRY_CAST(", "CAST(")
            return f"coalesce({cast}, {text})"

        if kind == INTEGER:
            return tried(f"CAST(TRY_CAST({text} AS HUGEINT) AS VARCHAR)")
        if kind == DECIMAL:
            if form.scale is None:
                return tried(f"recon_decimal(CAST(TRY_CAST({text} AS DECIMAL(38, 20)) AS VARCHAR))")
            return tried(f"CAST(TRY_CAST({text} AS DECIMAL(38, {form.scale})) AS VARCHAR)")
        if kind == BOOLEAN:
            return _boolean_words(text)
        if kind in (TIMESTAMP, DATE):
            if rule.timezone:
                value = self.utc(f"TRY_CAST({text} AS TIMESTAMP)", LogicalType(TIMESTAMP), rule)
            else:
                value = f"(TRY_CAST({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
            return tried(
                f"CAST({value} AS VARCHAR)" if kind == TIMESTAMP else f"CAST(CAST({value} AS DATE) AS VARCHAR)"
            )
        if kind == TIME:
            return tried(f"CAST(TRY_CAST({text} AS TIME) AS VARCHAR)")
        if kind == UUID:
            return f"lower({text})"
        if kind == BINARY:
            return f"lower(hex(encode({text})))"
        return text

    BIG_INTEGER = "HUGEINT"  # an integer beyond 64 bits, exactly

    def numeric(self, expr: str, side: LogicalType, form: Form, textual: bool = False) -> str:
        """DECIMAL(38, s) engines (DuckDB, and Spark, which reuses it with its own BIG_INTEGER)."""
        value = self.blank_to_null(expr) if side.kind == TEXT or textual else expr
        if form.rounds:
            return f"CAST({value} AS DECIMAL(38, {form.scale}))"
        if side.kind == FLOAT or form.kind == FLOAT:
            return f"CAST({value} AS DOUBLE)"
        if form.kind == INTEGER or side.kind == INTEGER:
            return f"CAST({value} AS {self.BIG_INTEGER})"
        scale = (
            form.scale if form.scale is not None else (side.scale if side.scale is not None and not textual else None)
        )
        scale = scale if scale is not None else (form.sum_scale if form.sum_scale is not None else 20)
        return f"CAST({value} AS DECIMAL(38, {scale}))"

    def row_hash(self, texts: list[str]) -> str:
        return f"CAST('0x' || substr(md5({self.concat_row(texts)}), 1, 15) AS BIGINT)"


DIALECTS = {"postgres": PostgresDialect(), "mysql": MySQLDialect(), "duckdb": DuckDBDialect()}

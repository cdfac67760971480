"""Spark SQL's spelling of the canonical forms (``canonical``), so a Spark side renders the same
text as Postgres, MariaDB and DuckDB do for the same data.

As for Postgres and MariaDB, floats and JSON are *transported* (Java's double text, the JSON
as stored) and finished where they are compared (``canonical.finish_sql``). Text that does not
parse as the pair's form stays as it is (``try_cast``), so it differs instead of failing the run;
under a rule that declares the type a failed cast is an error, as on DuckDB.
"""

from __future__ import annotations

from recon_operators.engine.canonical import Form
from recon_operators.engine.dialects import Dialect, DuckDBDialect, _boolean_words
from recon_operators.engine.identifiers import validate_identifier
from recon_operators.engine.logical_types import (
    BINARY,
    BOOLEAN,
    DATE,
    DECIMAL,
    INTEGER,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    UUID,
    LogicalType,
)
from recon_operators.engine.normalise import ColumnRule, offset_minutes, tzinfo_for

BIG = "DECIMAL(38, 0)"


def _trim_fraction(text: str) -> str:
    """'12:00:01.500000' -> '12:00:01.5', '…16.000000' -> '…16' (only after a '.')."""
    return f"regexp_replace({text}, '(\\\\.[0-9]*[1-9])0+$|\\\\.0+$', '$1')"


class SparkDialect(Dialect):
    name = "spark"
    text_type = "STRING"

    def quote(self, name: str) -> str:
        validate_identifier(name)
        return "`" + name.replace("`", "``") + "`"

    def literal(self, text: str) -> str:
        # Spark SQL string literals process backslash escapes
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def typed_as_text(self, expr: str, side: LogicalType) -> str:
        if side.kind == BINARY:
            return f"lower(hex({expr}))"
        if side.padded:  # Postgres CHAR(n) arrives through JDBC padded; its cast to text drops the padding
            return f"rtrim({self.as_text(expr)})"
        return super().typed_as_text(expr, side)

    def utc(self, expr: str, side: LogicalType, rule: ColumnRule) -> str:
        # The session runs in UTC: instants print in UTC, naive values are taken as UTC unless
        # the rule names the zone they were written in.
        value = expr if side.kind in (TIMESTAMP, TIMESTAMPTZ) else f"CAST({expr} AS TIMESTAMP)"
        if side.kind == TIMESTAMPTZ or not rule.timezone:
            return value
        minutes = offset_minutes(rule.timezone)
        if minutes is not None:
            return f"({value} - make_dt_interval(0, 0, {minutes}, 0))"
        tzinfo_for(rule.timezone)
        return f"to_utc_timestamp({value}, {self.literal(rule.timezone)})"

    def r_integer(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == INTEGER:
            return self.as_text(expr)
        if side.kind == BOOLEAN:
            return self.as_text(f"CAST({expr} AS INT)")
        return self.as_text(f"CAST({expr} AS {BIG})")

    def r_decimal(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if form.scale is None:
            if side.kind == INTEGER:
                return self.as_text(expr)
            text = self.as_text(expr if side.kind == DECIMAL else f"CAST({expr} AS DECIMAL(38, 20))")
            return (
                f"CASE WHEN {expr} = 0 THEN '0' WHEN instr({text}, '.') = 0 THEN {text} "
                f"ELSE regexp_replace({text}, '\\\\.?0+$', '') END"
            )
        if side.kind == DECIMAL and side.scale == form.scale and not form.rounds:
            return self.as_text(expr)
        return self.as_text(f"CAST({expr} AS DECIMAL(38, {min(form.scale, 38)}))")

    def r_float(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.as_text(f"CAST({expr} AS DOUBLE)")  # round-trip digits; finished where compared

    def r_boolean(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == BOOLEAN:
            return self.as_text(expr)
        return f"CASE {expr} WHEN 0 THEN 'false' WHEN 1 THEN 'true' ELSE {self.as_text(expr)} END"

    def r_timestamp(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        if side.kind == TIME:
            return self.as_text(expr)
        return self.as_text(self.utc(expr, side, rule))  # Spark trims the fraction's zeros itself

    def r_date(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        value = expr if side.kind == DATE else self.utc(expr, side, rule)
        return self.as_text(f"CAST({value} AS DATE)")

    def r_time(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return _trim_fraction(self.as_text(f"CAST({expr} AS TIME(6))"))

    def r_uuid(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"lower({self.as_text(expr)})"

    def r_json(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return self.as_text(expr)  # transported; finished (keys sorted) where compared

    def r_binary(self, expr: str, side: LogicalType, form: Form, rule: ColumnRule) -> str:
        return f"lower(hex({expr}))" if side.kind == BINARY else f"lower(hex(CAST({self.as_text(expr)} AS BINARY)))"

    def parse(self, text: str, form: Form, rule: ColumnRule) -> str:
        kind = form.kind
        strict = bool(rule.effective_type)

        def tried(cast: str) -> str:
            if strict:
                return cast.replace("try_cast(", "CAST(")
            return f"coalesce({cast}, {text})"

        if kind == INTEGER:
            return tried(f"CAST(try_cast({text} AS {BIG}) AS STRING)")
        if kind == DECIMAL:
            if form.scale is None:
                number = f"try_cast({text} AS DECIMAL(38, 20))"
                return tried(
                    f"CASE WHEN {number} = 0 THEN '0' "
                    f"ELSE regexp_replace(CAST({number} AS STRING), '\\\\.?0+$', '') END"
                )
            return tried(f"CAST(try_cast({text} AS DECIMAL(38, {form.scale})) AS STRING)")
        if kind == BOOLEAN:
            return _boolean_words(text)
        if kind in (TIMESTAMP, DATE):
            value = f"try_cast({text} AS TIMESTAMP)"
            if rule.timezone:
                value = self.utc(f"try_cast({text} AS TIMESTAMP_NTZ)", LogicalType(TIMESTAMP), rule)
            return tried(f"CAST({value} AS STRING)" if kind == TIMESTAMP else f"CAST(CAST({value} AS DATE) AS STRING)")
        if kind == TIME:
            return tried(_trim_fraction(f"CAST(try_cast({text} AS TIME(6)) AS STRING)"))
        if kind == UUID:
            return f"lower({text})"
        if kind == BINARY:
            return f"lower(hex(CAST({text} AS BINARY)))"
        return text  # float and json: transported, finished where compared

    BIG_INTEGER = BIG
    numeric = DuckDBDialect.numeric  # the same DECIMAL(38, s) forms; only BIG_INTEGER differs

    def row_hash(self, texts: list[str]) -> str:
        # 60 bits of the md5 as an exact decimal: a SUM over many rows would overflow a BIGINT
        return f"CAST(conv(substr(md5({self.concat_row(texts)}), 1, 15), 16, 10) AS DECIMAL(20, 0))"


SPARK = SparkDialect()

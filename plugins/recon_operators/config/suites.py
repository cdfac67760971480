"""Check suites (include/config/suites/*.yaml) as typed models on the one config loader.

Why here and not in the engine: a suite is a config file like the others, so it is read the same
way (unknown and duplicate keys refused, every problem at once with file, line, field and a "did
you mean")::

    suite.yaml line 14: field checks[balance_total].tolerance.abs: must be a finite number >= 0, got 'lots'

Each field's own rule sits on its type; what depends on other keys (a side's shape: one of
table, query, collection or path; a kind that needs a column; rule-only keys) is checked in
``cross_checks`` over the raw file, so a bad field and a bad combination show in one run.
``engine.spec`` turns a valid file into the plain objects the engine runs (no pydantic there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from recon_operators.config.fields import Identifier, NonNegative, Number, Text, as_tuple, between, matching
from recon_operators.config.loader import ConfigModel, Located, SourcedModel
from recon_operators.config.locate import line_of
from recon_operators.engine.identifiers import IdentifierError, quote_qualified, validate_identifier
from recon_operators.engine.normalise import COLUMN_TYPES, ColumnRule, NormaliseError, tzinfo_for
from recon_operators.engine.spec import NAME, PARAMETER

CHECK_KINDS = ("row_count", "sum", "distinct_count", "min", "max", "hash", "rule")
NEEDS_COLUMN = ("sum", "distinct_count", "min", "max")
FILE_FORMATS = ("csv", "parquet")
SUITE_ENGINES = ("default", "spark")  # engine: each side's own (default), or Spark for both
LOCATORS = ("table", "query", "collection", "path")
RULE_ONLY = ("source", "target", "expect")

Name = matching(rf"^{NAME}$", "lower_snake_case (letters, digits, _; max 63)")
# A params key of another form could never be bound.
ParamName = matching(rf"^{PARAMETER}$", "a :name parameter (a-z, 0-9, _)")


def _qualified(value: str) -> str:
    """``[db.][schema.]table``, each part a plain identifier: the engine's own rule for it."""
    try:
        quote_qualified(value)
    except IdentifierError as exc:
        raise ValueError(str(exc)) from None
    return value


def _zone(value: str) -> str:
    try:
        tzinfo_for(value)
    except NormaliseError as exc:
        raise ValueError(str(exc)) from None
    return value


def _column_names(value: Any) -> Any:
    """``group_by: status`` reads as ``[status]``; a number or a mapping is said plainly."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise ValueError(f"must be a column name or a list of column names, got {value!r}")
    return tuple(value)


Qualified = Annotated[str, AfterValidator(_qualified), Field(description="[db.][schema.]name, plain identifiers")]
Columns = Annotated[tuple[Identifier, ...], BeforeValidator(_column_names), Field(description="a column or a list")]
Expression = str | dict[str, Any]  # SQL text, or a Mongo aggregation expression


class NormaliseRule(ConfigModel):
    """How one column's values are made comparable (docs/check-suites.md, Normalisation)."""

    type: Literal[COLUMN_TYPES] | None = Field(None, description="the canonical form to compare in")  # type: ignore[valid-type]
    trim: bool = False
    case: Literal["upper", "lower"] | None = None
    empty_as_null: bool = False
    scale: between(0, 18) | None = Field(None, description="decimal places, rounded half away from zero")  # type: ignore[valid-type]
    timezone: Annotated[Text, AfterValidator(_zone)] | None = Field(
        None, description="the zone naive timestamps were written in: UTC, +HH:MM or an IANA name"
    )

    @model_validator(mode="after")
    def _scale_fits_type(self) -> NormaliseRule:
        if self.scale is not None and self.type not in (None, "decimal"):
            raise Located([(("scale",), f"applies to decimal columns only, not type {self.type}")])
        return self

    def rule(self) -> ColumnRule:
        return ColumnRule(**self.model_dump())


Rules = dict[Identifier, NormaliseRule]


class CsvOptions(ConfigModel):
    """How a CSV file side is read."""

    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    header: bool = Field(True, description="false: columns are named column0, column1...")
    encoding: Text = "utf-8"
    multiline: bool = Field(True, description="Spark: false splits a big file across cores (no newline in values)")


class SuiteSide(ConfigModel):
    """One side of a suite: SQL (``table`` or ``query``), Mongo (``collection``) or files (``path``)."""

    connection: Text | None = Field(
        None, description="an Airflow connection id or a URL; files: an AWS connection for s3://"
    )
    table: Qualified | None = None
    query: Text | None = Field(None, description="a SELECT used as a subquery")
    collection: Identifier | None = None
    pipeline: Annotated[tuple[dict[str, Any], ...], BeforeValidator(as_tuple)] | None = Field(
        None, description="Mongo aggregation stages run before the checks' own"
    )
    path: Text | None = Field(None, description="a CSV/Parquet file, folder or glob; local (from the suite) or s3://")
    format: Literal[FILE_FORMATS] | None = Field(None, description="default: the path's suffix")  # type: ignore[valid-type]
    filter: Expression | None = Field(
        None, description="SQL and files: a predicate with :name parameters; Mongo: a query document"
    )
    params: dict[ParamName, Any] = Field(default_factory=dict, description="values for :name, over the scope's")  # type: ignore[valid-type]
    columns: dict[Identifier, Text] = Field(
        default_factory=dict, description="logical name -> this side's column (Mongo: a dotted path)"
    )
    normalise: Rules = Field(default_factory=dict, description="this side's overrides of the suite's rules")
    csv: CsvOptions | None = None
    views: dict[Identifier, Text] = Field(default_factory=dict, description="files: name -> path the filter may query")

    def file_format(self) -> str:
        """``format``, else the path's suffix (``a.csv``, ``landing/*.parquet``)."""
        return self.format or Path(str(self.path).rstrip("/*")).suffix.lstrip(".").lower()


class SuiteTolerance(ConfigModel):
    """A numeric check passes when ``|actual - expected| <= abs`` or ``... / |expected| <= rel``."""

    abs: NonNegative = Decimal(0)
    rel: NonNegative = Decimal(0)


class SuiteCheck(ConfigModel):
    """One check: a measure computed on both sides (or one side against ``expect``) and compared."""

    item_id: ClassVar[str] = "name"
    name: Name  # type: ignore[valid-type]
    kind: Literal[CHECK_KINDS]  # type: ignore[valid-type]
    column: Identifier | None = Field(None, description="sum, distinct_count, min, max: the column measured")
    columns: Columns = Field((), description="hash: the columns fingerprinted")
    group_by: Columns = Field((), description="one result per group")
    tolerance: SuiteTolerance = SuiteTolerance()
    source: Expression | None = Field(None, description="rule: the aggregate on the source side")
    target: Expression | None = Field(None, description="rule: the aggregate on the target side")
    expect: Number | None = Field(None, description="rule without source: the value the target must equal")


class SuiteFile(SourcedModel):
    """include/config/suites/*.yaml: a source and a target side compared by a list of checks."""

    suite: Name  # type: ignore[valid-type]
    description: str = ""
    stage: Text | None = Field(None, description="part of the scope the results are recorded under")
    engine: Literal[SUITE_ENGINES] | None = Field(None, description="spark: Spark reads and aggregates both sides")  # type: ignore[valid-type]
    source: SuiteSide
    target: SuiteSide
    normalise: Rules = Field(default_factory=dict, description="per column, applied identically on both sides")
    checks: Annotated[tuple[SuiteCheck, ...], BeforeValidator(as_tuple)] = Field(
        min_length=1, json_schema_extra={"missing": "a suite needs a non-empty list of checks"}
    )

    @classmethod
    def cross_checks(cls, document: Mapping[str, Any], valid: Mapping[str, Any]) -> Iterable[tuple[Sequence[Any], str]]:
        """Side shapes and what a check's kind needs, from the raw keys: a value wrong in itself
        is reported at its field once and still counts as given here."""
        for name in ("source", "target"):
            if isinstance(document.get(name), dict):
                yield from _side_problems(name, document[name])
        checks = document.get("checks")
        first: dict[str, int] = {}
        for index, item in enumerate(checks if isinstance(checks, list) else []):
            if not isinstance(item, dict):
                continue
            name = item.get("name")
            if isinstance(name, str) and name in first:
                where = line_of("checks", first[name], "name")
                yield ("checks", index, "name"), f"{name!r} is used twice in this suite (first on line {where})"
            elif isinstance(name, str):
                first[name] = index
            yield from _check_problems(index, item)


def _side_problems(name: str, side: Mapping[str, Any]) -> Iterable[tuple[Sequence[Any], str]]:
    locators = [key for key in LOCATORS if side.get(key)]
    if len(locators) != 1:
        given = f" (has {' and '.join(locators)})" if locators else ""
        yield (name,), f"needs exactly one of table, query, collection or path{given}"
    files, mongo = bool(side.get("path")), bool(side.get("collection"))
    if not files and not side.get("connection"):
        yield (name, "connection"), "a table, query or collection side needs a connection (an Airflow id or a URL)"
    if files and "format" not in side and isinstance(side["path"], str):
        suffix = Path(side["path"].rstrip("/*")).suffix.lstrip(".").lower()
        if suffix not in FILE_FORMATS:
            yield (name, "path"), f"format must be csv or parquet (set format: for {side['path']!r})"
    for key in ("format", "csv", "views"):
        if key in side and not files:
            yield (name, key), "belongs to file sides (path:) only"
    if "pipeline" in side and not mongo:
        yield (name, "pipeline"), "belongs to Mongo sides (collection:) only"
    if side.get("filter") is not None and not mongo and not isinstance(side["filter"], str):
        yield (name, "filter"), "must be a SQL predicate string on SQL and file sides (a document on Mongo sides)"
    columns = side.get("columns")
    for logical, physical in columns.items() if isinstance(columns, dict) else ():
        # Mongo fields may be dotted paths into sub-documents (profile.status).
        for part in physical.split(".") if mongo and isinstance(physical, str) else [physical]:
            try:
                validate_identifier(part)
            except IdentifierError as exc:
                yield (name, "columns", logical), str(exc)
                break


def _check_problems(index: int, check: Mapping[str, Any]) -> Iterable[tuple[Sequence[Any], str]]:
    kind = check.get("kind")
    if kind not in CHECK_KINDS:
        return  # reported at kind
    at = ("checks", index)
    if kind in NEEDS_COLUMN and check.get("column") is None:
        yield (*at, "column"), f"kind {kind} needs a column"
    if kind == "hash" and not check.get("columns"):
        yield (*at, "columns"), "kind hash needs columns: [col, ...]"
    if kind == "rule":
        if check.get("target") is None or (check.get("source") is None and check.get("expect") is None):
            missing = "target" if check.get("target") is None else "source"
            yield (*at, missing), "kind rule needs target: plus source: (or expect: N)"
    else:
        for key in RULE_ONLY:
            if key in check:
                yield (*at, key), "belongs to kind rule only"

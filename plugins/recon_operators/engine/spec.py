"""Check suites: the YAML format, loaded into plain objects and validated with clear messages.

Every problem found is reported at once, one line each, naming the file, the line and the check
(``suite.yaml line 14, check 'balance_total': tolerance.abs must be a number``), so a suite
author fixes them in one pass instead of one per run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from recon_operators.engine.identifiers import IdentifierError, validate_identifier
from recon_operators.engine.normalise import ColumnRule, NormaliseError
from recon_operators.yaml_lines import LineMap, YamlFileError, duplicate_keys, parse_yaml, read_text

CHECK_KINDS = ("row_count", "sum", "distinct_count", "min", "max", "hash", "rule")
NEEDS_COLUMN = ("sum", "distinct_count", "min", "max")
FILE_FORMATS = ("csv", "parquet")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# A bound parameter in SQL text (":cohort_id"), not a Postgres cast ("x::text").
SQL_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class SuiteError(ValueError):
    """A suite is malformed. ``problems`` holds every problem, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems))


@dataclass(frozen=True)
class Tolerance:
    """Pass when ``|actual - expected| <= abs`` or ``|actual - expected| / |expected| <= rel``."""

    abs: Decimal = Decimal(0)
    rel: Decimal = Decimal(0)

    def allows(self, expected: Decimal, actual: Decimal) -> bool:
        difference = abs(actual - expected)
        if difference <= self.abs:
            return True
        return expected != 0 and self.rel > 0 and difference / abs(expected) <= self.rel

    def as_dict(self) -> dict[str, str]:
        return {"abs": str(self.abs), "rel": str(self.rel)}


@dataclass(frozen=True)
class SideSpec:
    """One side of a suite: where the data is and which slice of it the scope selects.

    SQL: ``table`` or ``query`` (a SELECT used as a subquery) plus ``filter`` (a SQL predicate
    with ``:name`` parameters bound from the scope and ``params``). Mongo: ``collection`` plus
    ``filter`` (a query document whose string values may be ``:name`` parameters) and an
    optional ``pipeline`` run before the aggregation. Files: ``path`` (local or ``s3://``; a
    folder or glob reads every file) and ``format``, plus optional ``views``: more files (same
    connection and format) the filter may query by name, e.g. a semi-join of a child extract
    to the migratable rows of the subscribers extract.
    """

    connection: str | None = None
    table: str | None = None
    query: str | None = None
    collection: str | None = None
    pipeline: tuple[Any, ...] = ()
    path: str | None = None
    format: str | None = None
    filter: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # logical name -> this side's name
    normalise: dict[str, ColumnRule] = field(default_factory=dict)  # this side's overrides
    csv: dict[str, Any] = field(default_factory=dict)  # delimiter, header, encoding
    views: dict[str, str] = field(default_factory=dict)  # file sides: name -> path the filter may query

    @property
    def kind(self) -> str:
        if self.path:
            return "file"
        if self.collection:
            return "mongo"
        return "sql"

    def physical(self, column: str) -> str:
        return self.columns.get(column, column)

    def filter_params(self) -> list[str]:
        """The ``:name`` parameters the filter needs."""
        if isinstance(self.filter, str):
            return sorted(set(SQL_PARAMETER.findall(self.filter)))
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
            elif isinstance(node, str) and node.startswith(":") and _NAME.match(node[1:]):
                found.add(node[1:])

        walk(self.filter)
        return sorted(found)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    kind: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    tolerance: Tolerance = Tolerance()
    source_expression: Any = None  # kind rule: aggregate per side
    target_expression: Any = None
    expect: Decimal | None = None  # kind rule with one side: the value it must equal
    line: int | None = None

    @property
    def columns_used(self) -> tuple[str, ...]:
        return tuple(c for c in (self.column, *self.columns, *self.group_by) if c)


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    source: SideSpec
    target: SideSpec
    checks: tuple[CheckSpec, ...]
    description: str = ""
    stage: str | None = None
    normalise: dict[str, ColumnRule] = field(default_factory=dict)
    path: str | None = None
    engine: str | None = None  # "spark": both sides read and aggregated by Spark (docs/spark.md)

    def rules_for(self, side: SideSpec) -> dict[str, ColumnRule]:
        """Suite rules with the side's overrides (e.g. the zone its naive timestamps are in)."""
        names = set(self.normalise) | set(side.normalise)
        return {n: self.normalise.get(n, ColumnRule()).merged(side.normalise.get(n)) for n in names}


# -- loading ---------------------------------------------------------------------------------


def _with_line_keys(node: Any) -> Any:
    """The shared loader's tree as this module reads it: every mapping carries its line under
    ``__line__`` (for error messages)."""
    if isinstance(node, LineMap):
        return {**{k: _with_line_keys(v) for k, v in node.items()}, "__line__": node.line}
    if isinstance(node, list):
        return [_with_line_keys(v) for v in node]
    return node


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


class _Problems:
    def __init__(self, origin: str):
        self.origin = origin
        self.items: list[str] = []

    def add(self, line: int | None, where: str, message: str) -> None:
        at = f" line {line}" if line else ""
        self.items.append(f"{self.origin}{at}, {where}: {message}")


def _decimal(value: Any) -> Decimal:
    """A finite number: ``.inf`` or ``.nan`` would make a tolerance pass everything (or nothing)."""
    if isinstance(value, bool):
        raise InvalidOperation
    number = Decimal(str(value))
    if not number.is_finite():
        raise InvalidOperation
    return number


def _load_rules(raw: Any, where: str, problems: _Problems) -> dict[str, ColumnRule]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(None, where, "normalise must map column names to rules")
        return {}
    line = raw.get("__line__")
    rules: dict[str, ColumnRule] = {}
    for column, body in raw.items():
        if column == "__line__":
            continue
        if not isinstance(body, dict):
            problems.add(line, where, f"normalise.{column} must be a mapping of rule settings")
            continue
        fields = _strip_lines(body)
        unknown = set(fields) - {"type", "trim", "case", "empty_as_null", "scale", "timezone"}
        if unknown:
            problems.add(
                body.get("__line__"), where, f"normalise.{column}: unknown setting(s) {', '.join(sorted(unknown))}"
            )
            continue
        try:
            validate_identifier(column)
            rules[column] = ColumnRule(**fields)
        except (NormaliseError, IdentifierError, TypeError) as exc:
            problems.add(body.get("__line__"), where, f"normalise.{column}: {exc}")
    return rules


SUITE_ENGINES = ("default", "spark")  # engine: each side's own (default), or Spark for both
_SIDE_KEYS = {
    "connection",
    "table",
    "query",
    "collection",
    "pipeline",
    "path",
    "format",
    "filter",
    "params",
    "columns",
    "normalise",
    "csv",
    "views",
}


def _load_side(raw: Any, name: str, problems: _Problems) -> SideSpec | None:
    if not isinstance(raw, dict):
        problems.add(None, name, "must be a mapping (connection, table/query/collection/path, filter...)")
        return None
    line = raw.get("__line__")
    data = dict(raw)
    data.pop("__line__", None)
    unknown = set(data) - _SIDE_KEYS
    if unknown:
        problems.add(line, name, f"unknown key(s) {', '.join(sorted(unknown))}")
    locators = [k for k in ("table", "query", "collection", "path") if data.get(k)]
    if len(locators) != 1:
        problems.add(line, name, "needs exactly one of table, query, collection or path")
    if not data.get("path") and not data.get("connection"):
        problems.add(line, name, "needs a connection (an Airflow connection id or a URL)")
    if data.get("table"):
        for part in str(data["table"]).split("."):
            try:
                validate_identifier(part)
            except IdentifierError as exc:
                problems.add(line, name, f"table: {exc}")
    if data.get("collection"):
        try:
            validate_identifier(str(data["collection"]))
        except IdentifierError as exc:
            problems.add(line, name, f"collection: {exc}")
    if data.get("path"):
        fmt = data.get("format") or Path(str(data["path"]).rstrip("/*")).suffix.lstrip(".").lower()
        if fmt not in FILE_FORMATS:
            problems.add(line, name, f"format must be csv or parquet (set format: for {data['path']!r})")
        data["format"] = fmt
    if data.get("filter") is not None and data.get("collection") is None and not isinstance(data["filter"], str):
        problems.add(line, name, "filter must be a SQL predicate string for SQL and file sides")
    if data.get("pipeline") is not None and not isinstance(data["pipeline"], list):
        problems.add(line, name, "pipeline must be a list of Mongo aggregation stages")
    columns = _strip_lines(data.get("columns") or {})
    if not isinstance(columns, dict):
        problems.add(line, name, "columns must map logical names to this side's column names")
        columns = {}
    for logical, physical in columns.items():
        # Mongo fields may be dotted paths into sub-documents (profile.status).
        parts = str(physical).split(".") if data.get("collection") else [str(physical)]
        for ident in (str(logical), *parts):
            try:
                validate_identifier(ident)
            except IdentifierError as exc:
                problems.add(line, name, f"columns: {exc}")
    views = _strip_lines(data.get("views") or {})
    if not isinstance(views, dict) or (views and not data.get("path")):
        problems.add(line, name, "views must map names to file paths, on a file side only")
        views = {}
    for view, view_path in views.items():
        try:
            validate_identifier(str(view))
        except IdentifierError as exc:
            problems.add(line, name, f"views: {exc}")
        if not isinstance(view_path, str) or not view_path:
            problems.add(line, name, f"views.{view} must be a file path")
    params = _strip_lines(data.get("params") or {})
    if not isinstance(params, dict):
        problems.add(line, name, "params must be a mapping")
        params = {}
    return SideSpec(
        connection=data.get("connection"),
        table=data.get("table"),
        query=data.get("query"),
        collection=data.get("collection"),
        pipeline=tuple(_strip_lines(data.get("pipeline") or [])),
        path=data.get("path"),
        format=data.get("format"),
        filter=_strip_lines(data.get("filter")),
        params=params,
        columns={str(k): str(v) for k, v in columns.items()},
        normalise=_load_rules(data.get("normalise"), f"{name}.normalise", problems),
        csv=_strip_lines(data.get("csv") or {}),
        views={str(k): str(v) for k, v in views.items()},
    )


_CHECK_KEYS = {"name", "kind", "column", "columns", "group_by", "tolerance", "source", "target", "expect"}


def _load_check(raw: Any, index: int, problems: _Problems, seen: set[str]) -> CheckSpec | None:
    if not isinstance(raw, dict):
        problems.add(None, f"check #{index + 1}", "must be a mapping with name and kind")
        return None
    line = raw.get("__line__")
    name = raw.get("name")
    where = f"check {name!r}" if name else f"check #{index + 1}"
    ok = True
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(line, where, "name must be lower_snake_case (letters, digits, _)")
        ok = False
    elif name in seen:
        problems.add(line, where, "name is used twice in this suite")
        ok = False
    else:
        seen.add(name)
    unknown = set(raw) - _CHECK_KEYS - {"__line__"}
    if unknown:
        problems.add(line, where, f"unknown key(s) {', '.join(sorted(unknown))}")
        ok = False
    kind = raw.get("kind")
    if kind not in CHECK_KINDS:
        problems.add(line, where, f"kind must be one of {', '.join(CHECK_KINDS)}, not {kind!r}")
        return None
    column = raw.get("column")
    if kind in NEEDS_COLUMN and not column:
        problems.add(line, where, f"kind {kind} needs a column")
        ok = False
    columns = raw.get("columns") or []
    if kind == "hash" and (not isinstance(columns, list) or not columns):
        problems.add(line, where, "kind hash needs columns: [col, ...]")
        ok = False
    group_by = raw.get("group_by") or []
    if isinstance(group_by, str):
        group_by = [group_by]
    if not isinstance(group_by, list) or not all(isinstance(c, str) for c in group_by):
        problems.add(line, where, "group_by must be a column name or a list of column names")
        group_by, ok = [], False
    for ident in [c for c in (column, *(columns if isinstance(columns, list) else []), *group_by) if c]:
        try:
            validate_identifier(str(ident))
        except IdentifierError as exc:
            problems.add(line, where, str(exc))
            ok = False
    tolerance = Tolerance()
    raw_tol = raw.get("tolerance")
    if raw_tol is not None:
        if not isinstance(raw_tol, dict):
            problems.add(line, where, "tolerance must be a mapping with abs and/or rel")
            ok = False
        else:
            try:
                tolerance = Tolerance(abs=_decimal(raw_tol.get("abs", 0)), rel=_decimal(raw_tol.get("rel", 0)))
                if tolerance.abs < 0 or tolerance.rel < 0:
                    raise InvalidOperation
            except InvalidOperation:
                problems.add(
                    raw_tol.get("__line__", line), where, "tolerance.abs and tolerance.rel must be finite numbers >= 0"
                )
                ok = False
            extra = set(raw_tol) - {"abs", "rel", "__line__"}
            if extra:
                problems.add(line, where, f"tolerance: unknown key(s) {', '.join(sorted(extra))}")
                ok = False
    source_expr = _strip_lines(raw.get("source"))
    target_expr = _strip_lines(raw.get("target"))
    expect = None
    if kind == "rule":
        if raw.get("expect") is not None:
            try:
                expect = _decimal(raw["expect"])
            except InvalidOperation:
                problems.add(line, where, "expect must be a finite number")
                ok = False
        if target_expr is None or (source_expr is None and expect is None):
            problems.add(line, where, "kind rule needs target: plus source: (or expect: N)")
            ok = False
    elif source_expr is not None or target_expr is not None or raw.get("expect") is not None:
        problems.add(line, where, "source/target/expect belong to kind rule only")
        ok = False
    if not ok:
        return None
    return CheckSpec(
        name=name,
        kind=kind,
        column=column,
        columns=tuple(columns),
        group_by=tuple(group_by),
        tolerance=tolerance,
        source_expression=source_expr,
        target_expression=target_expr,
        expect=expect,
        line=line,
    )


def parse_suite(text: str, origin: str = "<suite>") -> SuiteSpec:
    """Parse and validate suite YAML; raises ``SuiteError`` listing every problem."""
    problems = _Problems(origin)
    try:
        document = parse_yaml(text, origin)
    except YamlFileError as exc:
        raise SuiteError([str(exc)]) from None
    for duplicate in duplicate_keys(document):
        problems.add(duplicate.line, duplicate.path, duplicate.message)
    raw = _with_line_keys(document)
    if not isinstance(raw, dict):
        raise SuiteError([f"{origin}: a suite is a mapping with suite, source, target and checks"])
    unknown = set(raw) - {
        "suite",
        "description",
        "stage",
        "source",
        "target",
        "normalise",
        "checks",
        "engine",
        "__line__",
    }
    if unknown:
        problems.add(None, "suite", f"unknown key(s) {', '.join(sorted(unknown))}")
    name = raw.get("suite")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(raw.get("__line__"), "suite", "suite: must be a lower_snake_case name")
    engine = raw.get("engine")
    if engine is not None and engine not in SUITE_ENGINES:
        problems.add(raw.get("__line__"), "engine", f"engine must be one of {', '.join(SUITE_ENGINES)}, not {engine!r}")
    source = _load_side(raw.get("source"), "source", problems)
    target = _load_side(raw.get("target"), "target", problems)
    rules = _load_rules(raw.get("normalise"), "normalise", problems)
    raw_checks = raw.get("checks")
    checks: list[CheckSpec] = []
    if not isinstance(raw_checks, list) or not raw_checks:
        problems.add(None, "checks", "a suite needs a non-empty list of checks")
    else:
        seen: set[str] = set()
        for index, item in enumerate(raw_checks):
            check = _load_check(item, index, problems, seen)
            if check is not None:
                checks.append(check)
    if problems.items:
        raise SuiteError(problems.items)
    return SuiteSpec(
        name=name,
        description=str(raw.get("description") or ""),
        stage=raw.get("stage"),
        source=source,
        target=target,
        normalise=rules,
        checks=tuple(checks),
        path=origin,
        engine=None if engine in (None, "default") else engine,
    )


def load_suite(path: str | Path) -> SuiteSpec:
    path = Path(path)
    try:
        text = read_text(path, "suite file")
    except YamlFileError as exc:
        raise SuiteError([str(exc)]) from None
    suite = parse_suite(text, origin=str(path))
    return replace(suite, source=_anchor(suite.source, path.parent), target=_anchor(suite.target, path.parent))


def _anchor(side: SideSpec, base: Path) -> SideSpec:
    """Local file paths in a suite are relative to the suite file, not to the caller's cwd."""
    if not side.path or "://" in side.path or Path(side.path).is_absolute():
        return side
    return replace(side, path=str((base / side.path).resolve()))

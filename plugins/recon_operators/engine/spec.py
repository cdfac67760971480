"""Check suites as the engine runs them: plain objects, read through the one config loader.

A suite file is validated by its model (``config.suites.SuiteFile``) on ``config.loader``, like
every config file, so every problem is reported at once, one line each, with file, line and
field (``suite.yaml line 14: field checks[balance_total].tolerance.abs: must be a finite number >= 0,
got 'lots'``) and a suite author fixes them in one pass. This module turns a valid file into
frozen dataclasses the adapters, the runner and Spark jobs share (no pydantic beyond loading).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recon_operators.config.problems import ConfigError
from recon_operators.engine.normalise import ColumnRule

if TYPE_CHECKING:
    from recon_operators.config.suites import SuiteFile, SuiteSide

NAME = r"[a-z][a-z0-9_]{0,62}"  # a suite's or check's name; a Mongo filter's ":name" value
PARAMETER = r"[a-z_][a-z0-9_]*"  # what ":name" in a SQL filter binds

_NAME = re.compile(rf"^{NAME}$")
# A bound parameter in SQL text (":cohort_id"), not a Postgres cast ("x::text").
SQL_PARAMETER = re.compile(rf"(?<![:\w]):({PARAMETER})")


class SuiteError(ConfigError):
    """A suite is missing, malformed or invalid; ``problems`` holds every problem, located."""

    kind = "suite"


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


def _side(side: SuiteSide, base: Path | None) -> SideSpec:
    path = side.path
    if path and base is not None and "://" not in path and not Path(path).is_absolute():
        path = str((base / path).resolve())  # local files are relative to the suite file, not the cwd
    return SideSpec(
        connection=side.connection,
        table=side.table,
        query=side.query,
        collection=side.collection,
        pipeline=side.pipeline or (),
        path=path,
        format=side.file_format() if side.path else None,
        filter=side.filter,
        params=dict(side.params),
        columns=dict(side.columns),
        normalise={column: rule.rule() for column, rule in side.normalise.items()},
        csv=side.csv.model_dump(exclude_unset=True) if side.csv else {},
        views=dict(side.views),
    )


def _spec(file: SuiteFile, origin: str, base: Path | None) -> SuiteSpec:
    """A validated file as the plain objects the engine runs."""
    return SuiteSpec(
        name=file.suite,
        description=file.description,
        stage=file.stage,
        source=_side(file.source, base),
        target=_side(file.target, base),
        normalise={column: rule.rule() for column, rule in file.normalise.items()},
        checks=tuple(
            CheckSpec(
                name=check.name,
                kind=check.kind,
                column=check.column,
                columns=check.columns,
                group_by=check.group_by,
                tolerance=Tolerance(abs=check.tolerance.abs, rel=check.tolerance.rel),
                source_expression=check.source,
                target_expression=check.target,
                expect=check.expect,
                line=file.line("checks", index),
            )
            for index, check in enumerate(file.checks)
        ),
        path=origin,
        engine=None if file.engine in (None, "default") else file.engine,
    )


def parse_suite(text: str, origin: str = "<suite>") -> SuiteSpec:
    """Suite YAML text as a ``SuiteSpec``; raises ``SuiteError`` listing every problem."""
    from recon_operators.config.loader import parse_config
    from recon_operators.config.suites import SuiteFile

    return parse_config(SuiteFile, text, origin, "suite file", build=lambda f: _spec(f, origin, None), error=SuiteError)


def load_suite(path: str | Path) -> SuiteSpec:
    """A suite file as a ``SuiteSpec``; raises ``SuiteError`` listing every problem."""
    from recon_operators.config.loader import load_config
    from recon_operators.config.suites import SuiteFile

    path = Path(path)
    return load_config(
        SuiteFile, path, "suite file", build=lambda f: _spec(f, str(path), path.parent), error=SuiteError
    )

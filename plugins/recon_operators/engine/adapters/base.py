"""What every engine adapter offers, for the aggregate checks and the row diff alike.

An adapter is one side of a comparison (a table or query, a collection, files) on one engine:

* ``engine`` (its registry name) and ``label``/``describe()``: what it is, never a secret;
* ``columns()``: ``{physical column: LogicalType}`` from the catalog (or a sample of values);
* ``aggregate(request)``: the checks' measures, computed where the data lives, one row per group;
* ``stage(duck, table, plans, side, spill_dir, table_budget)``: the row diff's input, i.e. the
  plans' columns as canonical text in a DuckDB table or view, streamed in bulk;
* ``local_files()``: files the DuckDB of a row diff must read (everything else is locked away);
* ``close()``.

Adding an engine is one module with a subclass and one line in ``registry`` (docs/engines.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recon_operators.engine.canonical import ColumnPlan, Form, Side
from recon_operators.engine.logical_types import LogicalType
from recon_operators.errors import one_line

# Measure functions every side implements.
FUNCS = ("count", "sum", "count_distinct", "min", "max", "hash", "expression")

GroupKey = tuple[str | None, ...]
AggregateRows = dict[GroupKey, dict[str, Any]]
Progress = Callable[[str, str, int], None]  # (side, phase, rows so far)


class SourceError(RuntimeError):
    """A side could not be read (missing table or column, bad filter, unreachable server).

    The message is one line a user can act on; it names the side and never holds a password.
    """


_QUOTED_VALUE = re.compile(r"""(string|value|Line|line)\s*(\S*\s*)?("[^"]*"|'[^']*')""")
_CSV_LINE = re.compile(r"Original Line:.*$")


def value_free(message: str) -> str:
    """A driver's one-line error without the data value it quotes (it may be an MSISDN): DuckDB's
    'Could not convert string "0812x" to INT128' -> 'Could not convert string to INT128'."""
    return _CSV_LINE.sub("", _QUOTED_VALUE.sub(lambda m: m.group(1), message)).strip()


@dataclass(frozen=True)
class Measure:
    """One aggregate to compute on a side.

    ``count``: rows. ``sum``: exact Decimal total of ``column``. ``count_distinct``: distinct
    non-null canonical values. ``min``/``max``: a number for numeric forms, else canonical text.
    ``hash``: order-independent fingerprint of ``columns`` as ``"<rows>:<sum of 60-bit row
    hashes, hex>"``. ``expression``: a side-specific aggregate (SQL text, or a Mongo accumulator).
    """

    name: str
    func: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    expression: Any = None

    def __post_init__(self) -> None:
        if self.func not in FUNCS:
            raise ValueError(f"unknown measure function {self.func!r}")

    @property
    def as_text(self) -> tuple[str, ...]:
        """Columns this measure reads as canonical text (rather than as numbers)."""
        if self.func == "hash":
            return self.columns
        if self.func == "count_distinct" and self.column:
            return (self.column,)
        return ()


@dataclass(frozen=True)
class AggregateRequest:
    """Measures and group-by columns by logical name; ``columns`` gives, for each, this side's
    column (physical name, type, rule) and the pair's canonical form."""

    measures: tuple[Measure, ...]
    group_by: tuple[str, ...] = ()
    columns: Mapping[str, tuple[Side, Form]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)  # scope values for filters

    def column(self, name: str) -> tuple[Side, Form]:
        if name not in self.columns:
            from recon_operators.engine.logical_types import text

            return Side(name, text("unknown")), Form("text")
        return self.columns[name]


class Adapter:
    """Base class of the engine adapters (see the module docstring)."""

    engine = "base"
    label = "side"
    staged_bytes = 0  # bytes of the side DuckDB reads from files in each diff pass (views)
    locator = "table"  # what a side of this engine names: "table" (or a query), "collection" or "path"
    schemaless = False  # a column missing from the sample is a field absent from the documents, not an error
    textual = False  # every column is stored as text (CSV): the diff may compare the raw text first

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def columns(self) -> dict[str, LogicalType]:
        raise NotImplementedError

    def aggregate(self, request: AggregateRequest) -> AggregateRows:
        raise NotImplementedError

    def stage(
        self,
        duck: Any,
        table: str,
        plans: list[ColumnPlan],
        side: str,
        spill_dir: Path,
        table_budget: int = 1 << 62,
        progress: Progress | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> None:
        raise NotImplementedError

    def local_files(self) -> list[str]:
        return []

    def close(self) -> None:
        return None

    def fail(self, exc: BaseException) -> SourceError:
        return SourceError(f"{self.label}: {value_free(one_line(exc))}")

    # Adapters are context managers: ``with open_side(...) as side:``.
    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""What every side of a comparison offers: aggregates computed where the data lives.

A side answers an ``AggregateRequest`` (measures, optional group-by columns, normalisation rules
and scope parameters) with one row per group: only results travel, never the rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from recon_operators.engine.normalise import ColumnRule

# Measure functions every side implements.
FUNCS = ("count", "sum", "count_distinct", "min", "max", "hash", "expression")

GroupKey = tuple[str | None, ...]
AggregateRows = dict[GroupKey, dict[str, Any]]


class SourceError(RuntimeError):
    """A side could not be read (missing table or column, bad filter, unreachable server).

    The message is one line a user can act on; it names the side and never holds a password.
    """


@dataclass(frozen=True)
class Measure:
    """One aggregate to compute on a side.

    ``count``: rows. ``sum``: exact Decimal total of ``column``. ``count_distinct``: distinct
    non-null normalised values. ``min``/``max``: of the normalised column (canonical text for
    timestamps/dates, Decimal for numbers). ``hash``: order-independent fingerprint of
    ``columns`` as ``"<rows>:<sum of 60-bit row hashes, hex>"``. ``expression``: a side-specific
    aggregate (SQL text for SQL/file sides, an accumulator document for Mongo).
    """

    name: str
    func: str
    column: str | None = None
    columns: tuple[str, ...] = ()
    expression: Any = None

    def __post_init__(self) -> None:
        if self.func not in FUNCS:
            raise ValueError(f"unknown measure function {self.func!r}")


@dataclass(frozen=True)
class AggregateRequest:
    measures: tuple[Measure, ...]
    group_by: tuple[str, ...] = ()
    rules: Mapping[str, ColumnRule] = field(default_factory=dict)  # logical column -> rule
    params: Mapping[str, Any] = field(default_factory=dict)  # scope values for filters

    def rule(self, column: str) -> ColumnRule:
        return self.rules.get(column) or ColumnRule()


class Source(Protocol):
    """A dataset side. ``aggregate`` returns ``{group key: {measure name: value}}``.

    Group keys are tuples of canonical text (``normalise.canonical_text``), ``()`` when there is
    no group-by. A side with no rows returns ``{(): {...}}`` with count 0 when ungrouped and
    ``{}`` when grouped. Values: ``count``/``count_distinct`` int, ``sum`` Decimal (0 for no
    rows), ``min``/``max`` canonical text or Decimal or None, ``hash`` text.
    """

    kind: str

    def describe(self) -> dict[str, Any]:
        """What this side is, for results and alerts: engine, connection id, table. No secrets."""
        ...

    def aggregate(self, request: AggregateRequest) -> AggregateRows:
        ...

    def close(self) -> None:
        ...

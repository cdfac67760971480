"""Which columns are compared, how: one ``ColumnPlan`` per column, shared by both sides.

Cosmetic differences between engines are settled here, once, from the column types both sides
report: a column that is numeric on either side compares by value (``1.10`` = ``1.1`` =
``1.100``, with the tolerance if one is declared), a timestamp or date on either side gets the
canonical UTC text of ``normalise``/``dialects`` on both sides (``timestamp`` vs ``datetime``
vs ISO text in a CSV), and Postgres ``CAST(char AS text)`` drops CHAR padding as MariaDB does.
Declared rules always win over what the types suggest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from recon_operators.engine.dialects import Dialect
from recon_operators.engine.normalise import ColumnRule
from recon_operators.engine.rowdiff.model import DiffError, DiffSpec
from recon_operators.engine.spec import Tolerance

# Column kinds a side reports (None: text or unknown, e.g. every CSV column).
NUMBER, TIMESTAMP, DATE = "number", "timestamp", "date"


@dataclass(frozen=True)
class ColumnPlan:
    """One column: its rule on each side and whether the comparison is numeric."""

    name: str
    is_key: bool
    numeric: bool
    source_rule: ColumnRule
    target_rule: ColumnRule
    tolerance: Tolerance | None = None

    def rule(self, side: str) -> ColumnRule:
        return self.source_rule if side == "source" else self.target_rule


def _inferred(kinds: tuple[str | None, str | None], declared: ColumnRule) -> tuple[bool, str | None]:
    """(numeric, type to add to the rules) from both sides' kinds, unless a rule declares a type."""
    declared_type = declared.effective_type
    if declared_type in ("decimal", "integer"):
        return True, None
    if declared_type is not None:
        return False, None
    if NUMBER in kinds:
        return True, None
    for kind in (TIMESTAMP, DATE):
        if kind in kinds:
            return False, kind
    return False, None


def plan_columns(spec: DiffSpec, source_kinds: dict[str, str | None],
                 target_kinds: dict[str, str | None]) -> list[ColumnPlan]:
    """Key columns first, then the compared ones; unknown names are one clear error."""
    for side, kinds in (("source", source_kinds), ("target", target_kinds)):
        missing = [c for c in (*spec.key, *(spec.columns or ())) if c not in kinds]
        if missing:
            raise DiffError(f"{side} has no column {', '.join(missing)} (it has: {', '.join(kinds) or 'none'})")
    if spec.columns is not None:
        compared = [c for c in spec.columns if c not in spec.key and c not in spec.exclude]
    else:
        compared = [c for c in source_kinds if c in target_kinds and c not in spec.key and c not in spec.exclude]
    unknown = [c for c in spec.tolerances if c not in compared]
    if unknown:
        raise DiffError(f"tolerance for {', '.join(unknown)}, which is not a compared column")
    plans = []
    for name in (*spec.key, *compared):
        source_rule, target_rule = spec.rule(name, "source"), spec.rule(name, "target")
        numeric, added = _inferred((source_kinds[name], target_kinds[name]), source_rule.merged(target_rule))
        tolerance = spec.tolerances.get(name)
        numeric = numeric or tolerance is not None
        if added:
            source_rule, target_rule = replace(source_rule, type=added), replace(target_rule, type=added)
        plans.append(ColumnPlan(name, name in spec.key, numeric, source_rule, target_rule, tolerance))
    return plans


def side_expression(dialect: Dialect, expr: str, rule: ColumnRule, numeric: bool, textual: bool) -> str:
    """The side's canonical text for a column, computed where the data lives.

    Numbers without a declared scale travel as the engine's own text and compare by value in
    the join (``compare``); everything else is the canonical text ``dialects`` defines.
    """
    if numeric and rule.scale is None and rule.effective_type in (None, "decimal"):
        return dialect.blank_to_null(expr) if textual else dialect.as_text(expr)
    return dialect.canonical(expr, rule, textual)


"""Which columns are compared, and how: one ``ColumnPlan`` per column, shared by both sides.

Each column's canonical form comes from both sides' logical types (``canonical.resolve``), with
declared rules on top (``--rule``, ``rules=``): equal data matches with no rule written. A pair
with no common form (json vs integer) is planned as incomparable: reported once, not compared.
"""

from __future__ import annotations

from dataclasses import replace

from recon_operators.engine.canonical import ColumnPlan, Form, Incomparable, Side, finish_sql, resolve
from recon_operators.engine.dialects import DIALECTS
from recon_operators.engine.logical_types import TEXT, LogicalType
from recon_operators.engine.rowdiff.model import DiffError, DiffSpec


def plan_columns(
    spec: DiffSpec, source_types: dict[str, LogicalType], target_types: dict[str, LogicalType]
) -> list[ColumnPlan]:
    """Key columns first, then the compared ones; unknown names are one clear error."""
    for side, types in (("source", source_types), ("target", target_types)):
        missing = [c for c in (*spec.key, *(spec.columns or ())) if c not in types]
        if missing:
            raise DiffError(f"{side} has no column {', '.join(missing)} (it has: {', '.join(types) or 'none'})")
    if spec.columns is not None:
        compared = [c for c in spec.columns if c not in spec.key and c not in spec.exclude]
    else:
        compared = [c for c in source_types if c in target_types and c not in spec.key and c not in spec.exclude]
    unknown = [c for c in spec.tolerances if c not in compared]
    if unknown:
        raise DiffError(f"tolerance for {', '.join(unknown)}, which is not a compared column")
    if not compared and not spec.keys_only:
        raise DiffError(
            "no column to compare besides the key (the sides share none): pass --columns, "
            "or --keys-only to compare keys alone"
        )
    plans = []
    for name in (*spec.key, *compared):
        source = Side(name, source_types[name], spec.rule(name, "source"))
        target = Side(name, target_types[name], spec.rule(name, "target"))
        try:
            form = resolve(source.type, target.type, source.rule.merged(target.rule))
            incomparable = None
        except Incomparable as exc:
            if name in spec.key:
                raise DiffError(f"key column {name}: {exc}") from None
            form, incomparable = Form(TEXT), f"{name}: {exc}; pass --rule {name}=text or --exclude {name}"
        plans.append(
            ColumnPlan(
                name,
                source,
                target,
                form,
                is_key=name in spec.key,
                tolerance=spec.tolerances.get(name),
                incomparable=incomparable,
            )
        )
    return plans


def defer(plans: list[ColumnPlan], source_textual: bool, target_textual: bool) -> list[ColumnPlan]:
    """Compared columns of a CSV side travel as the file's raw text: parsing every value into its
    form costs more than the diff, while equal text is equal data. DuckDB renders the form only for
    the values whose text differs (``finish``). Keys and text forms are rendered as they are staged."""

    def deferred(plan: ColumnPlan, textual: bool) -> bool:
        return textual and not plan.is_key and plan.form.kind != TEXT and not plan.incomparable

    return [
        replace(
            p,
            source=replace(p.source, deferred=deferred(p, source_textual)),
            target=replace(p.target, deferred=deferred(p, target_textual)),
        )
        for p in plans
    ]


def finish(plan: ColumnPlan, side: str, expr: str) -> str:
    """The canonical text, in DuckDB, of a staged value of this side (see ``defer``)."""
    column = plan.side(side)
    if column.deferred:
        expr = DIALECTS["duckdb"].canonical(expr, column.type, plan.form, column.rule, textual=True)
    return finish_sql(expr, plan.form)

"""Run a suite for a scope: batch the checks per side, push aggregates down, compare.

Each column a check reads gets its pair's canonical form from both sides' catalog types and the
suite's rules (``canonical.resolve``), exactly as ``recon diff`` plans it, so a check and a diff
agree on the same data. Checks sharing a group-by run as one query per side (one scan for all
ungrouped checks). When a batch fails, its checks are retried one by one so the error lands on
the check that caused it (a missing column) and the others still get a verdict. A side that
cannot be opened at all turns every check into an Error result: the suite always returns a
verdict per check, never a traceback.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from recon_operators.engine.adapters.base import Adapter, AggregateRequest, Measure, Progress, SourceError
from recon_operators.engine.canonical import ColumnPlan, Form, Incomparable, Side, resolve
from recon_operators.engine.compare import build_results
from recon_operators.engine.logical_types import LogicalType, text
from recon_operators.engine.normalise import ColumnRule
from recon_operators.engine.results import CheckResult, Status, utcnow
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import CheckSpec, SideSpec, SuiteSpec

SideOpener = Callable[[SideSpec, str], Adapter]  # (side spec, "source"|"target") -> live adapter

_FUNC = {
    "row_count": "count",
    "sum": "sum",
    "distinct_count": "count_distinct",
    "min": "min",
    "max": "max",
    "hash": "hash",
    "rule": "expression",
}


def measure_for(check: CheckSpec, side: str) -> Measure | None:
    if check.kind == "rule":
        expression = check.source_expression if side == "source" else check.target_expression
        return None if expression is None else Measure(check.name, "expression", expression=expression)
    return Measure(check.name, _FUNC[check.kind], column=check.column, columns=check.columns)


def _error_results(checks: Iterable[CheckSpec], message: str, base: dict[str, Any]) -> list[CheckResult]:
    return [
        CheckResult(
            check_name=c.name,
            kind=c.kind,
            status=Status.ERROR,
            message=message,
            source=base["source"],
            target=base["target"],
            details=base.get("details", {}),
            started_at=base["started_at"],
            finished_at=utcnow(),
        )
        for c in checks
    ]


def plan_column(
    name: str, sides: dict[str, Adapter], specs: dict[str, SideSpec], rules: dict[str, dict[str, ColumnRule]]
) -> ColumnPlan:
    """Both sides of one logical column and their form. Raises ``SourceError`` (no such column)
    or ``Incomparable``."""
    found: dict[str, Side] = {}
    for side, adapter in sides.items():
        physical = specs[side].physical(name)
        types = adapter.columns()
        logical: LogicalType | None = types.get(physical)
        if logical is None:
            if not adapter.schemaless:  # in documents a missing field is null
                raise SourceError(f"{side} {adapter.label}: no column {physical}")
            logical = text(inferred=True)
        found[side] = Side(physical, logical, rules[side].get(name, ColumnRule()))
    form = resolve(found["source"].type, found["target"].type, found["source"].rule.merged(found["target"].rule))
    return ColumnPlan(name, found["source"], found["target"], form)


_PATH_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def bind_path(side: SideSpec, scope: Scope) -> SideSpec:
    """Fill ``{cohort_id}``-style placeholders of a file side's path (and its views) from the scope.

    Landing files are usually laid out per cohort, prefix or batch; the suite names the layout
    once and each run reads its own slice.
    """
    if not side.path:
        return side
    values = scope.as_dict()

    def bound(path: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise SourceError(f"file path {path} needs {{{name}}} but the scope has no {name}")
            if values[name] in (".", ".."):
                raise SourceError(f"scope value {name}={values[name]!r} cannot be part of a file path")
            return values[name]

        return _PATH_FIELD.sub(value, path)

    return replace(side, path=bound(side.path), views={name: bound(path) for name, path in side.views.items()})


class SuiteRun:
    def __init__(
        self,
        suite: SuiteSpec,
        scope: Scope,
        open_side: SideOpener,
        progress: Progress | None = None,
        engine: str | None = None,
    ):
        self.suite = suite
        # "spark" (the run's choice, else the suite's): both sides opened on Spark
        self.engine = engine if engine not in (None, "") else suite.engine
        self.scope = scope
        self.open_side = open_side
        self.progress = progress
        self.rules = {"source": suite.rules_for(suite.source), "target": suite.rules_for(suite.target)}
        self.sides: dict[str, Adapter] = {}
        self.descriptions: dict[str, dict[str, Any]] = {"source": {}, "target": {}}
        self.plans: dict[str, ColumnPlan] = {}

    def _plan(self, name: str) -> ColumnPlan:
        if name not in self.plans:
            specs = {"source": self.suite.source, "target": self.suite.target}
            self.plans[name] = plan_column(name, self.sides, specs, self.rules)
        return self.plans[name]

    def _aggregate(self, side: str, checks: list[CheckSpec], group_by: tuple[str, ...]) -> dict:
        measures = tuple(m for m in (measure_for(c, side) for c in checks) if m is not None)
        names = {*group_by, *(n for c in checks for n in c.columns_used)}
        columns: dict[str, tuple[Side, Form]] = {}
        for name in names:
            plan = self._plan(name)
            columns[name] = (plan.side(side), plan.form)
        request = AggregateRequest(measures=measures, group_by=group_by, columns=columns, params=self.scope.as_dict())
        if self.progress:
            self.progress(
                side, f"aggregating {len(measures)} measure(s)" + (f" by {', '.join(group_by)}" if group_by else ""), 0
            )
        return self.sides[side].aggregate(request)

    def _run_batch(self, checks: list[CheckSpec], group_by: tuple[str, ...]) -> list[CheckResult]:
        started = utcnow()
        base = {"source": self.descriptions["source"], "target": self.descriptions["target"], "started_at": started}
        try:
            needs_source = any(measure_for(c, "source") for c in checks)
            source_rows = self._aggregate("source", checks, group_by) if needs_source else None
            target_rows = self._aggregate("target", checks, group_by)
        except (SourceError, Incomparable) as exc:
            if len(checks) > 1:
                return [r for c in checks for r in self._run_batch([c], group_by)]
            return _error_results(checks, str(exc), {**base, "details": {}})
        base["finished_at"] = utcnow()
        results: list[CheckResult] = []
        for check in checks:
            details = (
                {"normalisation": {c: self._plan(c).describe() for c in dict.fromkeys(check.columns_used)}}
                if check.columns_used
                else {}
            )
            own_source = source_rows if measure_for(check, "source") else None
            results.extend(build_results(check, own_source, target_rows, base={**base, "details": details}))
        return results

    def run(self, only: Iterable[str] | None = None) -> list[CheckResult]:
        wanted = set(only) if only else None
        checks = [c for c in self.suite.checks if wanted is None or c.name in wanted]
        started = utcnow()
        for name, side in (("source", self.suite.source), ("target", self.suite.target)):
            try:
                on_engine = {"engine": self.engine} if self.engine not in (None, "default") else {}
                self.sides[name] = self.open_side(bind_path(side, self.scope), name, **on_engine)
                self.descriptions[name] = self.sides[name].describe()
            except SourceError as exc:
                self.close()
                base = {
                    "source": self.descriptions["source"],
                    "target": self.descriptions["target"],
                    "started_at": started,
                }
                return _error_results(checks, f"{name}: {exc}", base)
        try:
            batches: dict[tuple[str, ...], list[CheckSpec]] = defaultdict(list)
            for check in checks:
                batches[check.group_by].append(check)
            results: list[CheckResult] = []
            for group_by, batch in batches.items():
                results.extend(self._run_batch(batch, group_by))
            order = {c.name: i for i, c in enumerate(checks)}
            return sorted(results, key=lambda r: (order[r.check_name], r.group or ""))
        finally:
            self.close()

    def close(self) -> None:
        for source in self.sides.values():
            source.close()
        self.sides.clear()


def run_suite(
    suite: SuiteSpec,
    scope: Scope,
    open_side: SideOpener,
    *,
    only: Iterable[str] | None = None,
    progress: Progress | None = None,
    engine: str | None = None,
) -> list[CheckResult]:
    """Every check of the suite (or ``only`` those named) for the scope, as results.
    ``progress(side, phase, rows)`` hears of each aggregate as it starts (the CLI shows it).
    ``engine``: "spark" or "default" for this run, over the suite's own ``engine:``."""
    return SuiteRun(suite, scope, open_side, progress, engine).run(only)

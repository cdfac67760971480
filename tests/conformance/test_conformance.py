"""Conformance: equal data matches and minimal changes are found, on every engine pair, by the
row diff and by the checks alike, with no rule written.

For each pair of engines (``engines.PROVIDERS``) both sides hold the same rows of every logical
type in ``cases``: the diff must be equal and every check must match. Then the target holds one
minimal change per column (each on its own row): the diff must count exactly one changed row
per column and the checks' per-column fingerprints must all mismatch.
"""

from __future__ import annotations

import itertools
import uuid

import pytest

from recon_operators.engine.rowdiff import DiffSpec, compare, run_diff
from recon_operators.engine.runner import run_suite
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import CheckSpec, SuiteSpec
from tests.conformance.cases import CASES, ROWS, rows
from tests.conformance.engines import ENGINE_NAMES, providers

pytestmark = pytest.mark.integration

PAIRS = list(itertools.combinations_with_replacement(ENGINE_NAMES, 2))


@pytest.fixture(scope="module")
def engines(databases, tmp_path_factory):
    return providers(databases, tmp_path_factory.mktemp("conformance"))


def cases_for(source: str, target: str) -> list:
    return [c for c in CASES if source not in c.skip and target not in c.skip]


def checks(cases: list) -> tuple[CheckSpec, ...]:
    out = [CheckSpec("rows", "row_count")]
    for case in cases:
        out.append(CheckSpec(f"{case.column}_hash", "hash", columns=("id", case.column)))
        out.append(CheckSpec(f"{case.column}_distinct", "distinct_count", column=case.column))
        if case.numeric and case.kind != "float":  # a sum of doubles depends on the order of addition
            out.append(CheckSpec(f"{case.column}_sum", "sum", column=case.column))
        if case.kind not in ("json", "binary"):
            out.append(CheckSpec(f"{case.column}_max", "max", column=case.column))
    return tuple(out)


def sides(engines, source: str, target: str, *, changed: bool):
    cases = cases_for(source, target)
    name = f"conf_{uuid.uuid4().hex[:8]}"
    source_side = engines[source].write(f"{name}_s", cases, rows(cases))
    target_side = engines[target].write(f"{name}_t", cases, rows(cases, changed=changed))
    return cases, source_side, target_side


COUNTS = (
    "source_rows",
    "target_rows",
    "matched_rows",
    "missing_in_target",
    "extra_in_target",
    "changed_rows",
    "duplicate_keys_source",
    "duplicate_keys_target",
    "column_mismatches",
)


def diff(engines, source: str, target: str, source_side, target_side, **spec):
    """The diff in memory, and again as a diff too big for memory runs (views over the spill files,
    a fingerprint join): both paths must give the same counts."""

    def once():
        with engines[source].open(source_side) as left, engines[target].open(target_side) as right:
            return run_diff(DiffSpec(key=("id",), mask=False, **spec), left, right)

    in_memory = once()
    budget = compare._bytes
    compare._bytes = lambda limit: 4  # DuckDB's own limit is unchanged: only the plan changes
    try:
        beyond = once()
    finally:
        compare._bytes = budget
    assert {k: getattr(beyond, k) for k in COUNTS} == {k: getattr(in_memory, k) for k in COUNTS}
    return in_memory


def check(engines, source: str, target: str, source_side, target_side, cases) -> dict:
    suite = SuiteSpec(name="conformance", source=source_side, target=target_side, checks=checks(cases))

    def opener(side, name):
        return engines[source if name == "source" else target].open(side)

    return {r.check_name: r for r in run_suite(suite, Scope(env="test"), opener)}


@pytest.mark.parametrize("source, target", PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_equal_values_match(engines, source, target):
    cases, source_side, target_side = sides(engines, source, target, changed=False)
    result = diff(engines, source, target, source_side, target_side)
    assert result.equal, {
        "mismatches": result.column_mismatches,
        "samples": result.samples,
        "incomparable": result.incomparable,
    }
    assert result.matched_rows == ROWS
    results = check(engines, source, target, source_side, target_side, cases)
    failed = {n: (r.expected, r.actual, r.message) for n, r in results.items() if not r.passed}
    assert not failed


@pytest.mark.parametrize("source, target", PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_minimal_changes_are_found(engines, source, target):
    cases, source_side, target_side = sides(engines, source, target, changed=True)
    result = diff(engines, source, target, source_side, target_side)
    assert result.column_mismatches == {c.column: 1 for c in cases}, result.samples
    assert result.changed_rows == len({c.change_row for c in cases})
    results = check(engines, source, target, source_side, target_side, cases)
    unfound = [c.column for c in cases if results[f"{c.column}_hash"].passed]
    assert unfound == []
    assert {r.status.value for r in results.values()} <= {"Match", "Mismatch"}, {
        n: r.message for n, r in results.items() if r.status.value == "Error"
    }

"""Suite validation messages, normalisation canonical forms and tolerance arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import yaml

from recon_operators.engine.canonical import rule_text
from recon_operators.engine.normalise import ColumnRule, NormaliseError
from recon_operators.engine.spec import SuiteError, Tolerance, load_suite, parse_suite

GOOD = {
    "suite": "s",
    "source": {"connection": "pg", "table": "public.subs", "filter": "cohort_id = :cohort_id AND x::text = 'a'"},
    "target": {
        "connection": "mongo",
        "collection": "subs",
        "filter": {"cohort": ":cohort_id", "b": {"$in": [":batch_id"]}},
        "columns": {"status": "profile.status"},
    },
    "normalise": {"balance": {"type": "decimal", "scale": 2}},
    "checks": [{"name": "n", "kind": "row_count"}, {"name": "b", "kind": "sum", "column": "balance"}],
}


def test_filter_parameters_are_found_on_both_kinds_of_side():
    suite = parse_suite(yaml.safe_dump(GOOD))
    assert suite.source.filter_params() == ["cohort_id"]  # '::text' is a cast, not a parameter
    assert suite.target.filter_params() == ["batch_id", "cohort_id"]
    assert suite.target.physical("status") == "profile.status"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s["source"].update({"table": "users; drop"}), "table:"),
        (
            lambda s: s["checks"].append({"name": "r", "kind": "rule", "target": "SUM(x)"}),
            "kind rule needs target: plus source",
        ),
        (lambda s: s["checks"].append({"name": "m", "kind": "min"}), "kind min needs a column"),
        (lambda s: s["normalise"].update({"d": {"case": "title"}}), "case must be upper or lower"),
        (lambda s: s["normalise"].update({"d": {"timezone": "Mars/Olympus"}}), "unknown time zone"),
        (lambda s: s.update({"extra": 1}), "unknown key(s) extra"),
        (lambda s: s["source"].update({"path": "a.txt"}), "exactly one of table, query, collection or path"),
        (lambda s: s["checks"][0].update({"group_by": 5}), "group_by must be a column name or a list of column names"),
        (lambda s: s["checks"][0].update({"group_by": {"status": 1}}), "group_by must be a column name or a list"),
        (lambda s: s["checks"][1].update({"tolerance": {"abs": float("inf")}}), "must be finite numbers >= 0"),
        (lambda s: s["checks"][1].update({"tolerance": {"rel": float("nan")}}), "must be finite numbers >= 0"),
        (
            lambda s: s["checks"].append({"name": "r", "kind": "rule", "target": "SUM(x)", "expect": float("inf")}),
            "expect must be a finite number",
        ),
    ],
)
def test_each_problem_has_a_clear_message(mutate, message):
    suite = yaml.safe_load(yaml.safe_dump(GOOD))
    mutate(suite)
    with pytest.raises(SuiteError) as err:
        parse_suite(yaml.safe_dump(suite), "suite.yaml")
    assert any(message in problem for problem in err.value.problems), err.value.problems
    assert all(problem.startswith("suite.yaml") for problem in err.value.problems)


def test_missing_suite_file(tmp_path):
    with pytest.raises(SuiteError, match="suite file not found"):
        load_suite(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "value, rule, expected",
    [
        ("1.1", ColumnRule(type="decimal", scale=2), "1.10"),
        (Decimal("1.105"), ColumnRule(scale=2), "1.11"),
        (Decimal("-1.105"), ColumnRule(scale=2), "-1.11"),
        ("  active ", ColumnRule(trim=True, case="upper"), "ACTIVE"),
        ("", ColumnRule(empty_as_null=True), None),
        (datetime(2024, 1, 1, 7, 0), ColumnRule(type="timestamp", timezone="+07:00"), "2024-01-01 00:00:00"),
        (
            datetime(2024, 1, 1, 7, 0, tzinfo=UTC),
            ColumnRule(type="timestamp", timezone="+07:00"),
            "2024-01-01 07:00:00",
        ),  # an aware value already says its zone
        ("2024-01-01T10:00:00.9", ColumnRule(type="timestamp"), "2024-01-01 10:00:00.9"),  # no fraction lost
        ("2024-03-05 23:00:00", ColumnRule(type="date"), "2024-03-05"),
        (42, ColumnRule(), "42"),
    ],
)
def test_canonical_text(value, rule, expected):
    assert rule_text(value, rule) == expected


def test_bad_values_and_rules_are_refused():
    with pytest.raises(NormaliseError):
        rule_text("abc", ColumnRule(type="decimal", scale=2))
    with pytest.raises(NormaliseError, match="scale applies to decimal"):
        ColumnRule(type="text", scale=2)


def test_side_override_merges_over_suite_rule():
    merged = ColumnRule(type="timestamp").merged(ColumnRule(timezone="+07:00"))
    assert merged == ColumnRule(type="timestamp", timezone="+07:00")
    assert merged.describe() == "timestamp,tz=+07:00->UTC"


@pytest.mark.parametrize(
    "tol, expected, actual, ok",
    [
        (Tolerance(), Decimal("100"), Decimal("100"), True),
        (Tolerance(), Decimal("100"), Decimal("100.01"), False),
        (Tolerance(abs=Decimal("0.01")), Decimal("100"), Decimal("100.01"), True),
        (Tolerance(rel=Decimal("0.001")), Decimal("100"), Decimal("100.1"), True),
        (Tolerance(rel=Decimal("0.001")), Decimal("0"), Decimal("0.1"), False),
    ],
)
def test_tolerance(tol, expected, actual, ok):
    assert tol.allows(expected, actual) is ok

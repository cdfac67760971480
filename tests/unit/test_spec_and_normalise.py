"""Suite validation messages, normalisation canonical forms and tolerance arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from recon_operators.engine.canonical import rule_text
from recon_operators.engine.normalise import ColumnRule, NormaliseError
from recon_operators.engine.spec import SuiteError, Tolerance, load_suite, parse_suite

SUITES = Path(__file__).resolve().parents[2] / "include" / "config" / "suites"
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
    "mutate, expected",
    [
        (
            lambda s: s["source"].update({"table": "users; drop"}),
            ["line 14: field source.table: 'users; drop' is not a valid identifier (letters, digits, _; max 63)"],
        ),
        (
            lambda s: s["checks"].append({"name": "r", "kind": "rule", "target": "SUM(x)"}),
            ["line 7: field checks[r].source: kind rule needs target: plus source: (or expect: N)"],
        ),
        (
            lambda s: s["checks"].append({"name": "m", "kind": "min"}),
            ["line 7: field checks[m].column: kind min needs a column"],
        ),
        (
            lambda s: s["normalise"].update({"d": {"case": "title"}}),
            ["line 12: field normalise.d.case: must be one of upper, lower, got 'title'"],
        ),
        (
            lambda s: s["normalise"].update({"d": {"timezone": "Mars/Olympus"}}),
            ["line 12: field normalise.d.timezone: unknown time zone 'Mars/Olympus' (use UTC, +HH:MM or an IANA name)"],
        ),
        (
            lambda s: s.update({"extra": 1}),
            [
                "line 7: field extra: unknown key "
                "(allowed here: suite, description, stage, engine, source, target, normalise, checks)"
            ],
        ),
        (
            lambda s: s["source"].update({"path": "a.txt"}),
            [
                "line 11: field source: needs exactly one of table, query, collection or path (has table and path)",
                "line 14: field source.path: format must be csv or parquet (set format: for 'a.txt')",
            ],
        ),
        (
            lambda s: s["checks"][0].update({"group_by": 5}),
            ["line 2: field checks[n].group_by: must be a column name or a list of column names, got 5"],
        ),
        (
            lambda s: s["checks"][0].update({"group_by": {"status": 1}}),
            ["line 2: field checks[n].group_by: must be a column name or a list of column names, got {'status': 1}"],
        ),
        (
            lambda s: s["checks"][1].update({"tolerance": {"abs": float("inf")}}),
            ["line 8: field checks[b].tolerance.abs: must be a finite number >= 0, got inf"],
        ),
        (
            lambda s: s["checks"][1].update({"tolerance": {"rel": float("nan")}}),
            ["line 8: field checks[b].tolerance.rel: must be a finite number >= 0, got nan"],
        ),
        (
            lambda s: s["checks"].append({"name": "r", "kind": "rule", "target": "SUM(x)", "expect": float("inf")}),
            ["line 7: field checks[r].expect: must be a finite number, got inf"],
        ),
        (lambda s: s.pop("checks"), ["line 1: field checks: a suite needs a non-empty list of checks"]),
        (
            lambda s: s["checks"][0].update({"kind": "row_cont"}),
            [
                "line 2: field checks[n].kind: must be one of row_count, sum, distinct_count, min, max, hash, rule, "
                "got 'row_cont' (did you mean 'row_count'?)"
            ],
        ),
        (
            lambda s: s["target"].update({"colection": "x"}),
            ["line 17: field target.colection: unknown key (did you mean 'collection'?)"],
        ),
    ],
)
def test_each_problem_is_located_with_its_field(mutate, expected):
    suite = yaml.safe_load(yaml.safe_dump(GOOD))
    mutate(suite)
    assert _problems(yaml.safe_dump(suite)) == expected


def _problems(text: str) -> list[str]:
    """Every problem of a suite's text, without the file name they all start with."""
    with pytest.raises(SuiteError) as err:
        parse_suite(text, "suite.yaml")
    assert all(str(p).startswith("suite.yaml line ") for p in err.value.problems)
    return [str(p).removeprefix("suite.yaml ") for p in err.value.problems]


BAD = """\
suite: s
source:
  connection: pg
  table: subs
  format: csv
  pipeline: [{$match: {}}]
  params: {Cohort: 1}
  filter: {cohort: ':cohort_id'}
target:
  connection: mongo
  collection: subs
  columns: {status: profile.bad-name}
  csv: {delimter: ';'}
normalise:
  status: {type: text, scale: 2}
checks:
  - {name: n, kind: row_count, colum: status}
  - {name: n, kind: sum, tolerance: {abs: lots}}
  - {name: h, kind: hash}
  - {name: c, kind: row_count, expect: 3}
"""


def test_every_field_and_combination_problem_at_once_with_a_did_you_mean():
    """A check with a bad field still has its kind's needs checked: one run lists them all."""
    assert _problems(BAD) == [
        "line 5: field source.format: belongs to file sides (path:) only",
        "line 6: field source.pipeline: belongs to Mongo sides (collection:) only",
        "line 7: field source.params.Cohort: 'Cohort' is not allowed: a :name parameter (a-z, 0-9, _)",
        "line 8: field source.filter: must be a SQL predicate string on SQL and file sides (a document on Mongo sides)",
        "line 12: field target.columns.status: 'bad-name' is not a valid identifier (letters, digits, _; max 63)",
        "line 13: field target.csv.delimter: unknown key (did you mean 'delimiter'?)",
        "line 13: field target.csv: belongs to file sides (path:) only",
        "line 15: field normalise.status.scale: applies to decimal columns only, not type text",
        "line 17: field checks[n].colum: unknown key (did you mean 'column'?)",
        "line 18: field checks[n].tolerance.abs: must be a finite number >= 0, got 'lots'",
        "line 18: field checks[n].name: 'n' is used twice in this suite (first on line 17)",
        "line 18: field checks[n].column: kind sum needs a column",
        "line 19: field checks[h].columns: kind hash needs columns: [col, ...]",
        "line 20: field checks[c].expect: belongs to kind rule only",
    ]


def test_a_valid_file_becomes_the_engines_plain_objects(tmp_path):
    """Local paths are anchored at the suite file, the format comes from the suffix, CSV options
    keep only what was written, and numbers stay exact."""
    path = tmp_path / "suites" / "files.yaml"
    path.parent.mkdir()
    path.write_text(
        "suite: files\nengine: default\n"
        "source: {path: ../data/a.csv, csv: {header: false}, filter: 'id > :low', params: {low: 1}}\n"
        "target: {path: 's3://bucket/b/*.parquet', connection: aws_default}\n"
        "checks:\n  - {name: total, kind: sum, column: amount, group_by: status, tolerance: {abs: '0.01'}}\n"
    )
    suite = load_suite(path)
    assert (suite.name, suite.engine, suite.path) == ("files", None, str(path))
    assert (suite.source.path, suite.source.format, suite.source.csv) == (
        str((tmp_path / "data" / "a.csv").resolve()),
        "csv",
        {"header": False},
    )
    assert (suite.source.filter_params(), suite.source.params) == (["low"], {"low": 1})
    assert (suite.target.path, suite.target.format) == ("s3://bucket/b/*.parquet", "parquet")
    (check,) = suite.checks
    assert (check.group_by, check.tolerance, check.line) == (("status",), Tolerance(abs=Decimal("0.01")), 6)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("suite: [x\n", "suite.yaml line 2: malformed YAML: expected ',' or ']', but got '<stream end>'"),
        (
            "- a list\n",
            "suite.yaml: a suite file is a mapping of "
            "suite, description, stage, engine, source, target, normalise, checks",
        ),
    ],
)
def test_text_that_is_no_suite_is_one_located_problem(text, expected):
    """``parse_suite`` reads text through the same loader as ``load_suite`` reads files."""
    with pytest.raises(SuiteError) as err:
        parse_suite(text, "suite.yaml")
    assert [str(p) for p in err.value.problems] == [expected]


@pytest.mark.parametrize("path", sorted(SUITES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_suite_is_valid(path):
    """The suites cohorts and examples run pass the model as written (it refuses what the old
    reader let through: a side key on the wrong kind of side, a misspelt CSV option)."""
    suite = load_suite(path)
    assert suite.checks and suite.path == str(path)


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

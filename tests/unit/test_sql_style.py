"""include/sql keeps one placeholder style per purpose (see recon_operators.sql_templates).

Values: ``%(name)s`` bound by the driver (``VALUES %s`` only where psycopg2's execute_values
expands a row list). Identifiers and code-built SQL: ``{name}`` slots. Not allowed: ``:name``
binds, ``{{name}}``, ``__NAME__`` markers, ``?`` markers, other ``%`` forms, and any production
SQL folder the demo or bench owns (theirs ship inside their packages).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "include" / "sql"
# The demo's SQL follows the same rules; the benchmark's is DuckDB's (``$name`` binds, ``%`` is modulo).
DEMO_SQL = ROOT / "plugins" / "recon_operators" / "demo" / "sql"

_STRING = re.compile(r"'(?:[^']|'')*'")
_PROBLEMS = [
    (re.compile(r"\{\{|\}\}"), "{{...}} template"),
    (re.compile(r"(?<![:\w]):[A-Za-z_]\w*"), ":name parameter"),
    (re.compile(r"__[A-Z]+__"), "__NAME__ marker"),
    (re.compile(r"\?"), "? parameter"),
    (re.compile(r"%(?!\([a-z_][a-z0-9_]*\)s)(?<!VALUES %)"), "a % that is not %(name)s"),
    (re.compile(r"\{(?![a-z_][a-z0-9_]*\})"), "a brace that is not a {name} slot"),
]


def style_problems(text: str) -> list[str]:
    """What in one SQL file breaks the style; comments and string literals are not SQL to bind."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    body = _STRING.sub("''", body)
    body = re.sub(r"VALUES %s", "VALUES %", body)  # execute_values' one row-list marker
    return [what for pattern, what in _PROBLEMS if pattern.search(body)]


def test_the_scanner_knows_each_stray_style():
    assert "{{...}} template" in style_problems("SELECT * FROM {{table}}")
    assert style_problems("WHERE run_id = :run_id") == [":name parameter"]
    assert style_problems("SELECT * FROM '__SOURCE__'") == []  # inside a string: not SQL
    assert style_problems("SELECT * FROM read_csv(__SOURCE__)") == ["__NAME__ marker"]
    assert style_problems("WHERE uid = ?") == ["? parameter"]
    assert style_problems("WHERE uid = %s") == ["a % that is not %(name)s"]
    assert style_problems("SELECT {0} FROM t") == ["a brace that is not a {name} slot"]
    clean = (
        "-- {{old}} and :x in a comment\nINSERT INTO {table} (a) VALUES %s;\n"
        "SELECT x::text, '[[:space:]]?' FROM {schema_table} WHERE a = %(a)s"
    )
    assert style_problems(clean) == []


def test_every_include_and_demo_sql_file_keeps_the_style():
    files = sorted(SQL.rglob("*.sql")) + sorted(DEMO_SQL.rglob("*.sql"))
    assert len(files) > 100
    problems = {str(p.relative_to(ROOT)): found for p in files if (found := style_problems(p.read_text()))}
    assert problems == {}


def test_demo_and_bench_sql_stay_out_of_the_production_folders():
    assert not {p.name for p in SQL.iterdir()} & {"bench", "demo_report", "layers", "faults"}


def test_production_sql_carries_no_fault_hook():
    """Faults wrap a step from demo/faults.py; merge_final.sql once took a ``LIMIT %(lose)s`` hook."""
    hooks = {
        str(p.relative_to(SQL))
        for p in SQL.rglob("*.sql")
        if re.search(r"%\((lose|fault\w*|inject\w*)\)s", p.read_text())
    }
    assert hooks == set()

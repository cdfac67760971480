"""Bad input, as a careless or hostile user gives it to ``recon check``, ``validate``, ``diff`` and ``db``.

Each case runs the CLI in a subprocess against this module's own Postgres and MariaDB databases and
asserts the contract: exit 2 (anything that is not a completed comparison), exactly one line on
stderr naming what is at fault, no secret and no subscriber data anywhere in stdout or stderr, and
nothing written (the victim tables intact, no file created, no spill folder left behind).

Cases about reading a side (stacked statements, file access, casts, spill folders) hold the
engine adapters to the same contract.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import MySQLdb
import psycopg2
import pytest
import yaml

from recon_operators.demo import services
from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, MARIADB_USER, PG_HOST, PG_PORT, PG_USER

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Subscribers in every table and file: none of these may ever be printed raw.
MSISDNS = [f"628123456789{i}" for i in range(4)]
EMAILS = [f"alice.{i}@example.com" for i in range(4)]
UNCASTABLE = "007x"  # a raw value a failing cast must not echo
# A password with every character that ends a URL's user part, and distinctive pieces, so a
# leaked prefix ("Zq8Lm" before the "/") is caught as well as the whole.
PASSWORD = "Zq8Lm/Vt7#Rw2?Kp9@Hy3%Ns4"
PASSWORD_ENCODED = "Zq8Lm%2FVt7%23Rw2%3FKp9%40Hy3%25Ns4"
AWS_SECRET = "wJalrXUtnFEMIbPxRfiCYEXAMPLEKEY"
SECRETS = [PASSWORD, PASSWORD_ENCODED, AWS_SECRET, *(p for p in re.split(r"[/#?@%]", PASSWORD) if len(p) >= 3)]
PSQL_TABLE = "CREATE TABLE subs (id integer, msisdn text, email text, amount numeric(10,2), status text, code text)"
MARIADB_TABLE = (
    "CREATE TABLE subs (id integer, msisdn varchar(20), email varchar(100), amount decimal(10,2), "
    "status varchar(10), code varchar(10), photo varbinary(16)) CHARACTER SET utf8mb4"
)


def _rows() -> list[tuple[Any, ...]]:
    return [
        (i, MSISDNS[i], EMAILS[i], f"{i}.50", "ACTIVE" if i % 2 else "IDLE", UNCASTABLE if i == 2 else str(i))
        for i in range(4)
    ]


@dataclass
class World:
    """This module's databases and folders, and how to reach them."""

    pg: str
    my: str
    data: Path  # CSV files; nothing may ever appear here
    suites: Path
    work: Path  # TMPDIR of every run: spill folders land here and must be gone afterwards

    def pg_conn(self, *, auth: str = PG_USER, port: int = PG_PORT) -> str:
        return f"postgresql://{auth}@{PG_HOST}:{port}/{self.pg}"

    def my_conn(self, *, auth: str = MARIADB_USER, port: int = MARIADB_PORT) -> str:
        return f"mysql://{auth}@{MARIADB_HOST}:{port}/{self.my}"

    def pg_url(self, table: str = "subs", *, auth: str = PG_USER, port: int = PG_PORT, options: str = "") -> str:
        return f"{self.pg_conn(auth=auth, port=port)}?table={table}{options}"

    def my_url(
        self, table: str = "subs", *, auth: str = MARIADB_USER, port: int = MARIADB_PORT, options: str = ""
    ) -> str:
        return f"{self.my_conn(auth=auth, port=port)}?table={table}{options}"

    def suite(self, name: str, body: dict[str, Any] | str | bytes) -> str:
        path = self.suites / f"{name}.yaml"
        if isinstance(body, bytes):
            path.write_bytes(body)
        else:
            path.write_text(body if isinstance(body, str) else yaml.safe_dump(body, sort_keys=False))
        return str(path)

    def files_suite(self, name: str, checks: list[dict[str, Any]], **sides: dict[str, Any]) -> str:
        return self.suite(
            name,
            {
                "suite": "bad_input",
                "source": sides.get("source", {"path": str(self.data / "a.csv")}),
                "target": sides.get("target", {"path": str(self.data / "b.csv")}),
                "checks": checks,
            },
        )


def _write_csv(path: Path, rows: list[tuple[Any, ...]], extra: list[list[str]] | None = None) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "msisdn", "email", "amount", "status", "code"])
        writer.writerows(rows)
        writer.writerows(extra or [])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    pg = services.create_pg_database(services.unique_name("recon_t_badinput"))
    my = services.create_mariadb_database(services.unique_name("recon_t_badinput"))
    root = tmp_path_factory.mktemp("bad_input")
    try:
        conn = psycopg2.connect(services.pg_dsn(pg))
        with conn, conn.cursor() as cur:
            cur.execute(PSQL_TABLE)
            cur.executemany("INSERT INTO subs VALUES (%s, %s, %s, %s, %s, %s)", _rows())
        conn.close()
        conn = MySQLdb.connect(host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, passwd="", db=my)
        cur = conn.cursor()
        cur.execute(MARIADB_TABLE)
        cur.executemany(
            "INSERT INTO subs VALUES (%s, %s, %s, %s, %s, %s, %s)", [(*r, b"\xff\xfe\x00\xc3") for r in _rows()]
        )  # photo: bytes that are not UTF-8
        conn.commit()
        conn.close()
        world = World(pg, my, root / "data", root / "suites", root / "work")
        for folder in (world.data, world.suites, world.work):
            folder.mkdir()
        _write_csv(world.data / "a.csv", _rows())
        _write_csv(world.data / "b.csv", _rows())
        # A ragged row far past the lines DuckDB sniffs, holding a subscriber's number.
        filler = [(100 + i, f"62899{i:08d}", "", "1.00", "IDLE", "1") for i in range(30_000)]
        _write_csv(world.data / "ragged.csv", _rows() + filler, extra=[["9", MSISDNS[0], "oops"]])
        (world.data / "other.txt").write_text("a file no filter may read\n")
        yield world
    finally:
        services.drop_pg_database(pg)
        services.drop_mariadb_database(my)


@contextmanager
def _databases(world: World) -> Iterator[tuple[Any, Any]]:
    """A Postgres and a MariaDB connection to this module's databases, committed and closed after."""
    pg = psycopg2.connect(services.pg_dsn(world.pg))
    my = MySQLdb.connect(host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, passwd="", db=world.my)
    try:
        yield pg, my
        pg.commit()
        my.commit()
    finally:
        pg.close()
        my.close()


def _reset_victims(world: World) -> None:
    with _databases(world) as connections:
        for conn in connections:
            cur = conn.cursor()
            for statement in (
                "DROP TABLE IF EXISTS victim",
                "CREATE TABLE victim (id integer)",
                "INSERT INTO victim VALUES (1)",
            ):
                cur.execute(statement)


def _victims(world: World) -> list[Any]:
    """Each victim table's row count (Postgres, MariaDB), or None when it is gone."""
    exists = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'victim' AND table_schema = {}"
    counts: list[Any] = []
    with _databases(world) as (pg, my):
        for conn, schema in ((pg, "current_schema()"), (my, "DATABASE()")):
            cur = conn.cursor()
            cur.execute(exists.format(schema))
            if cur.fetchone()[0]:
                cur.execute("SELECT count(*) FROM victim")
                counts.append(cur.fetchone()[0])
            else:
                counts.append(None)
    return counts


def recon(world: World, args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recon_operators.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={**os.environ, "TMPDIR": str(world.work), **(env or {})},
    )


Args = Callable[[World], list[str]]


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, the fragment its one error line must hold, and what must
    never be printed besides the module's subscribers and secrets."""

    args: Args
    fragment: str | re.Pattern[str]
    exit_code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    never: tuple[str, ...] = ()


def _located(name: str, line: int, problem: str) -> re.Pattern[str]:
    """The one problem of suite file ``name`` (as ``files_suite`` dumps it), located as the
    config loader says it: ``FILE line N: field PATH: message``."""
    return re.compile(rf"/{name}\.yaml line {line}: field {re.escape(problem)}$")


def _check(name: str, checks: list[dict[str, Any]], **sides: dict[str, Any]) -> Args:
    return lambda w: ["check", w.files_suite(name, checks, **sides)]


ROW_COUNT = [{"name": "subscribers", "kind": "row_count"}]
STACKED = "id > 0) ; DROP TABLE victim; SELECT 1 FROM subs WHERE (1=1"
DUCKDB_COPY = "id > '0') ; COPY (SELECT 42) TO '{path}'; SELECT * FROM read_csv('{path}') WHERE (1=1"
DUPLICATE_TARGET = """suite: bad_input
source: {{path: {a}}}
target: {{path: {b}}}
target: {{path: {a}}}
checks:
  - {{name: subscribers, kind: row_count}}
"""


def _duplicate_target(w: World) -> list[str]:
    return ["check", w.suite("twice", DUPLICATE_TARGET.format(a=w.data / "a.csv", b=w.data / "b.csv"))]


def _stacked_check(w: World) -> list[str]:
    return [
        "check",
        w.suite(
            "forge",
            {
                "suite": "forge",
                "source": {"connection": w.pg_conn(), "table": "subs"},
                "target": {"connection": w.my_conn(), "table": "subs", "filter": STACKED},
                "checks": ROW_COUNT,
            },
        ),
    ]


def _stacked_rule(w: World) -> list[str]:
    return [
        "check",
        w.suite(
            "rule",
            {
                "suite": "rule",
                "source": {"connection": w.pg_conn(), "table": "subs"},
                "target": {"connection": w.my_conn(), "table": "subs"},
                "checks": [
                    {
                        "name": "total",
                        "kind": "rule",
                        "source": "COUNT(*)",
                        "target": "COUNT(*)) AS n FROM subs; DROP TABLE victim; SELECT (COUNT(*)",
                    }
                ],
            },
        ),
    ]


def _password_url(kind: str, password: str) -> Callable[[World], str]:
    """A URL holding ``password`` to a port where nothing listens: the connection fails."""

    def url(w: World) -> str:
        return (
            w.pg_url(auth=f"{PG_USER}:{password}", port=1)
            if kind == "postgres"
            else w.my_url(auth=f"{MARIADB_USER}:{password}", port=1)
        )

    return url


def _diff(source: Callable[[World], str], target: Callable[[World], str], *more: str) -> Args:
    return lambda w: ["diff", source(w), target(w), "--key", "id", *more]


def _pg(options: str = "", table: str = "subs") -> Callable[[World], str]:
    return lambda w: w.pg_url(table, options=options)


def _my(options: str = "", table: str = "subs") -> Callable[[World], str]:
    return lambda w: w.my_url(table, options=options)


def _file(name: str, options: str = "") -> Callable[[World], str]:
    return lambda w: f"{w.data / name}{options}"


def _conn(conn_id: str) -> Callable[[World], str]:
    return lambda w: f"conn://{conn_id}?table=subs"


def _work_dir_with_quote(w: World) -> list[str]:
    quoted = w.work / "it's"
    quoted.mkdir(exist_ok=True)
    return ["diff", w.pg_url(), w.my_url(), "--key", "id", "--work-dir", str(quoted)]


def _many_problems(command: str) -> Args:
    return lambda w: [
        command,
        w.suite(
            "many",
            {
                "suite": "Bad Name",
                "source": {"path": str(w.data / "a.csv")},
                "target": {"table": "t"},
                "checks": ROW_COUNT,
            },
        ),
    ]


CASES: dict[str, Any] = {
    # -- suites: the loader and its validation ---------------------------------------------------
    "suite-group-by-a-number": Case(
        _check("group5", [{"name": "n", "kind": "row_count", "group_by": 5}]),
        _located("group5", 9, "checks[n].group_by: must be a column name or a list of column names, got 5"),
    ),
    "suite-group-by-a-mapping": Case(
        _check("groupmap", [{"name": "n", "kind": "row_count", "group_by": {"status": 1}}]),
        _located(
            "groupmap", 9, "checks[n].group_by: must be a column name or a list of column names, got {'status': 1}"
        ),
    ),
    "suite-path-is-a-folder": Case(lambda w: ["check", str(w.suites)], "is a folder, not a suite file"),
    "suite-not-found": Case(lambda w: ["check", str(w.suites / "nope.yaml")], "suite file not found"),
    "suite-not-utf8": Case(
        lambda w: ["validate", w.suite("latin", b"suite: caf\xe9\n")], "suite file is not UTF-8 text"
    ),
    "suite-malformed-yaml": Case(lambda w: ["check", w.suite("broken", "suite: x\nchecks: [\n")], "malformed YAML"),
    "suite-second-target-key": Case(
        _duplicate_target,
        re.compile(
            r"twice\.yaml line 4: field target: given twice "
            r"\(first on line 3\)"
        ),
    ),
    "suite-key-twice-in-a-check": Case(
        lambda w: [
            "validate",
            w.suite(
                "checktwice",
                (
                    f"suite: s\nsource: {{path: {w.data / 'a.csv'}}}\ntarget: {{path: {w.data / 'b.csv'}}}\n"
                    "checks:\n  - name: n\n    kind: sum\n    kind: row_count\n"
                ),
            ),
        ],
        "checktwice.yaml line 7: field checks[0].kind: given twice (first on line 6)",
    ),
    "suite-tolerance-abs-inf": Case(
        _check("inf", [{"name": "t", "kind": "sum", "column": "amount", "tolerance": {"abs": float("inf")}}]),
        _located("inf", 11, "checks[t].tolerance.abs: must be a finite number >= 0, got inf"),
    ),
    "suite-tolerance-rel-nan": Case(
        _check("nan", [{"name": "t", "kind": "sum", "column": "amount", "tolerance": {"rel": float("nan")}}]),
        _located("nan", 11, "checks[t].tolerance.rel: must be a finite number >= 0, got nan"),
    ),
    "suite-expect-inf": Case(
        _check("expect", [{"name": "r", "kind": "rule", "target": "COUNT(*)", "expect": float("inf")}]),
        _located("expect", 10, "checks[r].expect: must be a finite number, got inf"),
    ),
    "check-suite-with-two-problems": Case(_many_problems("check"), "(+1 more problem(s))"),
    "validate-suite-with-two-problems": Case(_many_problems("validate"), "(+1 more problem(s))"),
    "check-only-an-unknown-check": Case(
        lambda w: ["check", w.files_suite("only", ROW_COUNT), "--only", "nope"],
        "--only nope: no such check in suite bad_input",
    ),
    "check-scope-without-value": Case(
        lambda w: ["check", w.files_suite("scope", ROW_COUNT), "--scope", "cohort"], "--scope takes KEY=VALUE"
    ),
    "check-side-cannot-be-read": Case(
        lambda w: [
            "check",
            w.suite(
                "missing",
                {
                    "suite": "missing",
                    "source": {"connection": w.pg_conn(), "table": "subs"},
                    "target": {"connection": w.my_conn(), "table": "no_such_table"},
                    "checks": ROW_COUNT,
                },
            ),
        ],
        "could not be evaluated; subscribers:",
    ),
    "check-connection-password-with-reserved-characters": Case(
        lambda w: [
            "check",
            w.suite(
                "pw",
                {
                    "suite": "pw",
                    "source": {"connection": w.pg_conn(auth=f"{PG_USER}:{PASSWORD}", port=1), "table": "subs"},
                    "target": {"connection": w.my_conn(), "table": "subs"},
                    "checks": ROW_COUNT,
                },
            ),
        ],
        re.compile(r"subscribers: source: .*cannot connect"),
    ),
    "check-json-file-side-aws-secret": Case(
        lambda w: [
            "check",
            "--json",
            w.files_suite(
                "awsjson",
                ROW_COUNT,
                source={
                    "path": str(w.data / "a.csv"),
                    "connection": f"aws://AKIAEXAMPLE:{AWS_SECRET}@/?region_name=us-east-1",
                },
            ),
        ],
        "",
        exit_code=0,
    ),
    # -- connection URLs and connections -----------------------------------------------------------
    **{
        f"diff-{engine}-password-with-{name}": Case(
            _diff(_password_url(engine, password), _my(), "--columns", "status"),
            re.compile(r"^recon: error: source: .*cannot connect"),
        )
        for engine in ("postgres", "mysql")
        for name, password in (
            ("slash", "Zq8Lm/Vt7"),
            ("hash", "Zq8Lm#Vt7"),
            ("question-mark", "Zq8Lm?Vt7"),
            ("at", "Zq8Lm@Vt7"),
            ("percent", "Zq8Lm%Vt7"),
            ("all-of-them", PASSWORD),
            ("all-of-them-encoded", PASSWORD_ENCODED),
        )
    },
    "diff-extra-json-malformed": Case(
        _diff(_pg("&__extra__=%7Bbad"), _my()), "source: __extra__ in the connection URL is not valid JSON"
    ),
    "diff-extra-json-not-an-object": Case(
        _diff(_pg(), _my("&__extra__=%5B1%5D")), "target: __extra__ in the connection URL must be a JSON object"
    ),
    "diff-s3-url-with-credentials": Case(
        _diff(lambda w: f"s3://AKIAEXAMPLE:{AWS_SECRET}@bucket/x.csv", _my()), "source: "
    ),
    "diff-unsupported-scheme": Case(
        _diff(lambda w: f"ftp://u:{PASSWORD}@host/x", _my()), "source: unsupported connection scheme 'ftp'"
    ),
    "diff-connection-json-port-not-a-number": Case(
        _diff(_conn("badport"), _my()),
        "source: connection JSON: port must be a number",
        env={
            "AIRFLOW_CONN_BADPORT": f'{{"conn_type": "postgres", "host": "h", "port": "5x", "password": "{PASSWORD}"}}'
        },
    ),
    "diff-connection-json-extra-malformed": Case(
        _diff(_conn("badextra"), _my()),
        "source: connection JSON extra is not valid JSON",
        env={"AIRFLOW_CONN_BADEXTRA": f'{{"conn_type": "postgres", "password": "{PASSWORD}", "extra": "{{bad"}}'},
    ),
    "diff-connection-not-defined": Case(_diff(_conn("nowhere"), _my()), "AIRFLOW_CONN_NOWHERE"),
    "db-status-password-with-reserved-characters": Case(
        lambda w: ["db", "status", "--dsn", f"postgresql://{PG_USER}:{PASSWORD}@{PG_HOST}:1/{w.pg}"],
        "cannot reach the results store",
    ),
    "db-upgrade-extra-json-malformed": Case(
        lambda w: ["db", "upgrade", "--dsn", f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{w.pg}?__extra__=%7B"],
        "__extra__ in the connection URL is not valid JSON",
    ),
    # -- diff options ---------------------------------------------------------------------------------
    "diff-tolerance-inf": Case(_diff(_pg(), _my(), "--tolerance", "amount=inf"), "must be a finite number"),
    "diff-tolerance-nan-percent": Case(_diff(_pg(), _my(), "--tolerance", "amount=nan%"), "must be a finite number"),
    "diff-tolerance-not-a-number": Case(_diff(_pg(), _my(), "--tolerance", "amount=lots"), "is not a number"),
    "diff-rule-unknown": Case(_diff(_pg(), _my(), "--rule", "status=sideways"), "rule item 'sideways'"),
    "diff-key-not-an-identifier": Case(lambda w: ["diff", w.pg_url(), w.my_url(), "--key", "id;drop"], "id;drop"),
    "diff-key-not-in-source": Case(
        lambda w: ["diff", w.pg_url(), w.my_url(), "--key", "nope"], "source has no column nope"
    ),
    "diff-sample-negative": Case(_diff(_pg(), _my(), "--sample", "-1"), "sample limit cannot be negative"),
    "diff-table-and-query": Case(_diff(_pg("&query=SELECT%201"), _my()), "exactly one"),
    "diff-missing-table-names-the-side": Case(
        _diff(_pg(), _my(table="no_such_table")), re.compile(r"^recon: error: target: .*no_such_table")
    ),
    "diff-filter-syntax-error": Case(_diff(_pg("&filter=id >> > 0"), _my()), "source: "),
    "diff-error-line-masks-the-value-a-driver-echoes": Case(
        _diff(_pg("&filter=CAST(msisdn AS integer) > 0"), _my()), "out of range for type integer"
    ),
    "diff-missing-key-option": Case(
        lambda w: ["diff", w.pg_url(), w.my_url()], "recon diff: error: the following arguments are required: --key"
    ),
    "diff-unrecognized-argument-holding-a-password": Case(
        lambda w: ["diff", w.pg_url(), w.my_url(), "--key", "id", f"postgresql://u:{PASSWORD}@h/db"],
        "unrecognized arguments",
    ),
    "diff-stacked-query": Case(
        _diff(lambda w: w.pg_conn() + "?query=SELECT * FROM subs; DROP TABLE victim", _my()),
        re.compile(r"^recon: error: source: .*query must be one SQL statement"),
    ),
    "diff-stacked-filter-on-postgres": Case(_diff(_pg(f"&filter={STACKED}"), _my(), "--columns", "status"), "source: "),
    # -- engine adapters (#11): fixed there, tracked here ------------------------------------------------
    "diff-stacked-filter-on-mariadb": pytest.param(
        Case(_diff(_pg(), _my(f"&filter={STACKED}"), "--columns", "status"), re.compile(r"^recon: error: target\b"))
    ),
    "check-stacked-filter-forges-the-count": pytest.param(
        Case(_stacked_check, re.compile(r"could not be evaluated; subscribers: .*target|target.*subscribers"))
    ),
    "check-stacked-rule-expression": Case(_stacked_rule, "could not be evaluated; total:"),
    "diff-file-filter-copies-to-a-file": pytest.param(
        Case(
            lambda w: [
                "diff",
                str(w.data / "a.csv"),
                f"{w.data / 'b.csv'}?filter={DUCKDB_COPY.format(path=w.data / 'pwned.csv')}",
                "--key",
                "id",
            ],
            re.compile(r"^recon: error: target\b"),
        )
    ),
    "check-file-filter-copies-to-a-file": pytest.param(
        Case(
            lambda w: [
                "check",
                w.files_suite(
                    "copy",
                    ROW_COUNT,
                    target={"path": str(w.data / "b.csv"), "filter": DUCKDB_COPY.format(path=w.data / "pwned.csv")},
                ),
            ],
            "could not be evaluated",
        )
    ),
    "diff-file-filter-reads-another-file": pytest.param(
        Case(
            _diff(_file("a.csv", "?filter=EXISTS (SELECT 1 FROM read_text('{other}'))"), _file("b.csv")),
            re.compile(r"^recon: error: source\b"),
        )
    ),
    "diff-ragged-csv-row-past-the-sniffed-lines": pytest.param(
        Case(_diff(_file("ragged.csv"), _file("a.csv")), re.compile(r"(?i)ragged\.csv.*line:? \d+"))
    ),
    # Not an error any more: binary columns compare as hex, whatever their bytes.
    "diff-varbinary-value-not-utf8": Case(_diff(_my(), _my(), "--columns", "photo"), "", exit_code=0),
    "diff-rule-cannot-cast-a-value": pytest.param(
        Case(_diff(_pg(), _my(), "--rule", "code=integer"), re.compile(r"\bcode\b"))
    ),
    "diff-memory-limit-malformed": pytest.param(
        Case(_diff(_pg(), _my(), "--memory-limit", "1..5GB"), "--memory-limit")
    ),
    "diff-work-dir-missing": pytest.param(
        Case(
            lambda w: ["diff", w.pg_url(), w.my_url(), "--key", "id", "--work-dir", str(w.work / "nowhere")],
            "--work-dir",
        )
    ),
    "diff-work-dir-with-a-quote": pytest.param(Case(_work_dir_with_quote, "--work-dir")),
    "diff-mariadb-stream-error-shows-the-server-message": pytest.param(
        Case(
            _diff(_pg(), _my("&filter=id = (SELECT id FROM subs)"), "--columns", "status"),
            "Subquery returns more than 1 row",
        )
    ),
    "diff-comparing-zero-columns": pytest.param(
        Case(_diff(_pg(), _my(), "--exclude", "msisdn,email,amount,status,code"), re.compile(r"(?i)column"))
    ),
}


def _expand(case: Case, world: World) -> list[str]:
    """Arguments, with ``{other}`` (a file no filter may read) filled in."""
    return [a.replace("{other}", str(world.data / "other.txt")) for a in case.args(world)]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_exits_2_with_one_masked_line_and_writes_nothing(world: World, case: Case) -> None:
    _reset_victims(world)
    files_before = sorted(world.data.iterdir())
    done = recon(world, _expand(case, world), case.env)
    lines = done.stderr.splitlines()
    if case.exit_code == 2:
        assert len(lines) == 1, done.stderr
        assert re.match(r"recon( \w+)?: error: ", lines[0]), lines
        assert (
            re.search(case.fragment, lines[0]) if isinstance(case.fragment, re.Pattern) else case.fragment in lines[0]
        ), lines[0]
    else:
        assert lines == [], done.stderr
    assert done.returncode == case.exit_code, done.stdout + done.stderr
    printed = done.stdout + done.stderr
    for value in (*MSISDNS, *EMAILS, UNCASTABLE, *SECRETS, *case.never):
        assert value not in printed, f"{value!r} printed: {printed}"
    assert "Traceback" not in printed
    assert _victims(world) == [1, 1], "a statement beyond a predicate ran"
    assert sorted(world.data.iterdir()) == files_before, "a file was written"
    assert list(world.work.glob("recon-diff-*")) == [], "a spill folder was left behind"


def test_cases_cover_the_issue_and_more() -> None:
    assert len(CASES) >= 40


# -- the error contract beyond one line ------------------------------------------------------------


@pytest.mark.parametrize("how", [["--debug"], []], ids=["--debug", "RECON_DEBUG=1"])
def test_debug_adds_the_traceback_above_the_line(world: World, how: list[str]) -> None:
    env = {} if how else {"RECON_DEBUG": "1"}
    done = recon(world, ["diff", world.pg_url(), world.my_url(), "--key", "id", "--memory-limit", "1..5GB", *how], env)
    assert done.returncode == 2
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert done.stderr.splitlines()[-1].startswith("recon: error: ")


def test_a_completed_diff_with_differences_is_exit_1_and_stderr_stays_clean(world: World) -> None:
    done = recon(
        world,
        [
            "diff",
            world.pg_url(),
            world.my_url(options="&filter=id < 3"),
            "--key",
            "id",
            "--columns",
            "status",
            "--json",
        ],
    )
    assert done.returncode == 1 and done.stderr == ""
    for value in (*MSISDNS, *EMAILS):
        assert value not in done.stdout


@pytest.mark.parametrize("stop", [pytest.param(signal.SIGTERM), signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_diff_removes_its_private_spill_folder(world: World, stop: signal.Signals) -> None:
    """What Airflow and ``timeout`` send, mid-diff: the spill folder (0700) holds raw rows and must go."""
    work = world.work / f"stopped_{stop.name}"
    work.mkdir()
    slow = "&filter=(SELECT count(*) FROM pg_sleep(20)) = 1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recon_operators.cli",
            "diff",
            world.pg_url(options=slow),
            world.my_url(),
            "--key",
            "id",
            "--work-dir",
            str(work),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 120
        while not list(work.glob("recon-diff-*/*")) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        spill = list(work.glob("recon-diff-*"))
        assert spill and spill[0].stat().st_mode & 0o777 == 0o700
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert list(work.iterdir()) == [], "the spill folder survived the signal"
    assert "Traceback" not in stderr and len(stderr.splitlines()) <= 1


def test_progress_on_a_terminal_and_clean_json_otherwise(world: World) -> None:
    import pty

    slow = "&filter=(SELECT count(*) FROM pg_sleep(3)) = 1"
    args = ["diff", world.pg_url(options=slow), world.my_url(), "--key", "id", "--json"]
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "recon_operators.cli", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            env=dict(os.environ),
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0 and done.stdout.startswith(b"{")
    assert re.search(rb"(?i)rows", shown), shown
    piped = recon(world, args)
    assert piped.returncode == 0 and piped.stderr == ""

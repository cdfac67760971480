"""Row diff between real Postgres and MariaDB: exact counts, and cosmetic differences are not diffs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import psycopg2
import pytest

from recon_operators.demo.services import pg_dsn
from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.adapters.mysql import MySQLAdapter
from recon_operators.engine.adapters.postgres import PostgresAdapter
from recon_operators.engine.normalise import ColumnRule
from recon_operators.engine.rowdiff import DiffError, DiffSpec, compare, run_diff
from recon_operators.engine.spec import SideSpec, Tolerance
from tests.integration.rowdiff_data import changed, mariadb_connect, rows, table, write_mariadb, write_postgres

pytestmark = pytest.mark.integration


@pytest.fixture(params=["tables, wide join", "views over spill files, fingerprint join"])
def sides(databases, request, monkeypatch):
    """Write source rows to Postgres and target rows to MariaDB; returns a diff runner. Every
    test runs both ways: in memory, and as a diff too big for memory runs (forced by a budget
    of 4 bytes for DuckDB's planning; DuckDB's own limit is unchanged)."""
    if request.param.startswith("views"):
        monkeypatch.setattr(compare, "_bytes", lambda limit: 4)
    opened = []

    def diff(source_rows, target_rows, **spec):
        pg_table, my_table = table(), table()
        write_postgres(databases["transform"], pg_table, source_rows)
        write_mariadb(databases["stage"], my_table, target_rows)
        source = PostgresAdapter(psycopg2.connect(pg_dsn(databases["transform"])), SideSpec(table=pg_table))
        target = MySQLAdapter(mariadb_connect(databases["stage"]), SideSpec(table=my_table))
        opened.extend([source, target])
        return run_diff(DiffSpec(**{"key": ("msisdn",), **spec}), source, target)

    yield diff
    for dataset in opened:
        dataset.close()


def test_same_rows_in_different_column_types_are_equal(sides):
    """numeric(14,2) vs decimal(14,3), double vs decimal(10,4), char(8) vs varchar, timestamp vs
    datetime, timestamptz vs timestamp, quotes and commas in text: none of them is a difference."""
    result = sides(rows(), rows())
    assert result.equal, result.as_dict()
    assert (result.source_rows, result.target_rows, result.matched_rows) == (30, 30, 30)
    assert result.columns == [
        "batch",
        "plan",
        "balance",
        "rate",
        "activated_at",
        "seen_at",
        "born",
        "status",
        "email",
        "note",
    ]
    assert result.column_mismatches == {} and result.samples == []


def test_missing_extra_and_changed_rows_are_counted_per_column(sides):
    data = rows()
    target = changed(data, 4, balance=data[4]["balance"] + Decimal("0.01"), status="BARRED")
    target = changed(target, 7, activated_at=data[7]["activated_at"] + timedelta(seconds=1))
    extra = dict(data[0], msisdn="6281299999999")
    del target[10]
    target.append(extra)
    result = sides(data, target)
    assert (result.missing_in_target, result.extra_in_target, result.changed_rows) == (1, 1, 2)
    assert result.matched_rows == 29
    assert result.column_mismatches == {"balance": 1, "status": 1, "activated_at": 1}
    statuses = [s["status"] for s in result.samples]
    assert statuses == ["changed", "changed", "missing_in_target", "extra_in_target"]
    first = result.samples[0]
    # numeric(14,2) vs decimal(14,3): both sides render the larger scale
    assert first["columns"] == {"balance": "4.280~4.290", "status": "IDLE~BARRED"}
    # The MSISDN key is masked in samples; the raw number never appears.
    assert first["key"] == {"msisdn": "62812*******04"}
    assert "6281200000004" not in str(result.as_dict())


def test_tolerances_absolute_and_relative(sides):
    data = rows()
    target = changed(data, 3, balance=data[3]["balance"] + Decimal("0.05"))
    target = changed(target, 20, rate=0.80)  # 0.0 -> 0.8: relative tolerance of 0 cannot cover it
    assert sides(data, target).column_mismatches == {"balance": 1, "rate": 1}
    within = sides(data, target, tolerances={"balance": Tolerance(abs=Decimal("0.05"))})
    assert within.column_mismatches == {"rate": 1}
    relative = sides(
        changed(data, 3, balance=Decimal("100.00")),
        changed(data, 3, balance=Decimal("100.90")),
        tolerances={"balance": Tolerance(rel=Decimal("0.01"))},
    )
    assert relative.equal


def test_declared_rules_trim_case_empty_and_time_zone(sides):
    data = rows()
    target = changed(data, 1, status="  idle ")
    target = changed(target, 2, note="")  # note is NULL in the source (i % 5 == 0 is index 0, 5...)
    target = changed(target, 5, note="")
    # MariaDB side written as local +07:00 wall clock for every row.
    target = [dict(r, activated_at=r["activated_at"] + timedelta(hours=7)) for r in target]
    plain = sides(data, target)
    assert plain.column_mismatches == {"status": 1, "note": 2, "activated_at": 30}
    ruled = sides(
        data,
        target,
        rules={"status": ColumnRule(trim=True, case="upper"), "note": ColumnRule(empty_as_null=True)},
        target_rules={"activated_at": ColumnRule(timezone="+07:00")},
    )
    # Row 2's note "note 2, ..." became '' and stays a real difference; row 5's NULL vs '' does not.
    assert ruled.column_mismatches == {"note": 1}


def test_composite_string_key(databases, sides):
    data = rows(6)
    twins = [dict(r, batch=9) for r in data]  # same MSISDN in another batch: another row
    source = data + twins
    target = data + changed(twins, 2, status="CHANGED")
    result = sides(source, target, key=("msisdn", "batch"))
    assert (result.source_rows, result.matched_rows, result.changed_rows) == (12, 12, 1)
    assert result.samples[0]["key"]["batch"] == "9" and result.column_mismatches == {"status": 1}
    by_msisdn_only = sides(source, target)
    assert by_msisdn_only.duplicate_keys_source == 6 and by_msisdn_only.duplicate_keys_target == 6


def test_duplicate_keys_are_reported_not_collapsed(sides):
    data = rows(10)
    source = data + [dict(data[3], status="OTHER")]
    result = sides(source, data)
    assert result.duplicate_keys_source == 1 and result.duplicate_keys_target == 0
    assert (result.missing_in_target, result.extra_in_target, result.changed_rows) == (0, 0, 0)
    assert result.matched_rows == 9 and not result.equal
    assert [s for s in result.samples if s["status"] == "duplicate_in_source"] == [
        {"status": "duplicate_in_source", "key": {"msisdn": "62812*******03"}, "rows": 2}
    ]


def test_columns_exclude_and_sample_limit(sides):
    data = rows()
    target = [dict(r, status="X") for r in data]
    result = sides(data, target, columns=("status", "plan"), sample_limit=3)
    assert result.columns == ["status", "plan"] and result.changed_rows == 30
    assert len(result.samples) == 3
    assert sides(data, target, exclude=("status",)).equal
    unmasked = sides(data, target, columns=("email",), sample_limit=1, mask=False)
    assert unmasked.equal


def test_query_and_filter_with_bound_parameters(databases):
    pg_table = table()
    write_postgres(databases["transform"], pg_table, rows())
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    source = PostgresAdapter(conn, SideSpec(table=pg_table, filter="batch = :batch", params={"batch": 2}))
    target = PostgresAdapter(conn, SideSpec(query=f"SELECT * FROM {pg_table} WHERE batch = 2"))
    try:
        result = run_diff(DiffSpec(key=("msisdn",)), source, target)
    finally:
        conn.close()
    assert result.equal and result.source_rows == 15


def test_mariadb_filter_with_parameters_and_percent_signs(databases):
    """DATE_FORMAT's '%Y' and a LIKE '%' must survive the driver's parameter formatting."""
    my_table = table()
    write_mariadb(databases["stage"], my_table, rows())
    conn = mariadb_connect(databases["stage"])
    try:
        for where, params in (
            ("batch = :batch AND email LIKE '%@example.com'", {"batch": "2"}),
            ("batch = 2 AND email LIKE '%@example.com'", {}),
        ):
            filtered = MySQLAdapter(conn, SideSpec(table=my_table, filter=where, params=params))
            whole = MySQLAdapter(conn, SideSpec(query=f"SELECT * FROM {my_table} WHERE batch = '2'"))
            result = run_diff(DiffSpec(key=("msisdn",)), filtered, whole)
            assert result.equal and result.source_rows == 15, where
    finally:
        conn.close()


def test_unreadable_side_and_bad_spec_are_clear_errors(databases):
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    try:
        missing = PostgresAdapter(conn, SideSpec(table="no_such_table"))
        with pytest.raises(SourceError, match="source: .*no_such_table"):
            run_diff(DiffSpec(key=("msisdn",)), missing, missing)
        pg_table = table()
        write_postgres(databases["transform"], pg_table, rows(3))
        present = PostgresAdapter(conn, SideSpec(table=pg_table))
        with pytest.raises(DiffError, match="source has no column nope"):
            run_diff(DiffSpec(key=("nope",)), present, present)
        with pytest.raises(SourceError, match="needs :day"):
            run_diff(
                DiffSpec(key=("msisdn",)),
                PostgresAdapter(conn, SideSpec(table=pg_table, filter="born = :day")),
                present,
            )
    finally:
        conn.close()
    with pytest.raises(DiffError, match="needs a key"):
        DiffSpec(key=())
    with pytest.raises(DiffError, match="not a valid identifier"):
        DiffSpec(key=("msisdn; drop table x",))


@pytest.mark.parametrize("through_client", [False, True])
def test_awkward_text_travels_intact_through_either_mariadb_path(databases, through_client):
    """Quotes, backslashes, tabs, newlines, a bare carriage return, the word NULL, '' and NULL: equal on both engines,
    whether MariaDB streams through its client or through the driver."""
    from recon_operators.connections import ConnectionInfo
    from recon_operators.demo.services import MARIADB_HOST, MARIADB_PORT, MARIADB_USER

    awkward = ["it's", "back\\slash", "tab\there", "new\nline", "NULL", "", None, 'é,"q"', "\\N", "cr\rhere", "a\\nb"]
    data = [dict(r, note=awkward[i % len(awkward)]) for i, r in enumerate(rows(22))]
    pg_table, my_table = table(), table()
    write_postgres(databases["transform"], pg_table, data)
    write_mariadb(databases["stage"], my_table, data)
    native = ConnectionInfo("mysql", MARIADB_HOST, MARIADB_PORT, MARIADB_USER, None, databases["stage"])
    source = PostgresAdapter(psycopg2.connect(pg_dsn(databases["transform"])), SideSpec(table=pg_table))
    target = MySQLAdapter(
        mariadb_connect(databases["stage"]), SideSpec(table=my_table), native=native if through_client else None
    )
    try:
        result = run_diff(DiffSpec(key=("msisdn",)), source, target)
        assert result.equal, result.as_dict()
        drifted = MySQLAdapter(
            target.connection,
            SideSpec(query=f"SELECT msisdn, REPLACE(note, 'it', 'IT') AS note FROM {my_table}"),
            native=native if through_client else None,
        )
        changed_notes = run_diff(DiffSpec(key=("msisdn",), columns=("note",), mask=False), source, drifted)
        assert changed_notes.changed_rows == 2
        assert {s["columns"]["note"] for s in changed_notes.samples} == {"it's~IT's"}
    finally:
        source.close()
        target.close()


def test_changed_rows_stay_exact_when_the_changed_key_filter_collides(sides, monkeypatch):
    """The bit filter that spares the full-row re-read is only a prefilter: with 8 bits for
    many changed keys nearly every row passes it, and the counts must not change."""
    monkeypatch.setattr(compare, "FILTER_MIN_BITS", 8)
    monkeypatch.setattr(compare, "FILTER_MAX_BITS", 8)
    data = rows(60)
    target = data
    for index in range(0, 60, 3):
        target = changed(target, index, status="BARRED")
    result = sides(data, target)
    assert (result.source_rows, result.matched_rows, result.changed_rows) == (60, 60, 20)
    assert result.column_mismatches == {"status": 20}
    assert (result.missing_in_target, result.extra_in_target) == (0, 0)


def test_a_null_key_never_pairs_with_the_other_sides_null_key(sides):
    """As in a join, NULL = NULL is not a match: one NULL-key row on each side is one missing and
    one extra row, whichever way the keys are matched (join, or one aggregate over both sides)."""
    data = rows(8)
    source = changed(data, 2, msisdn=None)
    target = changed(data, 5, msisdn=None)
    result = sides(source, target)
    assert (result.missing_in_target, result.extra_in_target, result.changed_rows) == (2, 2, 0)
    assert (result.matched_rows, result.duplicate_keys_source, result.duplicate_keys_target) == (6, 0, 0)


def test_two_null_keys_on_one_side_are_two_missing_rows(sides):
    """Both paths agree: a NULL key never pairs and is never a duplicate (was 2 missing + 1
    duplicate in memory, 0 + 1 beyond the budget)."""
    data = rows(8)
    source = changed(changed(data, 2, msisdn=None), 5, msisdn=None)
    result = sides(source, data)
    assert (result.missing_in_target, result.extra_in_target, result.duplicate_keys_source) == (2, 2, 0)
    assert (result.source_rows, result.matched_rows, result.changed_rows) == (8, 6, 0)


def test_boolean_rule_and_incomparable_column(databases):
    """A declared rule picks the form (--rule flag=boolean); a pair with no form is reported once."""
    pg_table, my_table = table(), table()
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {pg_table} (id int, flag text, doc jsonb)")
        cur.execute(f"INSERT INTO {pg_table} VALUES (1, 'yes', '{{\"a\": 1}}'), (2, 'no', '[1]')")
    my = mariadb_connect(databases["stage"])
    cur = my.cursor()
    cur.execute(f"CREATE TABLE {my_table} (id INT, flag TINYINT(1), doc INT)")
    cur.execute(f"INSERT INTO {my_table} VALUES (1, 1, 5), (2, 0, 6)")
    my.commit()
    source = PostgresAdapter(conn, SideSpec(table=pg_table))
    target = MySQLAdapter(my, SideSpec(table=my_table))
    try:
        result = run_diff(DiffSpec(key=("id",), rules={"flag": ColumnRule(type="boolean")}), source, target)
    finally:
        source.close()
        target.close()
    assert result.column_mismatches == {} and result.changed_rows == 0
    assert result.incomparable == {
        "doc": "doc: jsonb (source) vs int(11) (target) have no common form; pass --rule doc=text or --exclude doc"
    }
    assert not result.equal and result.columns == ["flag"]

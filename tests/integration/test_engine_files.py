"""File sides (CSV, Parquet; local disk and moto S3) against Postgres, through DuckDB/Arrow."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from recon_operators.demo.services import pg_dsn
from recon_operators.engine.opener import open_side
from recon_operators.engine.runner import run_suite
from recon_operators.engine.scope import Scope
from recon_operators.engine.spec import SuiteError, parse_suite

from .recon_data import COLUMNS, faulted, subscribers, table_name, write_csv, write_postgres

pytestmark = pytest.mark.integration

RULES = {
    "status": {"trim": True},
    "balance": {"type": "decimal", "scale": 2},
    "activated_at": {"type": "timestamp"},
    "email": {"empty_as_null": True},
}
CHECKS = [
    {"name": "rows", "kind": "row_count"},
    {"name": "balance_total", "kind": "sum", "column": "balance"},
    {"name": "rows_by_status", "kind": "row_count", "group_by": ["status"]},
    {"name": "distinct_email", "kind": "distinct_count", "column": "email"},
    {"name": "latest_activation", "kind": "max", "column": "activated_at"},
    {"name": "lowest_balance", "kind": "min", "column": "balance"},
    {"name": "fingerprint", "kind": "hash", "columns": ["msisdn", "status", "balance", "activated_at", "email"]},
]


def run(source: dict, target: dict, checks=CHECKS) -> dict:
    suite = {"suite": "files", "source": source, "target": target, "normalise": RULES, "checks": checks}
    results = run_suite(parse_suite(yaml.safe_dump(suite)), Scope(env="test", cohort_id="C1"), open_side)
    return {(r.check_name, r.group): r for r in results}


@pytest.fixture
def pg_side(databases):
    table = table_name()
    write_postgres(pg_dsn(databases["transform"]), table, subscribers())
    return {"connection": pg_dsn(databases["transform"]), "table": table}


def write_parquet(path: Path, rows) -> Path:
    table = pa.table(
        {
            "msisdn": [r["msisdn"] for r in rows],
            "cohort_id": [r["cohort_id"] for r in rows],
            "status": [r["status"] for r in rows],
            "plan": [r["plan"] for r in rows],
            "balance": pa.array([r["balance"] for r in rows], type=pa.decimal128(14, 2)),
            "activated_at": pa.array([r["activated_at"] for r in rows], type=pa.timestamp("us")),
            "email": [r["email"] for r in rows],
        }
    )
    pq.write_table(table, path)
    return path


def test_local_csv_matches_postgres(pg_side, tmp_path):
    csv_path = write_csv(tmp_path / "subs.csv", subscribers())
    results = run(pg_side, {"path": str(csv_path), "filter": "cohort_id = :cohort_id"})
    assert all(r.passed for r in results.values()), {
        k: (r.expected, r.actual, r.message) for k, r in results.items() if not r.passed
    }
    assert results[("balance_total", None)].actual == sum(r["balance"] for r in subscribers())


def test_local_parquet_matches_postgres_and_finds_a_cent(pg_side, tmp_path):
    clean = write_parquet(tmp_path / "clean.parquet", subscribers())
    assert all(r.passed for r in run(pg_side, {"path": str(clean)}).values())
    drift = write_parquet(tmp_path / "drift.parquet", faulted(subscribers(), amount=(9, "-0.01")))
    results = run(pg_side, {"path": str(drift)})
    assert results[("balance_total", None)].discrepancy == Decimal("-0.01")
    assert not results[("fingerprint", None)].passed


def test_csv_on_moto_s3_through_the_aws_connection(pg_side, tmp_path, airflow_env, moto_server):
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="landing")
    body = write_csv(tmp_path / "subs.csv", faulted(subscribers(), drop=3)).read_bytes()
    s3.put_object(Bucket="landing", Key="cohort/C1/part-1.csv", Body=body)
    results = run(pg_side, {"connection": "aws_default", "path": "s3://landing/cohort/C1/part-1.csv"})
    assert (results[("rows", None)].expected, results[("rows", None)].actual) == (40, 39)
    whole_prefix = run(
        pg_side,
        {"connection": "aws_default", "path": "s3://landing/cohort/C1/*.csv"},
        checks=[{"name": "rows", "kind": "row_count"}],
    )
    assert whole_prefix[("rows", None)].actual == 39


def test_csv_dialect_quirks_are_read_correctly(tmp_path, pg_side):
    """BOM, CRLF line ends, quoted commas and newlines inside fields."""
    rows = subscribers()[:3]
    lines = [",".join(COLUMNS)]
    for r in rows:
        values = [str(r[c]) if c != "activated_at" else r[c].isoformat(sep=" ") for c in COLUMNS]
        values[COLUMNS.index("email")] = '"a, b\nc"'
        lines.append(",".join(values))
    path = tmp_path / "quirky.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    checks = [
        {"name": "rows", "kind": "row_count"},
        {"name": "first", "kind": "min", "column": "msisdn"},
        {"name": "emails", "kind": "distinct_count", "column": "email"},
    ]
    results = run({"path": str(path)}, {"path": str(path)}, checks=checks)
    assert results[("rows", None)].actual == 3
    assert results[("first", None)].actual == Decimal("628110000000")  # digits without a leading zero: a number
    assert results[("emails", None)].actual == 1


def test_empty_and_header_only_and_missing_files(tmp_path, pg_side):
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(COLUMNS) + "\n")
    results = run(
        {"path": str(header_only)}, {"path": str(header_only)}, checks=[{"name": "rows", "kind": "row_count"}]
    )
    assert results[("rows", None)].passed and results[("rows", None)].actual == 0

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    results = run(pg_side, {"path": str(empty)}, checks=[{"name": "rows", "kind": "row_count"}])
    assert results[("rows", None)].status.value == "Error" and "empty.csv" in results[("rows", None)].message

    results = run(pg_side, {"path": str(tmp_path / "nope.csv")}, checks=[{"name": "rows", "kind": "row_count"}])
    assert results[("rows", None)].status.value == "Error" and "nope.csv" in results[("rows", None)].message


def test_file_path_placeholders_come_from_the_scope(pg_side, tmp_path):
    folder = tmp_path / "C1"
    folder.mkdir()
    write_csv(folder / "subscribers.csv", subscribers())
    side = {"path": str(tmp_path / "{cohort_id}" / "subscribers.csv")}
    results = run(pg_side, side, checks=[{"name": "rows", "kind": "row_count"}])
    assert results[("rows", None)].passed and results[("rows", None)].actual == 40
    missing = run(pg_side, {"path": str(tmp_path / "{batch_id}.csv")}, checks=[{"name": "rows", "kind": "row_count"}])
    assert "needs {batch_id} but the scope has no batch_id" in missing[("rows", None)].message


def test_csv_timestamps_with_offsets_are_converted_not_truncated(pg_side, tmp_path):
    rows = subscribers()
    path = tmp_path / "offsets.csv"
    lines = ["msisdn,activated_at"]
    for r in rows:  # the same instants written as +07:00 local time with the offset
        local = r["activated_at"] + __import__("datetime").timedelta(hours=7)
        lines.append(f"{r['msisdn']},{local.isoformat(sep=' ')}+07:00")
    path.write_text("\n".join(lines) + "\n")
    results = run(
        pg_side,
        {"path": str(path)},
        checks=[
            {"name": "latest", "kind": "max", "column": "activated_at"},
            {"name": "fingerprint", "kind": "hash", "columns": ["msisdn", "activated_at"]},
        ],
    )
    assert all(r.passed for r in results.values()), {k: (r.expected, r.actual) for k, r in results.items()}


def test_views_let_a_file_filter_semi_join_another_file(pg_side, tmp_path):
    """A child extract filtered to the parents another file marks: the rows Mini Recon 1 compares."""
    folder = tmp_path / "C1"
    folder.mkdir()
    rows = subscribers()
    write_csv(folder / "subscribers.csv", rows)
    keep = [r for r in rows if r["status"] == "ACTIVE"]
    side = {
        "path": str(folder / "subscribers.csv"),
        "views": {"parents": str(tmp_path / "{cohort_id}" / "subscribers.csv")},
        "filter": "msisdn IN (SELECT msisdn FROM parents WHERE status = 'ACTIVE')",
    }
    target = {**pg_side, "filter": "status = 'ACTIVE'"}
    checks = [{"name": "rows", "kind": "row_count"}, {"name": "balance_total", "kind": "sum", "column": "balance"}]
    results = run(side, target, checks=checks)
    assert results[("rows", None)].passed and results[("rows", None)].actual == len(keep) < len(rows)
    assert results[("balance_total", None)].passed
    missing = run({**side, "views": {"parents": str(tmp_path / "nope.csv")}}, target, checks=checks)
    assert "nope.csv" in missing[("rows", None)].message
    with pytest.raises(SuiteError) as caught:
        parse_suite(
            yaml.safe_dump(
                {"suite": "s", "source": {**pg_side, "views": {"p": "x.csv"}}, "target": side, "checks": checks}
            ),
            "s.yaml",
        )
    assert [str(p) for p in caught.value.problems] == [
        "s.yaml line 10: field source.views: belongs to file sides (path:) only"
    ]

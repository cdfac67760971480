"""Row diff with file sides (CSV, Parquet; local and moto S3) and a Mongo side (mongomock)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal

import mongomock
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bson.decimal128 import Decimal128

from recon_operators.demo.services import pg_dsn
from recon_operators.engine.adapters.base import SourceError
from recon_operators.engine.adapters.files import FileAdapter, s3_filesystem
from recon_operators.engine.adapters.mongo import MongoAdapter
from recon_operators.engine.adapters.mysql import MySQLAdapter
from recon_operators.engine.adapters.postgres import PostgresAdapter
from recon_operators.engine.rowdiff import DiffSpec, run_diff
from recon_operators.engine.spec import SideSpec
from tests.integration.rowdiff_data import COLUMNS, changed, mariadb_connect, rows, table, write_mariadb, write_postgres


def file_side(path, filesystem=None):
    return FileAdapter(SideSpec(path=path), filesystem=filesystem)


def mongo_side(database, collection, filter=None, params=None):
    return MongoAdapter(database, SideSpec(collection=collection, filter=filter), params=params)


def write_csv(path, data, *, bom: bool = False, crlf: bool = False) -> str:
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as out:
        writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(COLUMNS)
        for row in data:
            writer.writerow(["" if row[c] is None else row[c] for c in COLUMNS])
    return str(path)


def write_parquet(path, data) -> str:
    schema = pa.schema(
        [
            ("msisdn", pa.string()),
            ("batch", pa.int64()),
            ("plan", pa.string()),
            ("balance", pa.decimal128(14, 4)),
            ("rate", pa.float64()),
            ("activated_at", pa.timestamp("us")),
            ("seen_at", pa.timestamp("us", tz="UTC")),
            ("born", pa.date32()),
            ("status", pa.string()),
            ("email", pa.string()),
            ("note", pa.string()),
        ]
    )
    pq.write_table(pa.Table.from_pylist([{c: r[c] for c in COLUMNS} for r in data], schema=schema), path)
    return str(path)


pytestmark = pytest.mark.integration


@pytest.fixture
def postgres(databases):
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    yield lambda data: PostgresAdapter(conn, SideSpec(table=_pg_table(databases, data)))
    conn.close()


def _pg_table(databases, data) -> str:
    name = table()
    write_postgres(databases["transform"], name, data)
    return name


def diff(source, target, **spec):
    return run_diff(DiffSpec(**{"key": ("msisdn",), **spec}), source, target)


def test_csv_against_postgres_and_parquet_against_mariadb(tmp_path, postgres, databases):
    data = rows()
    assert diff(file_side(write_csv(tmp_path / "a.csv", data)), postgres(data)).equal
    my_table = table()
    write_mariadb(databases["stage"], my_table, data)
    mariadb = MySQLAdapter(mariadb_connect(databases["stage"]), SideSpec(table=my_table))
    try:
        assert diff(file_side(write_parquet(tmp_path / "a.parquet", data)), mariadb).equal
    finally:
        mariadb.close()


def test_csv_with_bom_crlf_quoted_commas_and_newlines_against_parquet(tmp_path):
    data = changed(rows(), 2, note='line one\nline two, "quoted"')
    source = file_side(write_csv(tmp_path / "s.csv", data, bom=True, crlf=True))
    target_data = changed(data, 8, status="SUSPENDED", note="other")
    result = diff(source, file_side(write_parquet(tmp_path / "t.parquet", target_data)))
    assert (result.source_rows, result.changed_rows) == (30, 1)
    assert result.column_mismatches == {"status": 1, "note": 1}
    assert result.samples[0]["columns"] == {"status": "BARRED~SUSPENDED", "note": 'note 8, with "quotes"~other'}
    multiline = diff(source, file_side(write_parquet(tmp_path / "t.parquet", data)), columns=("note",))
    assert multiline.equal  # the quoted newline and comma survived the CSV read intact


def test_csv_to_csv_counts_missing_extra_and_a_csv_on_s3(tmp_path, moto_server):
    data = rows()
    target = changed(data, 0, plan="BRONZE")[1:] + [dict(data[0], msisdn="6281300000000")]
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="rowdiff")
    s3.put_object(Bucket="rowdiff", Key="in/target.csv", Body=open(write_csv(tmp_path / "t.csv", target), "rb").read())
    filesystem = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    result = diff(
        file_side(write_csv(tmp_path / "s.csv", data)), file_side("s3://rowdiff/in/target.csv", filesystem=filesystem)
    )
    assert (result.missing_in_target, result.extra_in_target, result.changed_rows) == (1, 1, 0)
    assert result.target["path"] == "s3://rowdiff/in/target.csv"


def test_malformed_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="nope.csv"):
        file_side(str(tmp_path / "nope.csv"))
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(SourceError, match="broken.parquet"):
        file_side(str(broken))


def mongo_docs(data):
    docs = []
    for row in data:
        doc = dict(
            row,
            balance=Decimal128(row["balance"]),
            born=datetime(row["born"].year, row["born"].month, row["born"].day),
            seen_at=row["seen_at"].astimezone(UTC).replace(tzinfo=None),
        )
        if doc["note"] is None:
            del doc["note"]  # a missing field is NULL
        docs.append(doc)
    return docs


def test_mongo_collection_against_postgres(postgres):
    data = rows()
    database = mongomock.MongoClient()["crm"]
    database["subs"].insert_many(mongo_docs(changed(data, 6, balance=Decimal("99.5"))))
    result = diff(mongo_side(database, "subs"), postgres(data))
    assert (result.source_rows, result.matched_rows, result.changed_rows) == (30, 30, 1)
    assert result.column_mismatches == {"balance": 1}
    assert result.samples[0]["columns"] == {"balance": "99.5~6.42"}  # Decimal128 has no declared scale
    only_batch_1 = diff(
        mongo_side(database, "subs", filter={"batch": ":batch"}, params={"batch": 1}),
        postgres([r for r in data if r["batch"] == 1]),
        columns=("status",),
    )
    assert only_batch_1.equal and only_batch_1.source_rows == 15

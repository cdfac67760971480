"""Landing the synthetic cohort on local disk and on moto S3, then reading it back with pyarrow."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from recon_operators.demo.generator import CohortSpec, PrefixSpec, drift_amounts, generate, write_landing
from recon_operators.engine.adapters.files import s3_filesystem
from recon_operators.migration.landing import DATASETS, BatchRange

pytestmark = pytest.mark.integration

COHORT = CohortSpec(
    "C42",
    [
        PrefixSpec("P811", "62811", [BatchRange("1", "628110000000", "628110000999")]),
        PrefixSpec("P852", "62852", [BatchRange("1", "628520000000", "628520000499")]),
    ],
    seed=42,
)


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return generate(COHORT)


def read_csv_as_text(filesystem: pafs.FileSystem, path: str, schema: pa.Schema) -> pa.Table:
    """Every column as text, as a landing check reads it: digits and decimals stay as written."""
    convert = pacsv.ConvertOptions(
        column_types={f.name: pa.string() for f in schema}, strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    with filesystem.open_input_stream(path) as source:
        return pacsv.read_csv(source, convert_options=convert)


def assert_landed(filesystem: pafs.FileSystem, paths: list[str], tables: dict[str, pa.Table], fmt: str) -> None:
    assert [p.rsplit("/", 3)[-3:] for p in paths] == [["C42", name, f"part-0000.{fmt}"] for name in DATASETS]
    for name, path in zip(DATASETS, paths):
        key = path.removeprefix("s3://")
        if fmt == "parquet":
            back = pq.read_table(key, filesystem=filesystem)  # Parquet keeps seconds as milliseconds
            assert back.cast(tables[name].schema).equals(tables[name]), name
            continue
        back = read_csv_as_text(filesystem, key, DATASETS[name].schema)
        assert back.num_rows == tables[name].num_rows and back.column_names == tables[name].column_names, name
        assert back[DATASETS[name].key].to_pylist() == tables[name][DATASETS[name].key].to_pylist(), name


def spot_check_csv(filesystem: pafs.FileSystem, root: str, tables: dict[str, pa.Table]) -> None:
    """Decimals, nulls vs empty strings and the quoted JSON column survive the CSV round trip."""
    balances = read_csv_as_text(filesystem, f"{root}/C42/balances/part-0000.csv", DATASETS["balances"].schema)
    pulsa = [Decimal(v) for v in balances["pulsa_balance"].to_pylist()]
    assert pulsa == tables["balances"]["pulsa_balance"].to_pylist()
    users = read_csv_as_text(filesystem, f"{root}/C42/app_users/part-0000.csv", DATASETS["app_users"].schema)
    assert users["sso_connections"].to_pylist() == tables["app_users"]["sso_connections"].to_pylist()
    subs = read_csv_as_text(filesystem, f"{root}/C42/subscribers/part-0000.csv", DATASETS["subscribers"].schema)
    assert subs["non_migratable_reason"].to_pylist() == tables["subscribers"]["non_migratable_reason"].to_pylist()
    assert subs["msisdn"][0].as_py() == "628110000000"
    assert subs["imsi"].to_pylist() == tables["subscribers"]["imsi"].to_pylist()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_landing_on_local_disk_reads_back(tmp_path, tables, fmt):
    fs = pafs.LocalFileSystem()
    paths = write_landing(tables, filesystem=fs, base_path=str(tmp_path / "landing"), cohort_id="C42", fmt=fmt)
    assert all((tmp_path / "landing" / "C42" / name / f"part-0000.{fmt}").is_file() for name in DATASETS)
    assert_landed(fs, paths, tables, fmt)
    if fmt == "csv":
        spot_check_csv(fs, str(tmp_path / "landing"), tables)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_landing_on_moto_s3_reads_back(moto_server, tables, fmt):
    bucket = f"gen-landing-{fmt}"
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=bucket)
    fs = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    paths = write_landing(tables, filesystem=fs, base_path=f"s3://{bucket}/raw", cohort_id="C42", fmt=fmt)
    assert all(p.startswith(f"s3://{bucket}/raw/C42/") for p in paths)
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert listed == sorted(f"raw/C42/{name}/part-0000.{fmt}" for name in DATASETS)  # no folder markers
    assert_landed(fs, paths, tables, fmt)
    if fmt == "csv":
        spot_check_csv(fs, f"{bucket}/raw", tables)


def test_a_faulted_load_lands_beside_the_clean_source(moto_server, tables):
    """The demo's shape: the source is landed clean, the load's copy carries the injected drift."""
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="gen-landing-faults")
    fs = s3_filesystem(endpoint_url=moto_server.endpoint_url, access_key="testing", secret_key="testing")
    drifted, keys = drift_amounts(tables["balances"], "pulsa_balance", Decimal("0.01"), 3, seed=1)
    write_landing(
        {"balances": tables["balances"]},
        filesystem=fs,
        base_path="s3://gen-landing-faults/source",
        cohort_id="C42",
        fmt="parquet",
    )
    write_landing(
        {"balances": drifted}, filesystem=fs, base_path="s3://gen-landing-faults/load", cohort_id="C42", fmt="parquet"
    )
    source = pq.read_table("gen-landing-faults/source/C42/balances/part-0000.parquet", filesystem=fs)
    load = pq.read_table("gen-landing-faults/load/C42/balances/part-0000.parquet", filesystem=fs)
    diff = [
        m
        for m, a, b in zip(
            source["msisdn"].to_pylist(), source["pulsa_balance"].to_pylist(), load["pulsa_balance"].to_pylist()
        )
        if b - a == Decimal("0.01")
    ]
    assert diff == keys and len(keys) == 3

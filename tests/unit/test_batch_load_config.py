"""Batch job config, record layouts and fault declarations: strict, located, one line per problem."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from recon_operators.batchload.layout import RecordError
from recon_operators.config.batch_jobs import BatchJobConfigError, load_batch_job, load_batch_jobs
from recon_operators.demo.faults import FaultError, merge_loss, parse_faults

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "include/config/batch_jobs"


def job_file(tmp_path: Path, template: str = "accounts_fixed_width.yaml", edit=None) -> Path:
    config = yaml.safe_load((JOBS / template).read_text())
    if edit:
        edit(config)
    path = tmp_path / template
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def problems(tmp_path: Path, edit, template: str = "accounts_fixed_width.yaml") -> list[str]:
    with pytest.raises(BatchJobConfigError) as caught:
        load_batch_job(job_file(tmp_path, template, edit))
    return [str(p) for p in caught.value.problems]


def test_shipped_jobs_load():
    jobs = {job.job: job for job in load_batch_jobs()}
    assert set(jobs) == {"accounts_fixed_width", "accounts_csv"}
    fixed = jobs["accounts_fixed_width"]
    assert fixed.dag_id == "recon_batch_load_accounts_fixed_width" and fixed.workers == 4
    assert fixed.amount_tolerance == Decimal("0.01") and fixed.tables.rejects == "stg_accounts_fw_rejects"
    assert Path(fixed.source_path).is_file()  # relative to the job file
    assert jobs["accounts_csv"].layout.hash_fields == ("account_id", "amount")  # key + amount by default


def test_every_problem_is_reported_at_once_with_file_line_job_and_field(tmp_path):
    def edit(config):
        config["amount_tolerence"] = config.pop("amount_tolerance")
        config["fields"][4].pop("scale")
        config["fields"][0]["name"] = "run_id"
        config["key"] = ["missing_field"]
        config["tables"]["final"] = "Bad-Name"

    found = problems(tmp_path, edit)
    assert len(found) == 6, found  # renaming account_id also orphans hash_fields: reported, located
    assert any("field amount_tolerence: unknown key (did you mean 'amount_tolerance'?)" in p for p in found)
    assert any(
        "job 'accounts_fixed_width', field fields[amount].scale: a decimal field needs a scale" in p for p in found
    )
    assert any("fields[run_id].name: run_id is a column the load adds itself" in p for p in found)
    assert any("field key: missing_field is not in fields" in p for p in found)
    assert any("field hash_fields: account_id is not in fields" in p for p in found)
    assert any("tables.final: 'Bad-Name' is not allowed" in p for p in found)
    assert all(p.startswith(str(tmp_path / "accounts_fixed_width.yaml") + " line ") for p in found)


@pytest.mark.parametrize(
    "edit,expected",
    [
        (lambda c: c["fields"][0].update(column="acct"), "fields[account_id].column: belongs to csv sources only"),
        (lambda c: c["source"].update(format="xml"), "source.format: must be one of fixed_width, csv"),
        (lambda c: c["source"].update(encoding="utf-16"), "source.encoding: 'utf-16' is not a known encoding"),
        (lambda c: c.update(amount_field="branch"), "amount_field: branch must be a decimal or integer field"),
        (lambda c: c.update(amount_tolerance=-1), "amount_tolerance: must be a finite number >= 0, got -1"),
        (lambda c: c.update(workers=0), "field workers: must be 1..64, got 0"),
        (lambda c: c["fields"][0].update(required=False), "key field account_id must be required"),
        (lambda c: c["source"].update(path="https://example.com/a.dat"), "use a local path or s3://bucket/key"),
    ],
)
def test_one_wrong_field_names_itself(tmp_path, edit, expected):
    found = problems(tmp_path, edit)
    assert len(found) == 1 and expected in found[0], found


def test_csv_fields_take_no_positions(tmp_path):
    found = problems(tmp_path, lambda c: c["fields"][1].update(start=3), "accounts_csv.yaml")
    assert found == [
        f"{tmp_path / 'accounts_csv.yaml'} line {found[0].split(' line ')[1].split(':')[0]}: "
        "job 'accounts_csv', field fields[branch].start: belongs to fixed_width sources only"
    ]


def test_duplicate_job_names_across_files(tmp_path):
    folder = tmp_path / "jobs"
    folder.mkdir()
    for name in ("a.yaml", "b.yaml"):
        (folder / name).write_text((JOBS / "accounts_csv.yaml").read_text())
    with pytest.raises(BatchJobConfigError, match="'accounts_csv' is already used by"):
        load_batch_jobs(folder)


def test_fixed_width_records_parse_and_reject_with_the_field_named():
    layout = load_batch_job(JOBS / "accounts_fixed_width.yaml").layout
    record = layout.parse(b"AC00000001JK0220201029A     -218.72")
    assert record == {
        "account_id": "AC00000001",
        "branch": "JK02",
        "open_date": date(2020, 10, 29),
        "status": "A",
        "amount": Decimal("-218.72"),
    }
    assert layout.parse(b"AC00000001JK0220201029A       -0.00")["amount"].as_tuple().sign == 0
    for line, reason in [
        (b"AC00000001JK0220201029A     -218.7", "record length 34, expected 35"),
        (b"AC00000001JK0220201329A     -218.72", "open_date is not a date in format %Y%m%d"),
        (b"AC00000001JK0220201029A    -218.725", "amount has more than 2 decimals"),
        (b"          JK0220201029A     -218.72", "account_id is empty"),
        (b"AC00000001JK0220201029A    -21x8.72", "amount is not a decimal number"),
        (b"AC0000\xff001JK0220201029A    -218.72", "not valid utf-8 text"),
    ]:
        with pytest.raises(RecordError, match=reason.replace("%", "%")):
            layout.parse(line)


def test_csv_header_must_hold_every_field():
    layout = load_batch_job(JOBS / "accounts_csv.yaml").layout
    with pytest.raises(RecordError, match="the header has no column amount"):
        layout.positions(["account_id", "branch", "open_date", "status"])
    positions = layout.positions(["amount", "status", "open_date", "branch", "account_id"])
    assert layout.parse(b"5.10,A,2021-02-03,JK01,AC1", positions)["amount"] == Decimal("5.10")
    with pytest.raises(RecordError, match="2 columns, expected at least 5"):
        layout.parse(b"5.10,A", positions)


def test_faults_from_params():
    faults = parse_faults('[{"kind": "drop_rows", "worker": "w02", "n": 2}, {"kind": "merge_loses_rows", "n": 3}]')
    assert faults[0].hits("w02") and not faults[0].hits("w01") and merge_loss(faults) == 3
    assert parse_faults("") == [] and parse_faults(None) == []
    for raw, message in [
        ([{"kind": "explode"}], "kind must be one of"),
        ([{"kind": "drop_rows"}], "needs the worker it hits"),
        ([{"kind": "drop_rows", "worker": "w01", "n": -1}], "n must be >= 0"),
        ([{"kind": "merge_loses_rows", "rows": 1}], "unknown field(s) rows"),
        ("not a list", "faults must be a list"),
    ]:
        with pytest.raises(FaultError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_faults(raw)

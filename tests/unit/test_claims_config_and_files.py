"""Claims config validation, file classification and header checks: pure, no services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from recon_operators.claims.config import load_claims_config, load_claims_configs
from recon_operators.claims.files import InvalidFile, check_headers, classify, parse_header
from recon_operators.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "include" / "config" / "claims" / "daily_claims.yaml"


def write(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(BUNDLED.read_text())
    change(data)
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bundled_config_loads():
    config = load_claims_config(BUNDLED)
    assert (config.dag_id, config.new_marker, config.key_columns) == (
        "recon_claims",
        "NEWSYSTEM",
        ("DESYNPUF_ID", "CLM_ID"),
    )
    from datetime import date

    assert config.prefixes_for(date(2026, 2, 3)).inbound == "claims/inbound/2026-02-03/"
    assert [c.dag_id for c in load_claims_configs(BUNDLED.parent)] == ["recon_claims"]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d["compare"].update(key_colums=["X"]),
            "field compare.key_colums: unknown key (did you mean 'key_columns'?)",
        ),
        (
            lambda d: d["compare"].update(key_columns=[]),
            "field compare.key_columns: must hold at least 1 item(s), got []",
        ),
        (
            lambda d: d["compare"].update(key_columns=["bad name"]),
            "field compare.key_columns[0]: 'bad name' is not a valid",
        ),
        (lambda d: d["compare"].update(columns=["A", "A"]), "field compare.columns: names a column twice"),
        (lambda d: d["compare"].update(sample_limit=-1), "field compare.sample_limit: must be >= 0, got -1"),
        (lambda d: d["compare"].update(rules={"CLM_PMT_AMT": "decimel"}), "field compare: rule item 'decimel'"),
        (lambda d: d["compare"].update(tolerances={"CLM_PMT_AMT": "abc"}), "field compare: tolerance 'abc'"),
        (lambda d: d["s3"].update(inbound_prefix="claims/{date}/"), "field s3.inbound_prefix: must be an S3 prefix"),
        (
            lambda d: d["s3"].update(bucket="Bad_Bucket"),
            "field s3.bucket: 'Bad_Bucket' is not allowed: an S3 bucket name",
        ),
        (lambda d: d["s3"].pop("processed_prefix"), "field s3.processed_prefix: required field is missing"),
        (lambda d: d.update(schedule="every day"), "field schedule: 'every day' must be a 5-field cron"),
        (lambda d: d.update(start_date="31/01/2026"), "field start_date: must be a date"),
        (lambda d: d["files"].update(new_marker="NEW SYSTEM"), "field files.new_marker"),
        (lambda d: d["landing"].update(wait_hours=0), "field landing.wait_hours: must be > 0"),
        (lambda d: d.pop("connections"), "field connections: required field is missing"),
    ],
)
def test_bad_config_is_one_error_naming_file_and_field(tmp_path, change, message):
    with pytest.raises(ConfigError) as caught:
        load_claims_config(write(tmp_path, change))
    assert str(caught.value).startswith(f"{tmp_path / 'claims.yaml'} line ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "keys, status, old, new",
    [
        ([], "NO_FILES", None, None),
        (["d/"], "NO_FILES", None, None),
        (["d/a.csv"], "INVALID_FILE_COUNT", None, None),
        (["d/a.csv", "d/b_NEWSYSTEM.csv", "d/c.csv"], "INVALID_FILE_COUNT", None, None),
        (["d/a.csv", "d/b.csv"], "INVALID_FILE", None, None),
        (["NEWSYSTEM/a.csv", "NEWSYSTEM/b.csv"], "INVALID_FILE", None, None),  # the folder is not the name
        (["d/", "d/x_NEWSYSTEM.csv", "d/x.csv"], "SUCCESS", "d/x.csv", "d/x_NEWSYSTEM.csv"),
    ],
)
def test_classify(keys, status, old, new):
    selection = classify(keys, "NEWSYSTEM")
    assert selection.status == status
    assert (selection.pair.old, selection.pair.new) == (old, new) if selection.pair else old is None


@pytest.mark.parametrize(
    "head, columns, bom, crlf",
    [
        (b"a,b\n1,2\n", ("a", "b"), False, False),
        (b"\xef\xbb\xbfa,b\r\n1,2\r\n", ("a", "b"), True, True),
        (b'"a"," b ",c\n', ("a", "b", "c"), False, False),
        (b"a,b", ("a", "b"), False, False),
    ],
)
def test_parse_header(head, columns, bom, crlf):
    header = parse_header(head, True, "OLD file x.csv")
    assert (header.columns, header.has_bom, header.crlf) == (columns, bom, crlf)


@pytest.mark.parametrize(
    "head, complete, message",
    [
        (b"", True, "OLD file x.csv is empty"),
        (b"\xef\xbb\xbf \n", True, "is empty"),
        (b"a,,b\n", True, "header column 2 has no name"),
        (b"a,A\n", True, "header names column 'A' twice"),
        (b"a,b-c\n", True, "header column 2: 'b-c' is not a valid identifier"),
        (b"a,b,c", False, "header line longer than 5 bytes"),
        (b"a,\xff\xfeb\n", True, "is not UTF-8 text"),
    ],
)
def test_parse_header_rejects(head, complete, message):
    with pytest.raises(InvalidFile, match=message):
        parse_header(head, complete, "OLD file x.csv")


def test_headers_may_differ_in_order_but_not_in_columns():
    one, other = parse_header(b"k,a,b\n", True, "o"), parse_header(b"b,k,a\n", True, "n")
    check_headers(one, other, ["k"], None)
    extra = parse_header(b"k,a,b,c\n", True, "n")
    check_headers(one, extra, ["k"], ["a", "b"])  # listed columns present: extra ones are ignored
    with pytest.raises(InvalidFile, match=r"only in NEW: c"):
        check_headers(one, extra, ["k"], None)


def test_claims_logic_does_not_import_airflow():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'plugins')!r}); import recon_operators.claims.pipeline; "
        "import recon_operators.claims.config; "
        "leaked = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')); "
        "print(leaked[:3]); sys.exit(1 if leaked else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

"""What the adapters guarantee against hostile or broken input (#12's engine items): one statement
per filter, read-only reads, file sides locked to their own files, no secret in a label, private
spill folders removed on SIGTERM, and one-line errors that never echo a value."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from recon_operators.demo.services import pg_dsn
from tests.integration.rowdiff_data import (
    mariadb_connect,
    mariadb_url,
    pg_url,
    rows,
    table,
    write_mariadb,
    write_postgres,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def recon(*args: str, cwd: Path = ROOT, **popen) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "recon_operators.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, **popen
    )


def one_line_error(done: subprocess.CompletedProcess, fragment: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert fragment in done.stderr, done.stderr


def test_stacked_statements_never_reach_mariadb(databases, tmp_path):
    data = rows(5)
    victim, subs = table(), table()
    write_mariadb(databases["stage"], victim, data)
    write_mariadb(databases["stage"], subs, data)
    hostile = f"id>0) ; DROP TABLE {victim}; SELECT 1 FROM {subs} WHERE (1=1"
    url = mariadb_url(databases["stage"], subs) + "&filter=" + __import__("urllib.parse").parse.quote(hostile)
    one_line_error(recon("diff", url, url, "--key", "msisdn"), "filter must be one SQL expression")
    suite = tmp_path / "suite.yaml"
    side = {"connection": mariadb_url(databases["stage"], "x").split("?")[0], "table": subs, "filter": hostile}
    suite.write_text(
        json.dumps({"suite": "s", "source": side, "target": side, "checks": [{"name": "rows", "kind": "row_count"}]})
    )
    checked = recon("check", str(suite), "--json")
    assert checked.returncode == 2 and "filter must be one SQL expression" in checked.stdout
    conn = mariadb_connect(databases["stage"])
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT count(*) FROM {victim}")
        assert cur.fetchone()[0] == 5  # the victim table is intact
    finally:
        conn.close()


def test_a_quoted_semicolon_is_data_not_a_statement(databases):
    name = table()
    write_postgres(databases["transform"], name, rows(4))
    url = (
        pg_url(databases["transform"], name)
        + "&filter="
        + __import__("urllib.parse").parse.quote("status <> 'a;b' -- trailing; comment")
    )
    done = recon("diff", url, url, "--key", "msisdn", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source_rows"] == 4


def test_reads_run_in_read_only_transactions(databases):
    """A filter that would write (nextval advances a sequence) is refused by the server."""
    name, sequence = table(), f"seq_{table()}"
    write_postgres(databases["transform"], name, rows(3))
    conn = psycopg2.connect(pg_dsn(databases["transform"]))
    with conn, conn.cursor() as cur:
        cur.execute(f"CREATE SEQUENCE {sequence}")
    url = pg_url(databases["transform"], name) + f"&filter=nextval('{sequence}')%20%3E%200"
    done = recon("diff", url, url, "--key", "msisdn")
    one_line_error(done, "read-only transaction")
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT last_value, is_called FROM {sequence}")
        assert cur.fetchone() == (1, False)  # never advanced
    conn.close()


def test_a_file_filter_cannot_read_other_files(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("msisdn,pin\n6281200000001,1234\n")
    data = tmp_path / "data.csv"
    data.write_text("msisdn,status\n6281200000001,ACTIVE\n")
    hostile = f"msisdn IN (SELECT msisdn FROM read_csv('{secret}'))"
    done = recon(
        "diff",
        f"{data}?filter={__import__('urllib.parse').parse.quote(hostile)}",
        str(data),
        "--key",
        "msisdn",
        "--json",
    )
    one_line_error(done, "Permission Error")
    written = tmp_path / "written.csv"
    copy = f"msisdn IN (SELECT 1 FROM (COPY (SELECT 1) TO '{written}'))"
    recon("diff", f"{data}?filter={__import__('urllib.parse').parse.quote(copy)}", str(data), "--key", "msisdn")
    assert not written.exists()


def test_s3_keys_in_a_url_are_never_echoed(moto_server):
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="keys")
    s3.put_object(Bucket="keys", Key="a.csv", Body=b"msisdn,status\n6281200000001,ACTIVE\n")
    host = moto_server.endpoint_url
    env_url = "s3://testing:SUPERSECRETKEY@keys/a.csv"
    done = subprocess.run(
        [sys.executable, "-m", "recon_operators.cli", "diff", env_url, env_url, "--key", "msisdn", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AWS_ENDPOINT_URL": host},
    )
    assert "SUPERSECRETKEY" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"]["connection"] == "aws://***"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--work-dir", "/no/such/folder"), "work dir /no/such/folder does not exist"),
        (("--work-dir", "/tmp/it's"), "work dir must not hold quotes"),
        (("--memory-limit", "1..5GB"), "memory limit '1..5GB'"),
        (("--output", "out.txt"), "name a .csv or .parquet file"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, args, fragment):
    data = tmp_path / "d.csv"
    data.write_text("msisdn,status\n1,A\n")
    one_line_error(recon("diff", str(data), str(data), "--key", "msisdn", *args), fragment)


def test_zero_columns_needs_keys_only(tmp_path):
    left, right = tmp_path / "l.csv", tmp_path / "r.csv"
    left.write_text("msisdn,a\n1,x\n2,y\n")
    right.write_text("msisdn,b\n1,x\n3,z\n")
    one_line_error(recon("diff", str(left), str(right), "--key", "msisdn"), "--keys-only")
    done = recon("diff", str(left), str(right), "--key", "msisdn", "--keys-only", "--json")
    report = json.loads(done.stdout)
    assert (report["missing_in_target"], report["extra_in_target"], report["columns"]) == (1, 1, [])


def test_ragged_row_past_the_sniffed_lines_is_one_line_without_the_row(tmp_path):
    path = tmp_path / "ragged.csv"
    lines = ["msisdn,status"] + [f"62812{i:08d},ACTIVE" for i in range(3000)] + ["6281299999999,X,EXTRA"]
    path.write_text("\n".join(lines) + "\n")
    done = recon("diff", str(path), str(path), "--key", "msisdn")
    one_line_error(done, "ragged.csv")
    assert "6281299999999" not in done.stderr


def test_a_rule_that_cannot_cast_names_the_side_without_the_value(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,v\n1,a\n007x,b\n")
    done = recon("diff", str(path), str(path), "--key", "id", "--rule", "id=integer")
    one_line_error(done, "Could not convert string to")
    assert "007x" not in done.stderr


def test_non_utf8_varbinary_compares_as_bytes(databases):
    name = table()
    conn = mariadb_connect(databases["stage"])
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {name} (id INT, payload VARBINARY(8))")
        cur.execute(f"INSERT INTO {name} VALUES (1, X'FF00FE'), (2, 'abc')")
        conn.commit()
    finally:
        conn.close()
    url = mariadb_url(databases["stage"], name)
    done = recon("diff", url, url, "--key", "id", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["forms"]["payload"]["compared_as"] == "binary"


def test_mariadb_streaming_error_shows_the_server_message(databases):
    name = table()
    write_mariadb(databases["stage"], name, rows(3))
    url = mariadb_url(databases["stage"], name) + "&filter=no_such_column%20%3D%201"
    done = recon("diff", url, url, "--key", "msisdn")
    one_line_error(done, "Unknown column 'no_such_column'")


def test_spill_folder_is_private_and_removed_on_sigterm(databases, tmp_path):
    name = table()
    write_postgres(databases["transform"], name, rows(30))
    url = pg_url(databases["transform"], name) + "&filter=pg_sleep(0.2)%20IS%20NOT%20NULL"
    env = dict(os.environ)
    process = subprocess.Popen(
        [sys.executable, "-m", "recon_operators.cli", "diff", url, url, "--key", "msisdn", "--work-dir", str(tmp_path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        folders: list[Path] = []
        while not folders and time.monotonic() < deadline:
            folders = list(tmp_path.glob("recon-diff-*"))
            time.sleep(0.05)
        assert folders, "the diff never created its spill folder"
        assert folders[0].stat().st_mode & 0o777 == 0o700
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    assert list(tmp_path.glob("recon-diff-*")) == []


def _on_terminal(*args: str) -> tuple[int, bytes]:
    """Run ``recon`` with stderr on a pseudo-terminal; its exit code and what the terminal showed."""
    import pty

    primary, secondary = pty.openpty()
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-m", "recon_operators.cli", *args],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
        cwd=ROOT,
    )
    os.close(secondary)
    shown = b""
    try:
        while chunk := os.read(primary, 4096):
            shown += chunk
    except OSError:
        pass
    os.close(primary)
    return done.returncode, shown


def test_progress_shows_on_a_terminal_only(tmp_path):
    left = tmp_path / "l.csv"
    left.write_text("msisdn,a\n1,x\n")
    plain = recon("diff", str(left), str(left), "--key", "msisdn")
    assert plain.stderr == ""
    code, shown = _on_terminal("diff", str(left), str(left), "--key", "msisdn")
    assert code == 0 and b"source staged" in shown and b"comparing" in shown
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        json.dumps(
            {
                "suite": "s",
                "source": {"path": str(left)},
                "target": {"path": str(left)},
                "checks": [{"name": "rows", "kind": "row_count"}],
            }
        )
    )
    assert recon("check", str(suite)).stderr == ""
    code, shown = _on_terminal("check", str(suite))
    assert code == 0 and b"source aggregating 1 measure(s)" in shown

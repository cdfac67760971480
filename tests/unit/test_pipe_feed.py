"""The row diff's SQL sides stream through a named pipe into DuckDB: neither end may hang when the
other fails, and the error reported is the one that came first."""

from __future__ import annotations

import duckdb
import pytest

from recon_operators.engine.adapters.pipe import feeding

pytestmark = pytest.mark.timeout(30)  # a hang is the failure these tests exist for


def _read(duck, pipe):
    return duck.execute(
        f"SELECT count(*) FROM read_csv('{pipe}', header=false, auto_detect=false, "
        "columns={'a': 'VARCHAR', 'b': 'VARCHAR'})"
    ).fetchone()[0]


def _writer(pipe, lines: int, fail_after: int | None = None, open_first: bool = True):
    def write() -> None:
        if not open_first:
            raise RuntimeError("connection refused")
        with open(pipe, "w") as out:
            for i in range(lines):
                if fail_after is not None and i == fail_after:
                    raise RuntimeError("server closed the connection")
                out.write(f"{i},x{i}\n")

    return write


def test_rows_arrive_whole(tmp_path):
    pipe = tmp_path / "side.pipe"
    with feeding(pipe, _writer(pipe, 200_000)) as fed:
        assert _read(duckdb.connect(), pipe) == 200_000
    assert fed.error is None and not pipe.exists()


def test_a_writer_failing_before_it_opens_the_pipe_does_not_leave_the_reader_waiting(tmp_path):
    pipe = tmp_path / "side.pipe"
    with feeding(pipe, _writer(pipe, 10, open_first=False)) as fed:
        assert _read(duckdb.connect(), pipe) == 0
    assert str(fed.error) == "connection refused" and fed.writer_failed_first


def test_a_writer_failing_midway_is_the_cause(tmp_path):
    pipe = tmp_path / "side.pipe"
    with feeding(pipe, _writer(pipe, 500_000, fail_after=100_000)) as fed:
        _read(duckdb.connect(), pipe)  # truncated input: what it parsed does not matter
    assert str(fed.error) == "server closed the connection" and fed.writer_failed_first


def test_a_reader_that_fails_does_not_leave_the_writer_blocked(tmp_path):
    pipe = tmp_path / "side.pipe"
    with pytest.raises(duckdb.Error):
        with feeding(pipe, _writer(pipe, 2_000_000)) as fed:
            duckdb.connect().execute(
                f"SELECT sum(b) FROM read_csv('{pipe}', header=false, auto_detect=false, "
                "columns={'a': 'INTEGER', 'b': 'INTEGER'})"
            ).fetchone()  # 'x0' is no integer
    assert not fed.writer_failed_first  # its broken pipe, if any, is a consequence


def test_a_reader_that_never_opens_the_pipe_does_not_leave_the_writer_blocked(tmp_path):
    pipe = tmp_path / "side.pipe"
    with pytest.raises(ValueError):
        with feeding(pipe, _writer(pipe, 2_000_000)):
            raise ValueError("the statement failed before reading")

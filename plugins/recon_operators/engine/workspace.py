"""The row diff's DuckDB and its private spill folder.

The folder holds raw rows (spill files, DuckDB's temp files): it is created 0700 and removed on
success, on error and on SIGTERM/SIGINT. The DuckDB connection gets the canonical-form functions,
a memory limit, and, once the sides are registered, no file access beyond the spill folder and the
sides' own files (a filter cannot read or write anything else).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from recon_operators.engine.canonical import register_duckdb

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")
_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}


class WorkspaceError(ValueError):
    """--work-dir or --memory-limit is not usable."""


def size_bytes(limit: str) -> int:
    match = _SIZE.fullmatch(str(limit))
    if not match or match.group(2).upper() not in _UNITS:
        raise WorkspaceError(f"memory limit {limit!r} is not a size such as 512MB or 2GB")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def check_work_dir(work_dir: str | None) -> None:
    if work_dir is None:
        return
    if any(c in work_dir for c in "'\"\\\n\r\x00"):
        raise WorkspaceError("work dir must not hold quotes, backslashes or line breaks")
    if not os.path.isdir(work_dir):
        raise WorkspaceError(f"work dir {work_dir} does not exist or is not a folder")


@contextmanager
def _removed_on_signals(root: Path) -> Iterator[None]:
    """SIGTERM/SIGINT remove the folder first, then act as they would have."""
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        shutil.rmtree(root, ignore_errors=True)
        old = previous.get(signum)
        if callable(old):
            old(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: the caller's own handling applies
        previous.clear()
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def diff_workspace(work_dir: str | None, memory_limit: str) -> Iterator[tuple[Any, Path]]:
    """A throw-away DuckDB with bounded memory and a private spill folder (both removed after)."""
    import duckdb

    check_work_dir(work_dir)
    size_bytes(memory_limit)
    root = Path(tempfile.mkdtemp(prefix="recon-diff-", dir=work_dir))  # mode 0700
    try:
        with _removed_on_signals(root):
            duck = duckdb.connect()
            try:
                duck.execute(f"SET memory_limit = '{size_bytes(memory_limit)}B'")
                duck.execute(f"SET temp_directory = '{root / 'spill'}'")
                duck.execute("SET preserve_insertion_order = false")
                duck.execute("SET enable_progress_bar = false")  # stderr is for one-line errors only
                duck.execute("SET TimeZone = 'UTC'")  # text without an offset is UTC, as on the SQL sides
                register_duckdb(duck)
                yield duck, root
            finally:
                duck.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def lock_down(duck: Any, directories: Iterable[str], paths: Iterable[str] = ()) -> None:
    """From here on DuckDB reads and writes only these folders and files; settings are frozen."""
    folders = sorted({str(Path(d).resolve()).rstrip("/") + "/" for d in directories})
    files = sorted({str(Path(p).resolve()) for p in paths})
    duck.execute("SET allowed_directories = $dirs", {"dirs": folders})
    if files:
        duck.execute("SET allowed_paths = $paths", {"paths": files})
    duck.execute("SET enable_external_access = false")
    duck.execute("SET lock_configuration = true")

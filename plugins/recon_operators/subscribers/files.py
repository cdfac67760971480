"""The input files of migration and bulk-delete jobs: claim, validate every row, split in chunks.

A landed CSV is moved from the incoming prefix into its job's folder (so the next run does not
take it again, and the job's files sit together). Planning then reads it once, streamed:

* a header that misses a required column or holds an unknown one fails the file, in one line
  (a misspelt ``plan_id`` silently ignored would load wrong data);
* each row is checked (``model.validate``; a bulk delete needs only a valid ``uid``); a uid seen
  before in the file is rejected, naming the line that had it first;
* rejected rows go to ``<name>.rejects.csv`` next to the input, with their line and reasons;
* valid rows go to chunk files of ``chunk_size`` rows (``chunks/c0001.csv``...), one per mapped
  load task; XCom carries only their keys and counts, never subscriber data.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from recon_operators.claims.artifacts import to_csv
from recon_operators.claims.storage import move_all, open_stream, put_text
from recon_operators.subscribers.model import ATTRIBUTES, FIELDS, UID, Record, validate

LINE = "line"
REASONS = "reasons"
DELETE_COLUMNS = ("uid",)


class InputFileError(ValueError):
    """The file as a whole cannot be read (encoding, header); the message is one line."""


@dataclass(frozen=True)
class Chunk:
    chunk: str
    key: str
    rows: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """What planning found: rows read, rejected (with the rejects file), and the chunks."""

    rows: int
    rejected: int
    rejects_key: str | None
    chunks: list[Chunk]

    @property
    def valid(self) -> int:
        return self.rows - self.rejected


def claim(s3: Any, bucket: str, key: str, job_prefix: str) -> str:
    """Move a landed file into its job's folder; returns its new key."""
    (moved,) = move_all(s3, bucket, [key], job_prefix)
    return moved


def rejects_key(input_key: str) -> str:
    stem, _ = posixpath.splitext(input_key)
    return f"{stem}.rejects.csv"


def _rows(
    s3: Any, bucket: str, key: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str] | None, str | None]]:
    """(line, row, problem) per data line; ``row`` None when the line itself is malformed."""
    text = io.TextIOWrapper(open_stream(s3, bucket, key), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader, [])]
        unknown = [h for h in header if h not in columns]
        missing = [c for c in required if c not in header]
        if not header or unknown or missing or len(set(header)) != len(header):
            raise InputFileError(
                f"s3://{bucket}/{key}: header must name columns of {', '.join(columns)} "
                f"(required: {', '.join(required)})"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        for values in reader:
            line = reader.line_num
            if not values or values == [""]:
                continue
            if len(values) != len(header):
                yield line, None, f"{len(values)} fields where the header has {len(header)}"
            else:
                yield line, dict(zip(header, values)), None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"s3://{bucket}/{key}: not UTF-8 text (byte {exc.start} of a read block)") from None
    except csv.Error as exc:
        raise InputFileError(f"s3://{bucket}/{key} line {reader.line_num}: malformed CSV: {exc}") from None


def _delete_row(row: Mapping[str, str]) -> tuple[Record | None, list[str]]:
    uid = (row.get("uid") or "").strip()
    if not uid:
        return None, ["uid: required"]
    if not UID.match(uid):
        return None, ["uid: must be 1-64 letters, digits, _ . : - (starting with a letter or digit)"]
    return {"uid": uid}, []


def plan_file(s3: Any, bucket: str, key: str, job_prefix: str, *, chunk_size: int, kind: str) -> Plan:
    """Validate ``s3://bucket/key`` (a migration or bulk_delete file), write rejects and chunks."""
    columns = ATTRIBUTES if kind == "migration" else DELETE_COLUMNS
    required = tuple(f.attribute for f in FIELDS if f.required) if kind == "migration" else DELETE_COLUMNS
    check = validate if kind == "migration" else _delete_row
    rejects: list[list[Any]] = []
    seen: dict[str, int] = {}
    chunks: list[Chunk] = []
    batch: list[dict[str, Any]] = []
    rows = 0

    def flush() -> None:
        if batch:
            name = f"c{len(chunks) + 1:04d}"
            chunk_key = f"{job_prefix}chunks/{name}.csv"
            put_text(
                s3, bucket, chunk_key, to_csv((LINE, *columns), ([r[LINE], *(r[c] for c in columns)] for r in batch))
            )
            chunks.append(Chunk(name, chunk_key, len(batch)))
            batch.clear()

    for line, row, problem in _rows(s3, bucket, key, columns, required):
        rows += 1
        record, reasons = (None, [problem]) if row is None else check(row)
        if record is not None and record["uid"] in seen:
            record, reasons = None, [f"uid: repeats line {seen[record['uid']]}"]
        if record is None:
            raw = row or {}
            rejects.append([line, *(raw.get(c, "") for c in columns), "; ".join(r for r in reasons if r)])
            continue
        seen[record["uid"]] = line
        batch.append({LINE: line, **record})
        if len(batch) >= chunk_size:
            flush()
    flush()
    written = write_rejects(s3, bucket, rejects_key(key), columns, rejects) if rejects else None
    return Plan(rows=rows, rejected=len(rejects), rejects_key=written, chunks=chunks)


def write_rejects(s3: Any, bucket: str, key: str, columns: tuple[str, ...], rows: Iterable[list[Any]]) -> str:
    """A rejects file (``rejects_key`` of the input): line, the row as it came, why; by line."""
    put_text(s3, bucket, key, to_csv((LINE, *columns, REASONS), sorted(rows, key=lambda r: int(r[0]))))
    return key


def read_chunk(s3: Any, bucket: str, key: str) -> list[tuple[int, Record]]:
    """A chunk file's rows: (line in the input, canonical record; '' read back as None)."""
    text = io.TextIOWrapper(open_stream(s3, bucket, key), encoding="utf-8", newline="")
    return [(int(row.pop(LINE)), {k: (v if v != "" else None) for k, v in row.items()}) for row in csv.DictReader(text)]


def read_rejects(s3: Any, bucket: str, key: str) -> list[dict[str, str]]:
    text = io.TextIOWrapper(open_stream(s3, bucket, key), encoding="utf-8", newline="")
    return list(csv.DictReader(text))

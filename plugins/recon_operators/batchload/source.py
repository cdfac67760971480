"""Read a batch source file (local or S3) once to count it, split it and take its control totals.

One streaming pass over the file yields everything the load and the reconciliation need from
the source side, independently of the workers (like a mainframe trailer record):

* the record count (non-blank lines, header excluded);
* chunk boundaries: byte ranges of about equal size, each starting at a line start, with the
  record count and first line number of each, so a worker reads only its own range;
* control totals over the valid records: the amount total (exact Decimal) and the
  order-independent fingerprint of the hash fields (the engine's ``hash`` measure).

Files are opened through a pyarrow filesystem (local, or S3 from the Airflow connection), so
workers on other machines read byte ranges of the same object. Encodings must keep ``\\n`` as
byte 0x0A (ASCII, UTF-8, Latin-1...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import pyarrow.fs as pafs

from recon_operators.batchload.layout import Layout, RecordError
from recon_operators.engine.fingerprint import fingerprint, row_hash

BLOCK_SIZE = 1 << 20


class BatchSourceError(RuntimeError):
    """The source file cannot be read (missing, unreadable, header without the fields)."""


@dataclass(frozen=True)
class Chunk:
    """One worker's share of the file: bytes ``[start, end)``, beginning on line ``first_line``."""

    worker_id: str
    start: int
    end: int
    first_line: int
    records: int
    header: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "header": list(self.header)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(**{**data, "header": tuple(data.get("header") or ())})


@dataclass
class SourceProfile:
    """What the source holds: counts and control totals, all taken before any worker runs."""

    path: str
    size: int
    records: int = 0
    valid: int = 0
    rejected: int = 0
    amount: Decimal = Decimal(0)
    hash_rows: int = 0
    hash_total: int = 0

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.hash_rows, self.hash_total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "records": self.records,
            "valid": self.valid,
            "rejected": self.rejected,
            "amount": str(self.amount),
            "hash": self.fingerprint,
        }


def resolve(path: str, filesystem: pafs.FileSystem | None) -> tuple[pafs.FileSystem, str]:
    """The filesystem and in-filesystem path of a local path or an ``s3://bucket/key`` URL."""
    if path.startswith("s3://"):
        if filesystem is None:
            raise BatchSourceError(f"source {path}: an S3 path needs an AWS connection")
        return filesystem, path[len("s3://") :]
    return pafs.LocalFileSystem(), path


def file_size(filesystem: pafs.FileSystem, path: str, label: str) -> int:
    info = filesystem.get_file_info(path)
    if info.type != pafs.FileType.File:
        raise BatchSourceError(f"source {label}: file not found")
    return int(info.size)


def split_lines(data: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line without its line break) for every line of ``data``, blank ones too."""
    position = 0
    while position < len(data):
        newline = data.find(b"\n", position)
        stop = len(data) if newline < 0 else newline
        yield offset + position, data[position:stop].rstrip(b"\r")
        position = stop + 1


def stream_lines(stream: Any) -> Iterator[tuple[int, bytes]]:
    """Every line of a stream with its offset, reading fixed-size blocks (constant memory)."""
    offset, pending = 0, b""
    while True:
        block = stream.read(BLOCK_SIZE)
        if not block:
            break
        data = pending + block
        cut = data.rfind(b"\n") + 1
        yield from split_lines(data[:cut], offset)
        offset += cut
        pending = data[cut:]
    if pending:
        yield from split_lines(pending, offset)


class _Splitter:
    """Assigns lines to ``count`` byte ranges of about equal size, each starting on a line."""

    def __init__(self, size: int, count: int, header: tuple[str, ...]):
        self.targets = [size * i // count for i in range(count)]
        self.header = header
        self.starts: list[tuple[int, int]] = []  # (byte offset, line number) per chunk
        self.records: list[int] = []
        self.next = 0  # the first target no chunk starts at or after yet

    def add(self, offset: int, line_no: int, is_record: bool) -> None:
        if not is_record:
            return
        if not self.starts or (self.next < len(self.targets) and offset >= self.targets[self.next]):
            self.starts.append((offset, line_no))
            self.records.append(0)
            while self.next < len(self.targets) and offset >= self.targets[self.next]:
                self.next += 1  # one long line may pass several targets: still one chunk
        self.records[-1] += 1

    def chunks(self, size: int, first_line: int) -> list[Chunk]:
        if not self.starts:  # an empty file still gets one (empty) worker, so 0 = 0 is reconciled
            return [Chunk("w01", size, size, first_line, 0, self.header)]
        ends = [start for start, _ in self.starts[1:]] + [size]
        return [
            Chunk(f"w{i + 1:02d}", start, end, line_no, records, self.header)
            for i, ((start, line_no), end, records) in enumerate(zip(self.starts, ends, self.records))
        ]


def profile(
    layout: Layout, path: str, *, chunks: int, filesystem: pafs.FileSystem | None = None, label: str | None = None
) -> tuple[SourceProfile, list[Chunk]]:
    """One pass over the file: record count, control totals and ``chunks`` byte ranges."""
    label = label or path
    fs, inner = resolve(path, filesystem)
    try:
        size = file_size(fs, inner, label)
        result = SourceProfile(path=label, size=size)
        with fs.open_input_stream(inner) as stream:
            lines = stream_lines(stream)
            header, positions, first_line = _read_header(layout, lines, label)
            splitter = _Splitter(size, max(1, chunks), header)
            line_no = first_line - 1
            for offset, line in lines:
                line_no += 1
                splitter.add(offset, line_no, bool(line.strip()))
                if line.strip():
                    _take(result, layout, line, positions)
    except OSError as exc:
        raise BatchSourceError(f"source {label}: cannot read: {exc}") from None
    return result, splitter.chunks(size, first_line)


def _read_header(
    layout: Layout, lines: Iterator[tuple[int, bytes]], label: str
) -> tuple[tuple[str, ...], tuple[int, ...], int]:
    """The CSV header (and the column positions it gives), and the number of the first data line."""
    if not layout.header:
        return (), layout.positions(None), 1
    first = next(lines, None)
    header = tuple(layout.split_header(first[1])) if first else ()
    try:
        return header, layout.positions(header), 2
    except RecordError as exc:
        raise BatchSourceError(f"source {label}: {exc}") from None


def _take(result: SourceProfile, layout: Layout, line: bytes, positions: tuple[int, ...]) -> None:
    result.records += 1
    try:
        record = layout.parse(line, positions)
    except RecordError:
        result.rejected += 1
        return
    result.valid += 1
    if layout.amount_field and record[layout.amount_field] is not None:
        result.amount += record[layout.amount_field]
    if layout.hash_fields:
        result.hash_rows += 1
        result.hash_total += row_hash(layout.canonical(record, layout.hash_fields))


def read_chunk(
    layout: Layout, path: str, chunk: Chunk, *, filesystem: pafs.FileSystem | None = None, label: str | None = None
) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every record line in the chunk's byte range (blank lines skipped)."""
    fs, inner = resolve(path, filesystem)
    try:
        with fs.open_input_file(inner) as handle:
            data = handle.read_at(chunk.end - chunk.start, chunk.start) if chunk.end > chunk.start else b""
    except OSError as exc:
        raise BatchSourceError(f"source {label or path}: cannot read bytes {chunk.start}-{chunk.end}: {exc}") from None
    for index, (_, line) in enumerate(split_lines(data, chunk.start)):
        if line.strip():
            yield chunk.first_line + index, line

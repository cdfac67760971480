"""Which files a day delivered, which is OLD and which is NEW, and whether their headers agree.

Pure functions over key names and the first bytes of each file, so every file-level status is
decided the same way in the DAG, the tests and any other caller.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from recon_operators.engine.identifiers import IdentifierError, validate_identifier

SUCCESS = "SUCCESS"
FAILED = "FAILED"
NO_FILES = "NO_FILES"
INVALID_FILE_COUNT = "INVALID_FILE_COUNT"
INVALID_FILE = "INVALID_FILE"
STATUSES = (SUCCESS, FAILED, NO_FILES, INVALID_FILE_COUNT, INVALID_FILE)

BOM = b"\xef\xbb\xbf"


class InvalidFile(ValueError):
    """A delivered file cannot be reconciled (empty, bad header, malformed CSV); status INVALID_FILE."""


@dataclass(frozen=True)
class FilePair:
    """The day's two extracts, by S3 key."""

    old: str
    new: str


@dataclass(frozen=True)
class Selection:
    """What the listing decided: a pair to reconcile, or a status and the reason."""

    status: str
    message: str
    keys: tuple[str, ...] = ()
    pair: FilePair | None = None


def data_files(keys: Iterable[str]) -> list[str]:
    """Keys that are files (folder markers ending in '/' are not), sorted for a stable message."""
    return sorted(k for k in keys if not k.endswith("/"))


def classify(keys: Sequence[str], marker: str) -> Selection:
    """0 files -> NO_FILES, not 2 -> INVALID_FILE_COUNT, names not told apart -> INVALID_FILE.

    The NEW file is the one whose name (not its folder) contains ``marker``; exactly one must.
    """
    files = data_files(keys)
    if not files:
        return Selection(NO_FILES, "no file delivered")
    if len(files) != 2:
        names = ", ".join(posixpath.basename(k) for k in files)
        return Selection(
            INVALID_FILE_COUNT, f"expected 2 files (OLD and NEW), found {len(files)}: {names}", tuple(files)
        )
    marked = [k for k in files if marker in posixpath.basename(k)]
    if len(marked) != 1:
        which = "both names contain" if marked else "neither name contains"
        return Selection(
            INVALID_FILE,
            f"cannot tell OLD from NEW: {which} {marker!r} ({', '.join(posixpath.basename(k) for k in files)})",
            tuple(files),
        )
    new = marked[0]
    old = next(k for k in files if k != new)
    return Selection(SUCCESS, "", tuple(files), FilePair(old=old, new=new))


@dataclass(frozen=True)
class CsvHeader:
    """A file's header as the loader needs it: column names, and the byte facts COPY must know."""

    columns: tuple[str, ...]
    has_bom: bool
    crlf: bool


def parse_header(head: bytes, complete: bool, label: str) -> CsvHeader:
    """The column names from the first bytes of a CSV file (``complete``: ``head`` is the whole file).

    Handles a UTF-8 BOM, CRLF or LF line ends and quoted names; an empty file, a header cut
    short, blank, duplicate or non-identifier names raise ``InvalidFile`` naming ``label``.
    """
    has_bom = head.startswith(BOM)
    body = head[len(BOM) :] if has_bom else head
    if not body.strip():
        raise InvalidFile(f"{label} is empty (no header line)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(body) - 3:  # a multi-byte character cut by the read is fine
            raise InvalidFile(f"{label} is not UTF-8 text (byte {exc.start})") from None
        text = body[: exc.start].decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        names = next(reader)
    except csv.Error as exc:
        raise InvalidFile(f"{label}: malformed header: {exc}") from None
    consumed = _header_length(text)
    if consumed is None and not complete:
        raise InvalidFile(f"{label}: header line longer than {len(head)} bytes")
    crlf = consumed is not None and text[consumed - 2 : consumed] == "\r\n"
    return CsvHeader(_valid_names(names, label), has_bom, crlf)


def _header_length(text: str) -> int | None:
    """Characters up to and including the first line end outside quotes (None: no line end)."""
    quoted = False
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "\n" and not quoted:
            return i + 1
    return None


def _valid_names(names: list[str], label: str) -> tuple[str, ...]:
    cleaned = [n.strip() for n in names]
    for position, name in enumerate(cleaned, start=1):
        if not name:
            raise InvalidFile(f"{label}: header column {position} has no name")
        try:
            validate_identifier(name)
        except IdentifierError as exc:
            raise InvalidFile(f"{label}: header column {position}: {exc}") from None
    seen: set[str] = set()
    for name in cleaned:
        if name.lower() in seen:
            raise InvalidFile(f"{label}: header names column {name!r} twice")
        seen.add(name.lower())
    return tuple(cleaned)


def check_headers(old: CsvHeader, new: CsvHeader, key_columns: Sequence[str], compared: Sequence[str] | None) -> None:
    """OLD and NEW must carry the key (and the listed compared columns); with ``compared`` None
    (all columns) they must carry the same columns, in any order. ``InvalidFile`` says which differ."""
    needed = [*key_columns, *(compared or ())]
    for side, header in (("OLD", old), ("NEW", new)):
        missing = [c for c in needed if c not in header.columns]
        if missing:
            raise InvalidFile(f"{side} file has no column {', '.join(missing)}")
    if compared is None and set(old.columns) != set(new.columns):
        only_old = [c for c in old.columns if c not in new.columns]
        only_new = [c for c in new.columns if c not in old.columns]
        parts = [
            f"only in OLD: {', '.join(only_old)}" if only_old else "",
            f"only in NEW: {', '.join(only_new)}" if only_new else "",
        ]
        raise InvalidFile("OLD and NEW headers differ (" + "; ".join(p for p in parts if p) + ")")

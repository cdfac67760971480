"""The order-independent fingerprint of a set of rows, computed the same way in every engine.

Each row's canonical texts (``canonical``) are joined by ``|`` (NULL as ``\\N``),
md5-hashed, and the first 15 hex digits read as a 60-bit integer; the fingerprint is the row
count and the sum of those integers (``"<rows>:<sum, hex>"``). SQL sides compute the same in the
database (``dialects.row_hash``); Python-side readers (Mongo, flat files) use this module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from recon_operators.engine.dialects import NULL_MARK


def row_hash(texts: Iterable[str | None]) -> int:
    """The SQL sides' row hash: first 15 hex digits of md5 over the canonical texts joined by '|'."""
    joined = "|".join(NULL_MARK if text is None else text for text in texts)
    return int(hashlib.md5(joined.encode("utf-8"), usedforsecurity=False).hexdigest()[:15], 16)


def fingerprint(rows: int, total: int) -> str:
    """Hex, so the fingerprint never reads like a phone number to people or to the PII masker."""
    return f"{int(rows)}:{int(total):x}"

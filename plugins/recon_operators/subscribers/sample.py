"""Synthetic subscribers for the demo, the benchmark and the tests: valid records, CSV text, and
rows broken on purpose (each kind of bad row fails exactly one known rule)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable, Mapping

from recon_operators.subscribers.model import ATTRIBUTES, STATUSES, Record

PLANS = ("BASIC", "PREMIUM", "FAMILY", "BUSINESS")
FIRST = ("Ayu", "Budi", "Citra", "Dewi", "Eko", "Fajar", "Gita", "Hadi", "Intan", "Joko")
LAST = ("Santoso", "Wijaya", "Pratama", "Saputra", "Lestari", "Hidayat", "Nugroho", "Kusuma")
# Bad rows: (what is broken, the field the rejects file names).
BREAKS = (
    ("msisdn", "msisdn"),
    ("imsi", "imsi"),
    ("status", "status"),
    ("email", "email"),
    ("dateOfBirth", "dateOfBirth"),
    ("uid", "uid"),
)


def subscriber(index: int, *, prefix: str = "sub", rng: random.Random | None = None) -> Record:
    """Subscriber number ``index``: unique uid, MSISDN and IMSI; other fields vary with ``rng``."""
    rng = rng or random.Random(index)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "uid": f"{prefix}-{index:07d}",
        "msisdn": f"+62812{index:08d}",
        "imsi": f"51010{index:010d}",
        "status": rng.choice(STATUSES[:3]),
        "planId": rng.choice(PLANS),
        "email": f"{first.lower()}.{last.lower()}{index}@example.com" if rng.random() < 0.8 else None,
        "firstName": first,
        "lastName": last,
        "address": f"Jl. Merdeka No. {index % 500 + 1}, Jakarta" if rng.random() < 0.7 else None,
        "dateOfBirth": f"{1950 + index % 50}-{1 + index % 12:02d}-{1 + index % 28:02d}",
        "createdAt": None,
        "updatedAt": None,
    }


def subscribers(count: int, *, prefix: str = "sub", start: int = 0, seed: int = 7) -> list[Record]:
    rng = random.Random(seed)
    return [subscriber(i, prefix=prefix, rng=rng) for i in range(start, start + count)]


def broken(record: Record, what: str) -> Record:
    """A copy of ``record`` that fails one rule (``what``: a field of ``BREAKS``)."""
    bad = dict(record)
    bad.update(
        {
            "msisdn": {"msisdn": "0812-1234"},
            "imsi": {"imsi": "51010"},
            "status": {"status": "ENABLED"},
            "email": {"email": "not-an-email"},
            "dateOfBirth": {"dateOfBirth": "1990-02-30"},
            "uid": {"uid": ""},
        }[what]
    )
    return bad


def to_csv(rows: Iterable[Mapping[str, object]], header: tuple[str, ...] = ATTRIBUTES) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(header), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in header})
    return out.getvalue()


def migration_file(count: int, *, bad_every: int = 0, prefix: str = "sub", seed: int = 7) -> tuple[str, int]:
    """CSV text of ``count`` rows where every ``bad_every``-th row is broken (cycling through
    ``BREAKS``); returns the text and how many rows are bad."""
    rows, bad = [], 0
    for index, record in enumerate(subscribers(count, prefix=prefix, seed=seed)):
        if bad_every and index % bad_every == bad_every - 1:
            record = broken(record, BREAKS[bad % len(BREAKS)][0])
            bad += 1
        rows.append(record)
    return to_csv(rows), bad

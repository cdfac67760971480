"""One worker's job: parse and validate its chunk's lines, write them to staging, count.

The counts are what the worker itself saw and did (read, processed = valid, written = handed to
the staging insert, rejected); the reconciliation compares them with the source and with what
the staging table really holds, so a worker that loses rows without noticing is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from recon_operators.batchload.layout import Layout, RecordError
from recon_operators.batchload.staging import Tables, write_chunk
from recon_operators.engine.results import utcnow

REJECT_RECORD_CHARS = 2000


@dataclass
class WorkerMetrics:
    worker_id: str
    records_read: int = 0
    records_processed: int = 0
    records_written: int = 0
    records_rejected: int = 0
    started_at: str = ""
    finished_at: str = ""
    reject_reasons: list[str] = field(default_factory=list)  # first few, for the log and the report

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerMetrics:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def parse_chunk(
    layout: Layout, lines: Iterable[tuple[int, bytes]], positions: tuple[int, ...], worker_id: str
) -> tuple[WorkerMetrics, list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    """Valid records as (line number, record) and rejects as (line number, reason, raw text)."""
    metrics = WorkerMetrics(worker_id=worker_id, started_at=utcnow().isoformat())
    rows: list[tuple[int, dict[str, Any]]] = []
    rejects: list[tuple[int, str, str]] = []
    for line_no, line in lines:
        metrics.records_read += 1
        try:
            rows.append((line_no, layout.parse(line, positions)))
        except RecordError as exc:
            reason = f"line {line_no}: {exc}"
            rejects.append((line_no, reason, line.decode(layout.encoding, errors="replace")[:REJECT_RECORD_CHARS]))
            if len(metrics.reject_reasons) < 5:
                metrics.reject_reasons.append(reason)
    metrics.records_processed = len(rows)
    metrics.records_rejected = len(rejects)
    return metrics, rows, rejects


def load_chunk(
    conn: Any,
    tables: Tables,
    layout: Layout,
    run_id: str,
    worker_id: str,
    lines: Iterable[tuple[int, bytes]],
    positions: tuple[int, ...],
) -> WorkerMetrics:
    """Parse the chunk, replace this worker's staging rows for the run, return its counts."""
    metrics, rows, rejects = parse_chunk(layout, lines, positions, worker_id)
    # The worker counts what it hands to the writer; a faulty writer may then lose some silently.
    metrics.records_written = len(rows)
    write_chunk(conn, tables, layout, run_id, worker_id, rows, rejects)
    metrics.finished_at = utcnow().isoformat()
    return metrics

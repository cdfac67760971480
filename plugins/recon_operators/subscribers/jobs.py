"""The subscriber job table in the results store, and the dual-write journal beside it.

A job is one Airflow DAG run of a subscriber DAG: its row is keyed by (dag_id, run_id) and gets
a UUID ``job_id``. Its status follows the run: PENDING or QUEUED when the run starts (listener),
RUNNING when its first task opens it, COMPLETED / FAILED / CANCELLED when the run ends
(listener: a run marked failed through the REST API or UI is a cancel). Counts are kept per
chunk and summed into the job in the same transaction, so the row shows progress as chunks end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recon_operators.paths import read_sql
from recon_operators.store.ledger import ResultsStore, _json

JOB_TYPES = {"migration": "MIGRATION", "bulk_delete": "BULK_DELETE", "audit": "AUDIT", "export": "EXPORT"}
ACTIVE = ("PENDING", "QUEUED", "RUNNING")
ENDINGS = ("COMPLETED", "FAILED", "CANCELLED")
RECORDABLE = ("input_file_key", "output_file_key", "rejects_file_key", "output_url", "processed", "succeeded", "failed")


@dataclass(frozen=True)
class JobHandle:
    job_id: str
    input_file_key: str | None
    started_at: datetime


class JobStore(ResultsStore):
    """The results store, seen through its subscriber job tables."""

    def open(
        self,
        *,
        job_type: str,
        dag_id: str,
        run_id: str,
        mode: str | None,
        input_file_key: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> JobHandle:
        with self._tx("opening the job") as cur:
            cur.execute(
                read_sql("subscribers/job_open.sql"),
                {
                    "job_type": job_type,
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "mode": mode,
                    "input_file_key": input_file_key,
                    "filters": _json(dict(filters or {})),
                },
            )
            job_id, key, started_at = cur.fetchone()
        return JobHandle(str(job_id), key, started_at)

    def announce(
        self, *, job_type: str, job_status: str, dag_id: str, run_id: str, filters: Mapping[str, Any] | None = None
    ) -> None:
        with self._tx("announcing the job") as cur:
            cur.execute(
                read_sql("subscribers/job_announce.sql"),
                {
                    "job_type": job_type,
                    "job_status": job_status,
                    "dag_id": dag_id,
                    "run_id": run_id,
                    "filters": _json(dict(filters or {})),
                },
            )

    def end(self, *, dag_id: str, run_id: str, job_status: str, error: str | None = None) -> str | None:
        """End the run's job; returns the status it has now (None: the run has no job)."""
        if job_status not in ENDINGS:
            raise ValueError(f"a job ends {', '.join(ENDINGS)}, not {job_status!r}")
        with self._tx("ending the job") as cur:
            cur.execute(
                read_sql("subscribers/job_end.sql"),
                {"dag_id": dag_id, "run_id": run_id, "job_status": job_status, "error": error},
            )
            row = cur.fetchone()
        return row[1] if row else None

    def record_error(self, *, dag_id: str, run_id: str, error: str) -> None:
        """A task's failure line on its run's job (the run's end keeps it as the job's error)."""
        with self._tx("recording the job's error") as cur:
            cur.execute(read_sql("subscribers/job_error.sql"), {"dag_id": dag_id, "run_id": run_id, "error": error})

    def record(self, job_id: str, *, details: Mapping[str, Any] | None = None, **fields: Any) -> None:
        unknown = set(fields) - set(RECORDABLE)
        if unknown:
            raise ValueError(f"unknown job fields {sorted(unknown)}")
        with self._tx("recording on the job") as cur:
            cur.execute(
                read_sql("subscribers/job_record.sql"),
                {**dict.fromkeys(RECORDABLE), **fields, "job_id": job_id, "details": _json(dict(details or {}))},
            )

    def record_chunk(self, job_id: str, chunk: str, counts: Mapping[str, int]) -> tuple[int, int, int]:
        """A chunk's counts (``ChunkOutcome.as_dict``); returns the job's processed/succeeded/failed."""
        with self._tx("recording the chunk") as cur:
            cur.execute(read_sql("subscribers/chunk_record.sql"), {**counts, "job_id": job_id, "chunk": chunk})
            cur.execute(read_sql("subscribers/job_totals.sql"), {"job_id": job_id})
            return tuple(cur.fetchone())  # type: ignore[return-value]

    def totals(self, job_id: str) -> tuple[int, int, int]:
        """Sum the job's counts again (rows rejected at planning plus its chunks')."""
        with self._tx("summing the job's counts") as cur:
            cur.execute(read_sql("subscribers/job_totals.sql"), {"job_id": job_id})
            return tuple(cur.fetchone())  # type: ignore[return-value]

    def jobs(
        self, *, job_id: str | None = None, dag_id: str | None = None, run_id: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        with self._tx("reading jobs") as cur:
            cur.execute(
                read_sql("subscribers/job_get.sql"),
                {"job_id": job_id, "dag_id": dag_id, "run_id": run_id, "limit": limit},
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def journal(self, job_id: str) -> JobJournal:
        return JobJournal(self, job_id)

    def resync(self, job_id: str, fix: Callable[[list[str]], Mapping[str, str]]) -> tuple[int, dict[str, str]]:
        """Retry every out-of-sync subscriber this job (or a job no longer running) left: intents
        left behind first become out-of-sync records. ``fix(uids)`` returns those still failing.
        Returns (resolved, still open uid -> error)."""
        with self._tx("retrying out-of-sync subscribers") as cur:
            cur.execute(read_sql("subscribers/intents_to_issues.sql"), {"job_id": job_id})
            cur.execute(read_sql("subscribers/issues_open.sql"), {"job_id": job_id})
            issues = cur.fetchall()
            failing = dict(fix([uid for _, uid in issues])) if issues else {}
            cur.executemany(
                read_sql("subscribers/issue_retried.sql"),
                [{"id": issue_id, "error": failing.get(uid)} for issue_id, uid in issues],
            )
        return len(issues) - len(failing), failing


class JobJournal:
    """The ``provisioning.Journal`` of one job: intents and out-of-sync records, committed at once."""

    def __init__(self, store: JobStore, job_id: str):
        self.store, self.job_id = store, job_id

    def open_intent(self, chunk: str, uids: list[str]) -> None:
        with self.store._tx("recording the write intent") as cur:
            cur.execute(read_sql("subscribers/intent_open.sql"), {"job_id": self.job_id, "chunk": chunk, "uids": uids})

    def close_intent(self, chunk: str, out_of_sync: Mapping[str, str]) -> None:
        with self.store._tx("closing the write intent") as cur:
            cur.executemany(
                read_sql("subscribers/issue_record.sql"),
                [{"job_id": self.job_id, "uid": uid, "reason": reason} for uid, reason in out_of_sync.items()],
            )
            cur.execute(read_sql("subscribers/intent_close.sql"), {"job_id": self.job_id, "chunk": chunk})

"""Ledger writes and reads: open a run, record results, finish, clear a scope, read a verdict.

Writes are idempotent per scope: recording results for a scope and suite first moves that
scope's previous rows to history, then inserts the new ones, all in one transaction, so a
crash half-way leaves the previous verdict in place and never a partial one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg2
from psycopg2.extras import Json

from recon_operators.engine.masking import scrub, scrub_values
from recon_operators.engine.results import CheckResult, Status
from recon_operators.engine.scope import Scope
from recon_operators.errors import error_line, one_line
from recon_operators.paths import read_sql
from recon_operators.store.db import ConnectionFactory, StoreError, connect, transaction

RUN_STATUSES = ("Passed", "Failed")
MAX_ERROR_LENGTH = 2000


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json(value: Any) -> Json:
    return Json(value, dumps=lambda v: json.dumps(v, default=_json_default, sort_keys=True))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class RunHandle:
    """An open run in ``"Migration".log_table``; results recorded under it replace its scope's."""

    run_id: str
    scope: Scope
    suite: str
    process_name: str
    entity_name: str


@dataclass
class Verdict:
    """What the ledger says about a scope: the input every gate decides on."""

    scope_key: str
    status: str  # Match | Mismatch | Error | Missing
    total: int = 0
    matched: int = 0
    mismatched: int = 0
    errored: int = 0
    failed_checks: list[dict[str, Any]] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "Match"


@dataclass
class RecordedRun:
    """A run open inside ``ResultsStore.run``: record its results, or say why it failed.

    Results that could not be evaluated (``Error``) fail the run with their messages; a mismatch
    does not, since judging it is the gate's job. ``verdict`` is set once the run is finished.
    """

    handle: RunHandle
    store: ResultsStore
    error: str | None = None
    verdict: Verdict | None = None

    @property
    def run_id(self) -> str:
        return self.handle.run_id

    def record(self, results: Iterable[CheckResult]) -> list[CheckResult]:
        """Replace the scope's results with these (atomically); Error results fail the run."""
        results = list(results)
        self.store.record_results(self.handle, results)
        errors = [r for r in results if r.status is Status.ERROR]
        if errors:
            self.fail("; ".join(f"{r.check_name}: {r.message}" for r in errors))
        return results

    def fail(self, error: str) -> None:
        """Finish the run ``Failed`` with this error (masked and clipped when written)."""
        self.error = error


class ResultsStore:
    """The results ledger. Takes a connection factory so Airflow hooks, the CLI and tests share it."""

    def __init__(self, connection_factory: ConnectionFactory):
        self._factory = connection_factory
        self._conn: Any = None

    @classmethod
    def from_dsn(cls, dsn: str) -> ResultsStore:
        return cls(lambda: connect(dsn))

    @property
    def conn(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._factory()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self, what: str) -> Iterator[Any]:
        """One transaction; driver and adaptation errors become one-line StoreErrors."""
        try:
            with transaction(self.conn) as cur:
                yield cur
        except (psycopg2.Error, ValueError, TypeError) as exc:
            raise StoreError(f"{what} failed and was rolled back: {one_line(exc)}") from None

    # -- runs -------------------------------------------------------------------------------
    def open_run(
        self,
        scope: Scope,
        suite: str,
        *,
        process_name: str,
        entity_name: str | None = None,
        run_id: str | None = None,
    ) -> RunHandle:
        """Log the run as ``In Progress`` (committed at once, so operators can see it)."""
        run = RunHandle(
            run_id=run_id or f"recon-{uuid.uuid4()}",
            scope=scope,
            suite=suite,
            process_name=process_name,
            entity_name=entity_name or suite,
        )
        fields = scope.named_fields()
        params = {
            "run_id": run.run_id,
            "process_name": run.process_name,
            "entity_name": run.entity_name,
            "scope_key": scope.key,
            **{
                k: fields.get(k)
                for k in ("env", "cohort_id", "prefix_id", "prefix", "batch_id", "msisdn_start", "msisdn_end")
            },
        }
        with self._tx("opening the run") as cur:
            cur.execute(read_sql("store/open_run.sql"), params)
        return run

    @contextmanager
    def run(
        self, scope: Scope, suite: str, *, describe: Callable[[BaseException], str] = error_line, **opening: Any
    ) -> Iterator[RecordedRun]:
        """The one run lifecycle: open the run (``opening``: ``open_run``'s keywords), yield it to
        record into, finish it ``Passed`` (or ``Failed`` with the error the run was given) and read
        the verdict. An exception finishes the run ``Failed`` with ``describe``'s one line (masked
        and clipped by ``finish_run``) and goes on up, so a crash never leaves a run ``In Progress``."""
        run = RecordedRun(self.open_run(scope, suite, **opening), self)
        try:
            yield run
        except BaseException as exc:
            self.finish_run(run.handle, "Failed", error=describe(exc))
            raise
        self.finish_run(run.handle, "Failed" if run.error else "Passed", error=run.error)
        run.verdict = self.verdict(scope, suite)

    def finish_run(self, run: RunHandle, status: str, error: str | None = None) -> None:
        """Close the run as ``Passed`` or ``Failed`` with the error (secrets and PII masked, then
        clipped) and the end time."""
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {RUN_STATUSES}, not {status!r}")
        with self._tx("finishing the run") as cur:
            cur.execute(
                read_sql("store/finish_run.sql"),
                {"run_id": run.run_id, "status": status, "error": scrub(error)[:MAX_ERROR_LENGTH] if error else error},
            )
            found = cur.fetchall()
        if not found:
            raise StoreError(f"run {run.run_id} is not in the log; open it before finishing it")

    # -- results ----------------------------------------------------------------------------
    def record_results(self, run: RunHandle, results: Iterable[CheckResult]) -> int:
        """Replace the run's scope+suite results with these, atomically. Returns rows written."""
        rows = [self._result_row(run, r) for r in results]
        with self._tx("recording results") as cur:
            cur.execute(
                read_sql("store/supersede_scope.sql"),
                {"scope_key": run.scope.key, "suite": run.suite, "superseded_by": run.run_id},
            )
            cur.executemany(read_sql("store/insert_result.sql"), rows)
        return len(rows)

    def clear_scope(self, scope: Scope, suite: str | None = None, *, cleared_by: str = "manual") -> int:
        """Move a scope's current results (one suite's, or all) to history before a rerun."""
        with self._tx("clearing the scope") as cur:
            cur.execute(
                read_sql("store/supersede_scope.sql"),
                {"scope_key": scope.key, "suite": suite, "superseded_by": cleared_by},
            )
            return cur.rowcount

    def results(self, scope: Scope, suite: str | None = None, *, with_children: bool = False) -> list[dict[str, Any]]:
        """Current result rows of a scope (or of every scope inside it)."""
        params = {
            "scope_key": scope.key,
            "scope": json.dumps(scope.as_dict()),
            "with_children": with_children,
            "suite": suite,
        }
        with self._tx("reading results") as cur:
            cur.execute(read_sql("store/read_results.sql"), params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def verdict(self, scope: Scope, suite: str | None = None, *, with_children: bool = False) -> Verdict:
        """Error beats Mismatch beats Match; no rows at all is ``Missing``, never a pass."""
        rows = self.results(scope, suite, with_children=with_children)
        verdict = Verdict(scope_key=scope.key, status="Missing", total=len(rows))
        for row in rows:
            if row["status"] == Status.MATCH.value:
                verdict.matched += 1
                continue
            if row["status"] == Status.ERROR.value:
                verdict.errored += 1
            else:
                verdict.mismatched += 1
            verdict.failed_checks.append(
                {
                    k: row[k]
                    for k in (
                        "scope_key",
                        "suite",
                        "check_name",
                        "group_key",
                        "expected",
                        "actual",
                        "discrepancy",
                        "status",
                        "message",
                    )
                }
            )
        verdict.run_ids = sorted({row["run_id"] for row in rows})
        if verdict.errored:
            verdict.status = Status.ERROR.value
        elif verdict.mismatched:
            verdict.status = Status.MISMATCH.value
        elif rows:
            verdict.status = Status.MATCH.value
        return verdict

    # -- gates ------------------------------------------------------------------------------
    def record_gate_decision(
        self,
        scope: Scope,
        *,
        policy: str,
        verdict: str,
        outcome: str,
        run_id: str | None = None,
        suite: str | None = None,
        decided_by: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        """Append a gate's decision (Passed, Blocked, Failed, Warned, Approved, Rejected...)."""
        with self._tx("recording the gate decision") as cur:
            cur.execute(
                read_sql("store/insert_gate_decision.sql"),
                {
                    "run_id": run_id,
                    "scope_key": scope.key,
                    "scope": _json(scope.as_dict()),
                    "stage": scope.stage,
                    "suite": suite,
                    "policy": policy,
                    "verdict": verdict,
                    "outcome": outcome,
                    "decided_by": decided_by,
                    "summary": _json(summary or {}),
                },
            )

    @staticmethod
    def _result_row(run: RunHandle, result: CheckResult) -> dict[str, Any]:
        fields = run.scope.named_fields()
        return {
            "run_id": run.run_id,
            "scope_key": run.scope.key,
            "scope": _json(run.scope.as_dict()),
            **{k: fields.get(k) for k in ("env", "cohort_id", "prefix_id", "prefix", "batch_id", "stage")},
            "suite": run.suite,
            "check_name": result.check_name,
            "kind": result.kind,
            "group_key": result.group,
            "source": _json(scrub_values(result.source)),  # a side's label must not carry a credential
            "target": _json(scrub_values(result.target)),
            "expected": _text(result.expected),
            "actual": _text(result.actual),
            "discrepancy": result.discrepancy,
            "tolerance": _json(result.tolerance) if result.tolerance is not None else None,
            "status": result.status.value,
            "message": scrub(result.message) if result.message else result.message,
            "details": _json(result.details),
            "started_at": result.started_at,
            "finished_at": result.finished_at,
        }

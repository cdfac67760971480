"""RecordingOperator: the base of every operator that records a run in the results ledger.

Why one base: the run lifecycle (open run -> record -> finish -> verdict -> XCom summary) and
its failure rule were written out once per operator and drifted (one scrubbed errors, one did
not). Here they live once: the run goes through ``ResultsStore.run``, a failure is recorded and
raised as the same one masked line the CLI prints, and the summary is masked before it leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from recon_operators.engine.masking import scrub
from recon_operators.engine.scope import Scope
from recon_operators.errors import error_line, mask_line, one_line
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.notifiers.alerts import SUMMARY_XCOM_KEY
from recon_operators.operators.failures import task_failure
from recon_operators.operators.summary import compact_summary
from recon_operators.store import RecordedRun


def airflow_run_id(context: Any) -> str:
    """Stable per task instance (retries included), so a retry or clear replaces its own rows."""
    ti = context["ti"]
    suffix = f"/{ti.map_index}" if getattr(ti, "map_index", -1) not in (None, -1) else ""
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}{suffix}"


def failure_line(exc: BaseException) -> str:
    """The run's error: an Airflow failure raised on purpose says its own words; anything else is
    the CLI's one masked line."""
    return mask_line(one_line(exc)) if isinstance(exc, AirflowException) else error_line(exc)


class RecordingOperator(BaseOperator):
    """Records one ledger run per execution through ``recording``; ``publish`` sends the summary.

    A task fails with the one masked line recorded as the run's error: without retry for bad input
    (or when the subclass sets ``retry_failures = False``), with Airflow's retries otherwise. An
    ``AirflowException`` a subclass raises on purpose goes up unchanged.
    """

    retry_failures = True

    def __init__(self, *, store_conn_id: str = ResultsStoreHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store_conn_id = store_conn_id

    @contextmanager
    def recording(
        self, context: Any, scope: Scope, suite: str, *, process_name: str | None = None, entity_name: str | None = None
    ) -> Iterator[RecordedRun]:
        """One ledger run for this task instance; see ``ResultsStore.run``."""
        store = ResultsStoreHook(self.store_conn_id).get_store()
        try:
            with store.run(
                scope,
                suite,
                process_name=process_name or scope.stage or suite,
                entity_name=entity_name,
                run_id=airflow_run_id(context),
                describe=failure_line,
            ) as run:
                yield run
        except AirflowException:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded by the store, raised as the one masked line
            raise task_failure(exc, retry=self.retry_failures) from None
        finally:
            store.close()

    def say(self, text: str, level: int = logging.INFO) -> None:
        """Log a line about the run with secrets and subscriber data masked."""
        self.log.log(level, "%s", scrub(text))

    def publish(self, context: Any, run: RecordedRun, **extra: Any) -> dict[str, Any]:
        """The verdict as a compact, masked summary: pushed for the alert notifiers and returned."""
        if run.verdict is None:
            raise RuntimeError("publish a run after its recording block has finished")
        summary = {**compact_summary(run.verdict, run.handle.scope, run.handle.suite), "run_id": run.run_id, **extra}
        verdict = run.verdict
        self.say(
            f"{run.handle.suite} for {run.handle.scope.key}: {verdict.status} ({verdict.matched} matched, "
            f"{verdict.mismatched} mismatched, {verdict.errored} errors)"
        )
        # The alert notifiers read this key when a later task fails (on_failure_callback).
        context["ti"].xcom_push(key=SUMMARY_XCOM_KEY, value=summary)
        return summary

"""Wait until every batch of a scope passed in the ledger (e.g. all batches of a prefix).

Deferrable by default: after one synchronous look (most gates are already decided when they
run), the wait moves to the triggerer and frees the worker slot. The decision itself is
``recon_operators.sensors.condition.evaluate``, shared with the trigger, so both modes and
both processes agree.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, NoReturn

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.engine.scope import Scope, ScopeError
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.sensors.condition import (
    FAILED,
    PASSED,
    REQUIRE_MATCH,
    REQUIREMENTS,
    evaluate,
    normalise_batches,
    this_run_only,
)
from recon_operators.sensors.verdict import fail_without_retry
from recon_operators.triggers.ledger import TIMEOUT, LedgerTrigger

# The trigger enforces the sensor's timeout itself (with a message naming the missing batches);
# Airflow's own deferral timeout is a backstop set this much later, for a triggerer that died.
_BACKSTOP = timedelta(minutes=5)


class LedgerSensor(BaseSensorOperator):
    """Succeed when all (expected) batches under ``scope`` have results for ``suite``, all Match.

    :param scope: the parent scope, e.g. ``{"env": "{{ params.env }}", "cohort_id": ...,
        "prefix": ..., "stage": "mini_recon_1"}``; batches are the result scopes inside it,
        told apart by ``batch_id``.
    :param suite: the check suite whose results count.
    :param expected_batches: batch ids that must all be present: a list, a JSON/Python list
        string or a comma separated string (templated). Empty: wait for at least one batch.
    :param store_conn_id: Airflow connection of the results store.
    :param deferrable: wait in the triggerer (default) instead of poking on a worker.
    :param require: ``"match"`` (default): every batch must have passed; ``"present"``: every
        batch must have reported, matched or not (for a summary that records the mismatches).
    :param fresh_batches: batches this DAG run (re)computes: only their results written by this
        run count, so a rerun is never judged on the previous run's rows (templated).

    Fails without retry (``AirflowFailException``) as soon as any batch has a Mismatch or Error,
    naming the batches and checks, and when ``timeout`` passes; returns a summary to XCom.
    """

    template_fields: Sequence[str] = ("scope", "suite", "expected_batches", "fresh_batches", "store_conn_id")
    template_fields_renderers = {"scope": "json", "expected_batches": "json", "fresh_batches": "json"}
    ui_color = "#d9f0e3"

    def __init__(
        self,
        *,
        scope: Mapping[str, Any],
        suite: str,
        expected_batches: Sequence[str | int] | str | None = None,
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        deferrable: bool = True,
        require: str = REQUIRE_MATCH,
        fresh_batches: Sequence[str | int] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fresh_batches = fresh_batches
        if require not in REQUIREMENTS:
            raise ValueError(f"{kwargs.get('task_id')}: require {require!r} must be one of {', '.join(REQUIREMENTS)}")
        self.require = require
        self.scope = dict(scope)
        self.suite = suite
        self.expected_batches = expected_batches
        self.store_conn_id = store_conn_id
        self.deferrable = deferrable

    # -- inputs after templating -----------------------------------------------------------
    def _scope(self) -> Scope:
        """The rendered scope, refusing blanks: ``Scope`` drops empty fields, so a param that
        rendered empty (or ``None``) would silently widen the gate to, say, the whole cohort."""
        blank = sorted(k for k, v in self.scope.items() if v is None or str(v).strip() in ("", "None"))
        if blank:
            raise AirflowFailException(
                f"ledger sensor scope field(s) {', '.join(blank)} rendered empty; a missing param would widen the gate"
            )
        try:
            return Scope.from_mapping(self.scope)
        except ScopeError as exc:
            raise AirflowFailException(f"ledger sensor scope {self.scope!r} is invalid: {exc}") from None

    def _batches(self, value: Any) -> list[str]:
        try:
            return normalise_batches(value)
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None

    def _expected(self) -> list[str]:
        return self._batches(self.expected_batches)

    def _fresh(self) -> list[str]:
        return self._batches(self.fresh_batches)

    @staticmethod
    def _run_prefix(context: Any) -> str:
        ti = context["ti"]
        return f"{ti.dag_id}/{ti.run_id}/"

    def _check(self, context: Any) -> tuple[str, dict[str, Any]]:
        """One synchronous look at the ledger."""
        if not self.suite:
            raise AirflowFailException("ledger sensor needs a suite")
        scope, expected, fresh = self._scope(), self._expected(), self._fresh()  # bad input fails before any I/O
        with ResultsStoreHook(self.store_conn_id).get_store() as store:
            rows = store.results(scope, self.suite, with_children=True)
        if fresh:
            rows = this_run_only(rows, fresh, self._run_prefix(context))
        return evaluate(rows, expected, self.require)

    def _summary(self, detail: Mapping[str, Any]) -> dict[str, Any]:
        """What downstream tasks and people see in XCom: compact, no per-check rows."""
        keep = ("batches", "unexpected", "checks", "failed_count", "polls", "waited_seconds", "message")
        return {"scope": self._scope().key, "suite": self.suite, **{k: detail[k] for k in keep if k in detail}}

    def _fail(self, message: str) -> NoReturn:
        fail_without_retry(self, message)

    # -- modes -----------------------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        state, detail = self._check(context)
        if state == PASSED:
            self.log.info("%s", detail["message"])
            return self._summary(detail)
        if state == FAILED:
            self._fail(f"ledger {self.suite} for {self._scope().key}: {detail['message']}")
        self.log.info(
            "%s; deferring (poll every %ss, timeout %ss)", detail["message"], self.poke_interval, self.timeout
        )
        self.defer(
            trigger=LedgerTrigger(
                scope=self._scope().as_dict(),
                suite=self.suite,
                expected_batches=self._expected(),
                store_conn_id=self.store_conn_id,
                require=self.require,
                fresh_batches=self._fresh(),
                run_prefix=self._run_prefix(context),
                poll_interval=self.poke_interval,
                deadline=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + _BACKSTOP,
        )

    def execute_complete(self, context: Any, event: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger fired: pass on ``passed``, fail on ``failed``/``timeout``."""
        if not event:
            raise AirflowFailException("ledger trigger resumed the sensor without an event")
        status, detail = event.get("status"), dict(event.get("detail") or {})
        where = f"ledger {self.suite} for {self._scope().key}"
        if status == PASSED:
            self.log.info("%s: %s", where, detail.get("message"))
            return self._summary(detail)
        if status in (FAILED, TIMEOUT):
            self._fail(f"{where}: {detail.get('message')}")
        raise AirflowFailException(f"{where}: unknown trigger event status {status!r}")

    def poke(self, context: Any) -> bool | PokeReturnValue:
        state, detail = self._check(context)
        if state == FAILED:
            raise AirflowFailException(f"ledger {self.suite} for {self._scope().key}: {detail['message']}")
        self.log.info("%s", detail["message"])
        return PokeReturnValue(is_done=True, xcom_value=self._summary(detail)) if state == PASSED else False

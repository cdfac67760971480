"""Wait on the results ledger in the triggerer, so a waiting gate costs no worker slot.

The trigger polls the store every ``poll_interval`` seconds and applies the same pure
``evaluate`` the sensor uses. psycopg2 is blocking, so each poll runs in a worker thread
(``asyncio.to_thread``) and the triggerer's event loop, shared with every other trigger, never
waits on the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent

from recon_operators.engine.scope import Scope
from recon_operators.hooks.results_store import ResultsStoreHook
from recon_operators.sensors.condition import REQUIRE_MATCH, WAITING, evaluate, this_run_only
from recon_operators.store import ResultsStore, StoreError

TIMEOUT = "timeout"


class _FetchedConnectionHook(ResultsStoreHook):
    """The store hook over a connection already fetched asynchronously.

    ``ResultsStoreHook.dsn()`` fetches the connection synchronously, which must not run on the
    triggerer's event loop; reusing its DSN building on a prefetched connection keeps one place
    that turns an Airflow connection into a libpq DSN.
    """

    def __init__(self, conn: Any) -> None:
        super().__init__(conn.conn_id)
        self._fetched = conn

    def get_connection(self, conn_id: str) -> Any:  # type: ignore[override]
        return self._fetched


def read_rows(dsn: str, scope: dict[str, str], suite: str) -> list[dict[str, Any]]:
    """Current results of the scope and every scope inside it (blocking; one short connection).

    A fresh connection per poll: polls are seconds to minutes apart, and a long-lived
    connection per waiting trigger would pin store connections for hours.
    """
    with ResultsStore.from_dsn(dsn) as store:
        return store.results(Scope.from_mapping(scope), suite, with_children=True)


class LedgerTrigger(BaseTrigger):
    """Fire once the batches of a scope have all passed, any has failed, or the deadline passes.

    Events: ``{"status": "passed" | "failed" | "timeout", "detail": {...}}`` where ``detail`` is
    ``evaluate``'s (with ``message``, one line) plus ``polls`` and ``waited_seconds``.

    ``deadline`` is absolute (epoch seconds), not a duration: a trigger is re-created from its
    kwargs whenever the triggerer restarts or hands it over, and a relative timeout would
    restart the clock each time. Only the connection id is serialized, never a DSN: trigger
    kwargs are stored in Airflow's database, and the password belongs in the connection.
    """

    def __init__(
        self,
        *,
        scope: dict[str, str],
        suite: str,
        expected_batches: list[str] | None = None,
        store_conn_id: str = ResultsStoreHook.default_conn_name,
        require: str = REQUIRE_MATCH,
        fresh_batches: list[str] | None = None,
        run_prefix: str = "",
        poll_interval: float = 60.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.require = require
        self.fresh_batches = list(fresh_batches or [])
        self.run_prefix = run_prefix
        self.scope = dict(scope)
        self.suite = suite
        self.expected_batches = list(expected_batches or [])
        self.store_conn_id = store_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "scope": self.scope,
                "suite": self.suite,
                "expected_batches": self.expected_batches,
                "store_conn_id": self.store_conn_id,
                "require": self.require,
                "fresh_batches": self.fresh_batches,
                "run_prefix": self.run_prefix,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    async def _dsn(self) -> str:
        """Resolve the connection with the async API (the sync one may block the event loop)."""
        conn = await BaseHook.aget_connection(self.store_conn_id)
        return _FetchedConnectionHook(conn).dsn()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        started = time.monotonic()
        dsn = await self._dsn()
        where = f"{self.suite} for {Scope.from_mapping(self.scope).key}"
        detail: dict[str, Any] = {"message": "no poll has read the store yet"}
        last_error: str | None = None
        polls = 0
        while True:
            polls += 1
            try:
                rows = await asyncio.to_thread(read_rows, dsn, self.scope, self.suite)
            except StoreError as exc:
                # A store restart must not fail a gate that waits for hours: retry until the
                # deadline, which then names the error. Bad config fails earlier and louder, in
                # the sensor's synchronous first check on the worker.
                last_error = str(exc)
                self.log.warning("ledger %s: poll %d could not read the store: %s", where, polls, exc)
            else:
                last_error = None
                if self.fresh_batches:
                    rows = this_run_only(rows, self.fresh_batches, self.run_prefix)
                state, detail = evaluate(rows, self.expected_batches, self.require)
                if state != WAITING:
                    yield TriggerEvent({"status": state, "detail": self._stamp(detail, polls, started)})
                    return
                self.log.info("ledger %s: %s", where, detail["message"])
            remaining = None if self.deadline is None else self.deadline - time.time()
            if remaining is not None and remaining <= 0:
                message = f"timed out: {detail['message']}"
                if last_error:
                    message += f"; last store error: {last_error}"
                timed_out = self._stamp({**detail, "message": message}, polls, started)
                yield TriggerEvent({"status": TIMEOUT, "detail": timed_out})
                return
            await asyncio.sleep(self.poll_interval if remaining is None else min(self.poll_interval, remaining))

    @staticmethod
    def _stamp(detail: dict[str, Any], polls: int, started: float) -> dict[str, Any]:
        """How long the wait took: shows in XCom that the gate waited in the triggerer."""
        return {**detail, "polls": polls, "waited_seconds": round(time.monotonic() - started, 3)}

"""Legacy: the subscriber table in MariaDB/MySQL, with its audit_log written by triggers.

Takes a DB-API connection (MySQLdb) from the caller. A batch of changes is one transaction in
READ COMMITTED (no gap locks between parallel chunks; chunks hold disjoint uids). When the batch
hits a record the database refuses (a unique msisdn or imsi held by another uid, a CHECK), the
transaction is redone record by record under savepoints, so only the refused records fail,
each with a reason that names the rule and never the value. Deadlocks and lock wait timeouts
are retried with backoff; anything else fails the whole batch (``LegacyError``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from recon_operators.engine.masking import scrub
from recon_operators.errors import one_line
from recon_operators.paths import read_sql
from recon_operators.retry import Backoff
from recon_operators.subscribers.model import ATTRIBUTES, COLUMNS, Record, canonical_timestamp, parse_timestamp

SELECT_BATCH = 1000
FETCH_ROWS = 5000
_TRANSIENT = (1205, 1213)  # lock wait timeout, deadlock
_REFUSALS = {
    1048: "a required field is empty",
    1406: "a value is too long",
    1366: "a value has the wrong type",
    4025: "a CHECK constraint failed",
    3819: "a CHECK constraint failed",
}
_UNIQUE_KEY = re.compile(r"for key '(?:subscribers\.)?([A-Za-z0-9_]+)'")
_CONSTRAINT = re.compile(r"CONSTRAINT `([A-Za-z0-9_]+)`")


class LegacyError(RuntimeError):
    """The batch could not be written at all (connection lost, table missing...); one line."""


def _code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def refusal(exc: BaseException) -> str | None:
    """Why the database refused one record, without the value it quoted; None: not a refusal."""
    code, message = _code(exc), str(exc)
    if code == 1062:
        key = _UNIQUE_KEY.search(message)
        field = key.group(1).removeprefix("subscribers_") if key else "a unique field"
        return "uid already exists" if field == "PRIMARY" else f"legacy: {field} already belongs to another subscriber"
    if code in _REFUSALS:
        named = _CONSTRAINT.search(message)
        return f"legacy: {_REFUSALS[code]}" + (f" ({named.group(1)})" if named else "")
    return None


def _row(record: Mapping[str, Any]) -> list[Any]:
    values = []
    for name in ATTRIBUTES:
        value = record.get(name)
        values.append(parse_timestamp(value) if value is not None and name in ("createdAt", "updatedAt") else value)
    return values


def _params(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as the bound parameters of legacy_insert.sql / legacy_update.sql (by column name)."""
    return dict(zip(COLUMNS, _row(record)))


def record_of(row: Iterable[Any]) -> Record:
    record: Record = {}
    for name, value in zip(ATTRIBUTES, row):
        if isinstance(value, datetime):
            value = canonical_timestamp(value)
        elif isinstance(value, date):
            value = value.isoformat()
        record[name] = None if value is None else str(value)
    return record


def ensure_schema(conn: Any) -> None:
    """Create the subscribers table, audit_log and triggers when missing (DDL: never per chunk)."""
    statements = [s.strip() for s in re.split(r"^;\s*$", read_sql("subscribers/legacy_schema.sql"), flags=re.M)]
    cur = conn.cursor()
    try:
        for statement in statements:
            body = "\n".join(line for line in statement.splitlines() if not line.lstrip().startswith("--")).strip()
            if body:
                cur.execute(body)
    finally:
        cur.close()


class LegacyStore:
    """The Legacy table over one MySQLdb connection (owned by the caller)."""

    label = "legacy"

    def __init__(self, conn: Any, *, backoff: Backoff = Backoff()):
        self.conn = conn
        self.backoff = backoff
        cur = conn.cursor()
        try:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        finally:
            cur.close()

    def _fail(self, what: str, exc: BaseException) -> LegacyError:
        return LegacyError(scrub(f"legacy: {what}: {one_line(exc)}"))

    def get_many(self, uids: Iterable[str]) -> dict[str, Record]:
        wanted = list(dict.fromkeys(uids))
        found: dict[str, Record] = {}
        cur = self.conn.cursor()
        try:
            for start in range(0, len(wanted), SELECT_BATCH):
                cur.execute(
                    read_sql("subscribers/legacy_select.sql"), {"uids": tuple(wanted[start : start + SELECT_BATCH])}
                )
                for row in cur.fetchall():
                    found[row[0]] = record_of(row)
            self.conn.commit()  # end the read's snapshot
        except Exception as exc:  # noqa: BLE001 - driver errors
            self.conn.rollback()
            raise self._fail("reading rows failed", exc) from None
        finally:
            cur.close()
        return found

    def apply(self, changes: Mapping[str, Record | None], before: Mapping[str, Record], job_id: str) -> dict[str, str]:
        """Write ``changes`` (``None``: delete) given the rows as they were (``before``); commit.

        Returns the refused records (uid -> reason); the others are committed.
        """
        if not changes:
            return {}
        try:
            return self.backoff.run(
                lambda: self._transaction(changes, before, job_id, one_by_one=False),
                lambda exc: f"legacy error {_code(exc)}" if _code(exc) in _TRANSIENT else None,
            )
        except _Refused:
            pass
        except Exception as exc:  # noqa: BLE001 - drivers, Arrow and DuckDB each raise their own classes: one line names the side
            raise self._fail(f"writing {len(changes)} rows failed", exc) from None
        try:
            return self.backoff.run(
                lambda: self._transaction(changes, before, job_id, one_by_one=True),
                lambda exc: f"legacy error {_code(exc)}" if _code(exc) in _TRANSIENT else None,
            )
        except Exception as exc:  # noqa: BLE001 - drivers, Arrow and DuckDB each raise their own classes: one line names the side
            raise self._fail(f"writing {len(changes)} rows one by one failed", exc) from None

    def _transaction(
        self, changes: Mapping[str, Record | None], before: Mapping[str, Record], job_id: str, *, one_by_one: bool
    ) -> dict[str, str]:
        inserts = [(uid, r) for uid, r in changes.items() if r is not None and uid not in before]
        updates = [(uid, r) for uid, r in changes.items() if r is not None and uid in before]
        deletes = [uid for uid, r in changes.items() if r is None and uid in before]
        statements = [
            (read_sql("subscribers/legacy_insert.sql"), [(uid, _params(r)) for uid, r in inserts]),
            (read_sql("subscribers/legacy_update.sql"), [(uid, _params(r)) for uid, r in updates]),
            (read_sql("subscribers/legacy_delete.sql"), [(uid, {"uid": uid}) for uid in deletes]),
        ]
        refused: dict[str, str] = {}
        cur = self.conn.cursor()
        try:
            self.conn.rollback()
            cur.execute("SET @recon_job_id = %s", (job_id,))
            for sql, rows in statements:
                if not rows:
                    continue
                if not one_by_one:
                    try:
                        cur.executemany(sql, [values for _, values in rows])
                    except Exception as exc:
                        if refusal(exc) is not None:
                            raise _Refused() from None
                        raise
                    continue
                for uid, values in rows:
                    cur.execute("SAVEPOINT recon_record")
                    try:
                        cur.execute(sql, values)
                    except Exception as exc:
                        reason = refusal(exc)
                        if reason is None:
                            raise
                        cur.execute("ROLLBACK TO SAVEPOINT recon_record")
                        refused[uid] = reason
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()
        return refused

    def pages(self, filters: Mapping[str, str] | None = None) -> Iterator[list[Record]]:
        """Every row (optionally of one status and/or plan), in uid order, ``FETCH_ROWS`` at a time."""
        import MySQLdb.cursors

        filters = filters or {}
        cur = self.conn.cursor(MySQLdb.cursors.SSCursor)
        try:
            cur.execute(
                read_sql("subscribers/legacy_pages.sql"),
                {"status": filters.get("status") or None, "plan_id": filters.get("planId") or None},
            )
            while True:
                rows = cur.fetchmany(FETCH_ROWS)
                if not rows:
                    break
                yield [record_of(row) for row in rows]
        except Exception as exc:  # noqa: BLE001 - drivers, Arrow and DuckDB each raise their own classes: one line names the side
            raise self._fail("reading the table failed", exc) from None
        finally:
            cur.close()
            self.conn.rollback()


class _Refused(Exception):
    """The batch hit a refused record: redo it record by record."""

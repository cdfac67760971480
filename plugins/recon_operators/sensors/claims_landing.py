"""Wait for a business day's claims files, but only while they can still arrive.

A daily run waits (deferred, no worker slot) until both files are there or the landing window
closes: the end of the run's business day (its ``ds``, UTC) plus ``wait_hours``. The window is
counted from the business day, not from the data interval: under Airflow 3's default cron
timetable (``create_cron_data_intervals = False``) a daily run's data interval ends at its
logical date, the *start* of its business day, and a window counted from there closed half a
day before the day's files were due. Both timetable settings give the run of day D the prefix
``.../D/`` and a window closing D+1 at ``wait_hours``; they differ only in when the run starts
(D 00:00 with trigger timetables, D+1 00:00 with data intervals). Waiting for *both* matters: the
OLD and NEW extracts land minutes apart, and firing on the first would log a false
``INVALID_FILE_COUNT``. When the window is already closed (a backfill or catch-up of an old day)
the sensor looks once and does not wait. A day with fewer files than expected ends the sensor
*skipped*, never failed, so the reconcile task still runs and logs ``NO_FILES`` or
``INVALID_FILE_COUNT``. A day whose files already sit in the processed prefix (a rerun of a
finished day) passes at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.triggers.base import TriggerEvent

from recon_operators.sensors.landing import _BACKSTOP, S3LandingSensor
from recon_operators.triggers.landing import LANDED, TIMEOUT, LandingTrigger, describe, matching_keys

EXPECTED_FILES = 2


def business_day(context: Any) -> date:
    """The day a run reconciles: its ``ds`` (the logical date's day), the date in its S3 prefix."""
    ds = context.get("ds")
    if ds:
        return date.fromisoformat(str(ds))
    logical = context.get("logical_date") or context.get("data_interval_start")
    if logical is None:
        raise AirflowFailException("the run has no logical date; trigger it with one: the business day to reconcile")
    return logical.date()


class CountedLandingTrigger(LandingTrigger):
    """``LandingTrigger`` that fires only once ``min_keys`` objects match (or at the deadline)."""

    def __init__(self, *, min_keys: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_keys = int(min_keys)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        _, kwargs = super().serialize()
        return f"{type(self).__module__}.{type(self).__qualname__}", {**kwargs, "min_keys": self.min_keys}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The parent polls until something lands or the (absolute) deadline passes; too few
        # keys means "not yet": poll again after the interval, until the deadline decides.
        while True:
            found: list[str] = []
            async for event in super().run():
                if event.payload["status"] == LANDED and len(event.payload["keys"]) < self.min_keys:
                    found = event.payload["keys"]
                    break
                yield event
                return
            remaining = None if self.deadline is None else self.deadline - time.time()
            if remaining is not None and remaining <= 0:
                yield TriggerEvent(
                    {
                        "status": TIMEOUT,
                        "polls": 0,
                        "message": f"only {len(found)} of {self.min_keys} files at s3://{self.bucket}/{self.key} "
                        "before the deadline",
                    }
                )
                return
            await asyncio.sleep(self.poll_interval if remaining is None else min(self.poll_interval, remaining))


class ClaimsLandingSensor(S3LandingSensor):
    """``S3LandingSensor`` on the day's inbound prefix, bounded by the landing window (soft)."""

    template_fields: Sequence[str] = (*S3LandingSensor.template_fields, "processed_key")

    def __init__(
        self, *, processed_key: str, wait_hours: float, expected_files: int = EXPECTED_FILES, **kwargs: Any
    ) -> None:
        kwargs.setdefault("soft_fail", True)
        kwargs.setdefault("wildcard", True)
        super().__init__(**kwargs)
        self.processed_key = processed_key
        self.wait_hours = wait_hours
        self.expected_files = expected_files

    def window_closes(self, context: Any) -> datetime:
        """When the business day's files stop being waited for: the day's end plus ``wait_hours``."""
        next_day = business_day(context) + timedelta(days=1)
        return datetime.combine(next_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=self.wait_hours)

    def execute(self, context: Any) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        done = matching_keys(
            S3Hook(aws_conn_id=self.aws_conn_id).get_conn(), self.bucket, self.processed_key, self.wildcard
        )
        if done:
            self.log.info("already processed (a rerun of the day): %s", describe(self.bucket, done))
            return done
        keys = self._look()
        remaining = (self.window_closes(context) - datetime.now(UTC)).total_seconds()
        if len(keys) >= self.expected_files or (keys and remaining <= 0):
            self.log.info("landed: %s", describe(self.bucket, keys))
            return keys
        if remaining <= 0:
            raise AirflowSkipException(
                f"nothing at {self._where} and its landing window closed at "
                f"{self.window_closes(context):%Y-%m-%d %H:%M} UTC"
            )
        self.log.info(
            "%d of %d files at %s; deferring until %s at the latest",
            len(keys),
            self.expected_files,
            self._where,
            self.window_closes(context),
        )
        self.defer(
            trigger=CountedLandingTrigger(
                bucket=self.bucket,
                key=self.key,
                wildcard=self.wildcard,
                aws_conn_id=self.aws_conn_id,
                poll_interval=self.poke_interval,
                deadline=time.time() + remaining,
                min_keys=self.expected_files,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=remaining) + _BACKSTOP,
        )

"""Wait for a business day's claims files, but only while they can still arrive.

A daily run waits (deferred, no worker slot) until the landing window closes: the end of the
run's data interval plus ``wait_hours``. When the window is already closed (a backfill or a
catch-up of an old day) it looks once and does not wait. A day with nothing landed ends the
sensor *skipped*, never failed, so the reconcile task still runs and logs ``NO_FILES``. A day
whose files already sit in the processed prefix (a rerun of a finished day) passes at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from airflow.sdk.exceptions import AirflowSkipException

from recon_operators.sensors.landing import S3LandingSensor
from recon_operators.triggers.landing import describe, matching_keys


class ClaimsLandingSensor(S3LandingSensor):
    """``S3LandingSensor`` on the day's inbound prefix, bounded by the landing window (soft)."""

    template_fields: Sequence[str] = (*S3LandingSensor.template_fields, "processed_key")

    def __init__(self, *, processed_key: str, wait_hours: float, **kwargs: Any) -> None:
        kwargs.setdefault("soft_fail", True)
        kwargs.setdefault("wildcard", True)
        super().__init__(**kwargs)
        self.processed_key = processed_key
        self.wait_hours = wait_hours

    def window_closes(self, context: Any) -> datetime:
        end = context.get("data_interval_end") or context.get("logical_date") or datetime.now(timezone.utc)
        return end + timedelta(hours=self.wait_hours)

    def execute(self, context: Any) -> Any:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        client = S3Hook(aws_conn_id=self.aws_conn_id).get_conn()
        done = matching_keys(client, self.bucket, self.processed_key, self.wildcard)
        if done:
            self.log.info("already processed (a rerun of the day): %s", describe(self.bucket, done))
            return done
        remaining = (self.window_closes(context) - datetime.now(timezone.utc)).total_seconds()
        if remaining <= 0:
            keys = self._look()
            if keys:
                return keys
            raise AirflowSkipException(f"nothing at {self._where} and its landing window closed at "
                                       f"{self.window_closes(context):%Y-%m-%d %H:%M} UTC")
        self.timeout = remaining
        return super().execute(context)

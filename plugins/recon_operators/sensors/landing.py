"""Wait for an extract to land in S3 (e.g. the BRM billing file that starts Mini Recon 3's BRM leg).

Deferrable by default: one synchronous look first (the file is often already there), then the
wait moves to the triggerer (``LandingTrigger``) and frees the worker slot. A file that does not
land in time fails the sensor without retry, naming the S3 location, so the run cannot turn green
with a reconciliation that never ran.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, NoReturn

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from recon_operators.sensors.verdict import fail_without_retry
from recon_operators.triggers.landing import LANDED, TIMEOUT, LandingTrigger, describe, matching_keys

_BACKSTOP = timedelta(minutes=5)  # Airflow's own deferral timeout, after the trigger's deadline


class S3LandingSensor(BaseSensorOperator):
    """Succeed when ``s3://bucket/key`` (a glob when ``wildcard``) holds a non-empty object.

    Returns the matching keys to XCom. ``timeout`` (seconds) bounds the wait in both modes.
    """

    template_fields: Sequence[str] = ("bucket", "key")
    ui_color = "#fdebd0"

    def __init__(
        self,
        *,
        bucket: str,
        key: str,
        wildcard: bool = False,
        aws_conn_id: str = "aws_default",
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket = bucket
        self.key = key
        self.wildcard = wildcard
        self.aws_conn_id = aws_conn_id
        self.deferrable = deferrable

    @property
    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _look(self) -> list[str]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        if not self.bucket or not self.key or "{{" in self.key:
            raise AirflowFailException(f"landing location {self._where!r} is incomplete after templating")
        return matching_keys(S3Hook(aws_conn_id=self.aws_conn_id).get_conn(), self.bucket, self.key, self.wildcard)

    def _fail(self, message: str) -> NoReturn:
        fail_without_retry(self, message)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        keys = self._look()
        if keys:
            self.log.info("landed: %s", describe(self.bucket, keys))
            return keys
        self.log.info(
            "nothing at %s yet; deferring (poll every %ss, timeout %ss)", self._where, self.poke_interval, self.timeout
        )
        self.defer(
            trigger=LandingTrigger(
                bucket=self.bucket,
                key=self.key,
                wildcard=self.wildcard,
                aws_conn_id=self.aws_conn_id,
                poll_interval=self.poke_interval,
                deadline=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + _BACKSTOP,
        )

    def execute_complete(self, context: Any, event: Mapping[str, Any] | None = None) -> list[str]:
        if not event:
            raise AirflowFailException(f"landing trigger for {self._where} resumed without an event")
        if event.get("status") == LANDED:
            keys = list(event.get("keys") or [])
            self.log.info("landed after %s poll(s): %s", event.get("polls"), describe(self.bucket, keys))
            return keys
        if event.get("status") == TIMEOUT:
            self._fail(str(event.get("message")))
        raise AirflowFailException(f"landing trigger for {self._where}: unknown event {event.get('status')!r}")

    def poke(self, context: Any) -> bool | PokeReturnValue:
        keys = self._look()
        return PokeReturnValue(is_done=True, xcom_value=keys) if keys else False

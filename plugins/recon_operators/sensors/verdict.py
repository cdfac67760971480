"""How the project's sensors end a wait that cannot succeed: one place for the soft_fail rule."""

from __future__ import annotations

from typing import Any, NoReturn

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException


def fail_without_retry(sensor: Any, message: str) -> NoReturn:
    """Fail the sensor without retry (a retry reads the same ledger or bucket and cannot change
    the outcome), or skip it when it was built with ``soft_fail`` / ``never_fail``."""
    if sensor.soft_fail or sensor.never_fail:
        raise AirflowSkipException(f"{message} (skipped: soft_fail/never_fail)")
    raise AirflowFailException(message)

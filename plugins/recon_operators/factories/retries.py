"""Retries for the generated DAGs: exponential backoff with random jitter.

Why not a fixed delay: mapped batch tasks that fail together (a database restart, a lock
timeout) retried together 30 s later and collided again. Airflow's own exponential backoff
(``retry_exponential_backoff``) jitters by a hash of dag, task, logical date and try number,
but not the map index, so every batch of one mapped task still gets the same delay. The
``JitteredBackoff`` policy (Airflow 3.3 ``retry_policy``, evaluated in the worker) draws each
retry's delay at random from the upper half of the exponential step; Airflow's backoff with
``max_retry_delay`` stays configured as the fallback for failures decided outside the worker
(a lost heartbeat). A retry is safe: every load and report replaces its own batch's rows.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

RETRIES = 2
BASE_DELAY = timedelta(seconds=20)
MAX_DELAY = timedelta(minutes=5)
FACTOR = 2.0


class JitteredBackoff(RetryPolicy):
    """Retry after a random delay in [step / 2, step], step = base * factor ** (try - 1), capped."""

    def __init__(self, base: timedelta = BASE_DELAY, factor: float = FACTOR, cap: timedelta = MAX_DELAY) -> None:
        if base <= timedelta(0) or factor < 1 or cap < base:
            raise ValueError("backoff needs base > 0, factor >= 1 and cap >= base")
        self.base, self.factor, self.cap = base, factor, cap

    def step(self, try_number: int) -> timedelta:
        """The longest delay after failed try ``try_number`` (1-based)."""
        seconds = self.base.total_seconds() * self.factor ** max(try_number - 1, 0)
        return min(timedelta(seconds=seconds), self.cap)

    def evaluate(self, exception: BaseException, try_number: int, max_tries: int, context: Any = None) -> RetryDecision:
        step = self.step(try_number).total_seconds()
        delay = timedelta(seconds=random.uniform(step / 2, step))
        return RetryDecision.retry(
            delay=delay,
            reason=f"try {try_number} failed ({type(exception).__name__}); "
            f"retrying in {delay.total_seconds():.0f} s (jittered backoff)",
        )


def retry_args(retries: int = RETRIES, base: timedelta = BASE_DELAY) -> dict[str, Any]:
    """``default_args`` entries for retries with jittered exponential backoff from ``base``."""
    cap = max(MAX_DELAY, base)
    return {
        "retries": retries,
        "retry_delay": base,
        "retry_exponential_backoff": FACTOR,
        "max_retry_delay": cap,
        "retry_policy": JitteredBackoff(base=base, cap=cap),
    }

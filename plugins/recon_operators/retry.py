"""Retry with exponential backoff for the errors that mean "not now" rather than "never".

DynamoDB throttles (``ProvisionedThroughputExceededException``, ``ThrottlingException``) and
hands back unprocessed items; MariaDB reports deadlocks and lock wait timeouts. Retrying those
at once lines the retries up again, so each attempt waits twice as long as the last, with jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

THROTTLING_CODES = (
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
)


class RetriesExhausted(RuntimeError):
    """Every attempt hit a transient error; the message says what and how often."""


@dataclass(frozen=True)
class Backoff:
    """``attempts`` tries, waiting ``base`` s, then ``base * factor``..., at most ``cap`` s, each
    wait shortened by up to ``jitter`` (a fraction) so concurrent writers do not retry in step."""

    attempts: int = 8
    base: float = 0.05
    factor: float = 2.0
    cap: float = 5.0
    jitter: float = 0.5

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        full = min(self.cap, self.base * self.factor ** (attempt - 1))
        return full * (1 - self.jitter * random.random())

    def run(
        self,
        action: Callable[[], T],
        transient: Callable[[BaseException], str | None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> T:
        """``action()`` until it succeeds; ``transient(exc)`` names an error worth retrying (else it
        is raised at once). After the last attempt ``RetriesExhausted`` names the error."""
        for attempt in range(1, self.attempts + 1):
            try:
                return action()
            except Exception as exc:
                reason = transient(exc)
                if reason is None:
                    raise
                if attempt == self.attempts:
                    raise RetriesExhausted(f"{reason}, still after {self.attempts} attempts") from None
                sleep(self.delay(attempt))
        raise AssertionError("unreachable")


def aws_throttling(exc: BaseException) -> str | None:
    """The AWS error code of a throttling/transient ``ClientError``, else None."""
    response = getattr(exc, "response", None)
    code = (response or {}).get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code if code in THROTTLING_CODES else None

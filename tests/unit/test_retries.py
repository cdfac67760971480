"""Retries back off exponentially with random jitter, so batches that failed together spread out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recon_operators.factories.retries import JitteredBackoff, retry_args


def test_each_retry_waits_a_random_delay_in_the_upper_half_of_a_doubling_step():
    policy = JitteredBackoff(base=timedelta(seconds=20), factor=2.0, cap=timedelta(minutes=5))
    for try_number, step in ((1, 20), (2, 40), (3, 80), (4, 160), (5, 300), (9, 300)):
        delays = [
            policy.evaluate(RuntimeError("deadlock"), try_number, 10).retry_delay.total_seconds() for _ in range(50)
        ]
        assert all(step / 2 <= d <= step for d in delays), (try_number, min(delays), max(delays))
        assert len(set(delays)) > 40  # drawn per retry: batches failing together do not retry together


def test_the_decision_retries_and_says_why():
    decision = JitteredBackoff().evaluate(TimeoutError("lock wait"), 1, 3)
    assert decision.action.value == "retry" and "TimeoutError" in decision.reason and "jittered" in decision.reason


def test_default_args_keep_airflows_own_backoff_as_the_fallback():
    args = retry_args(retries=3)
    assert args["retries"] == 3 and args["retry_exponential_backoff"] == 2.0
    assert args["max_retry_delay"] == timedelta(minutes=5) and isinstance(args["retry_policy"], JitteredBackoff)


@pytest.mark.parametrize("kwargs", [{"base": timedelta(0)}, {"factor": 0.5}, {"cap": timedelta(seconds=1)}])
def test_nonsense_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match="backoff needs"):
        JitteredBackoff(**kwargs)

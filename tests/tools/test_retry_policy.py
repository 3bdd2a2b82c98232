"""RetryPolicy: backoff arithmetic and validation."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.tools import RetryPolicy


def test_exponential_backoff_is_capped() -> None:
    policy = RetryPolicy(max_attempts=5, initial_delay=0.1, backoff=3.0, max_delay=0.5)
    assert [round(policy.delay(n), 6) for n in (1, 2, 3, 4)] == [0.1, 0.3, 0.5, 0.5]


def test_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(initial_delay=1.0, backoff=1.0, jitter=0.25)
    delays = {policy.delay(1) for _ in range(50)}
    assert all(0.75 <= d <= 1.25 for d in delays)
    assert len(delays) > 1


def test_should_retry_respects_attempts_and_types() -> None:
    policy = RetryPolicy(max_attempts=2, retry_on=(ConnectionError,))
    assert policy.should_retry(ConnectionError(), 1)
    assert not policy.should_retry(ConnectionError(), 2)
    assert not policy.should_retry(ValueError(), 1)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"initial_delay": -1}, {"backoff": 0.5}, {"jitter": 2.0}],
)
def test_bad_values_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]

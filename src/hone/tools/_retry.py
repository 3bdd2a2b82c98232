"""How a failing tool call is tried again."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hone.errors import ConfigError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Try a failing tool call again, waiting longer each time (exponential backoff).

    The wait after failed attempt ``n`` (1-based) is
    ``min(initial_delay * backoff ** (n - 1), max_delay)``, spread by ``± jitter`` of itself.
    Only exceptions in ``retry_on`` are retried (a timeout is ``TimeoutError``); invalid
    arguments never are, since sending the same arguments again cannot help.
    """

    #: Attempts in all, the first one included (1 means no retry).
    max_attempts: int = 3
    #: Seconds to wait after the first failure.
    initial_delay: float = 0.5
    #: Factor by which the wait grows after each further failure.
    backoff: float = 2.0
    #: Upper bound of one wait, in seconds.
    max_delay: float = 30.0
    #: Exception types worth another attempt.
    retry_on: tuple[type[Exception], ...] = (Exception,)
    #: Fraction (0-1) of each wait that is randomised, so concurrent retries spread out.
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(
                f"RetryPolicy.max_attempts must be at least 1, got {self.max_attempts}"
            )
        if self.initial_delay < 0 or self.max_delay < 0 or self.backoff < 1:
            raise ConfigError(
                "RetryPolicy needs initial_delay >= 0, max_delay >= 0 and backoff >= 1; got "
                f"{self.initial_delay}, {self.max_delay} and {self.backoff}"
            )
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"RetryPolicy.jitter must lie in [0, 1], got {self.jitter}")

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether to try again after ``exc`` ended attempt number ``attempt``."""
        return attempt < self.max_attempts and isinstance(exc, self.retry_on)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) failed."""
        base = min(self.initial_delay * self.backoff ** (attempt - 1), self.max_delay)
        if self.jitter:
            base *= 1 + self.jitter * (2 * random.random() - 1)
        return max(base, 0.0)

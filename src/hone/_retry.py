"""The one retry policy, shared by graph nodes and tools.

:class:`RetryPolicy` has LangGraph's fields and defaults, so a LangGraph program's policies
read unchanged, and one policy object serves a node (``add_node(..., retry_policy=...)``) and
a tool (``@tool(retry=...)``) alike. ``hone.graph.RetryPolicy`` and ``hone.tools.RetryPolicy``
are this class.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hone.errors import ConfigError

__all__ = ["RetryOn", "RetryPolicy", "default_retry_on"]

#: Which exceptions are retried: a type, a sequence of types, or a predicate.
RetryOn = type[BaseException] | Sequence[type[BaseException]] | Callable[[BaseException], bool]

_PROGRAMMING_ERRORS = (
    ValueError,
    TypeError,
    ArithmeticError,
    ImportError,
    LookupError,
    NameError,
    SyntaxError,
    RuntimeError,
    ReferenceError,
    StopIteration,
    StopAsyncIteration,
    OSError,
)


def default_retry_on(exc: BaseException) -> bool:
    """LangGraph's default: retry connection errors and HTTP 5xx answers, never programming
    errors (``ValueError``, ``KeyError``, ``TypeError``, ...) or other OS errors (a timeout,
    ``TimeoutError``, is one: name it in ``retry_on`` to retry it)."""
    if isinstance(exc, ConnectionError):
        return True
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a hone dependency
        httpx = None  # type: ignore[assignment]
    if httpx is not None and isinstance(exc, httpx.HTTPStatusError):
        return 500 <= exc.response.status_code < 600
    return not isinstance(exc, _PROGRAMMING_ERRORS)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Try a failing node or tool call again, waiting longer each time (exponential backoff).

    The wait after failed attempt ``n`` (1-based) is
    ``min(initial_interval * backoff_factor ** (n - 1), max_interval)`` seconds, plus a random
    0-1 second when ``jitter`` is on (so concurrent retries spread out). Only exceptions that
    ``retry_on`` accepts are retried. A tool call whose arguments the schema rejects is never
    retried: the same arguments would fail again.

    Raises:
        ConfigError: ``max_attempts`` below 1, a negative interval, a ``backoff_factor`` that
            is not positive, or a ``retry_on`` that is neither exception types nor a function.
    """

    #: Seconds to wait after the first failure.
    initial_interval: float = 0.5
    #: Factor by which the wait grows after each further failure.
    backoff_factor: float = 2.0
    #: Upper bound of one wait, in seconds (jitter comes on top).
    max_interval: float = 128.0
    #: Attempts in all, the first one included (1 means no retry).
    max_attempts: int = 3
    #: Add a random 0-1 second to each wait.
    jitter: bool = True
    #: Exception types to retry, or a predicate on the exception.
    retry_on: RetryOn = default_retry_on

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(
                f"RetryPolicy.max_attempts counts the first attempt too, so it must be at "
                f"least 1; got {self.max_attempts}"
            )
        if self.initial_interval < 0 or self.max_interval < 0 or self.backoff_factor <= 0:
            raise ConfigError(
                "RetryPolicy needs initial_interval >= 0, max_interval >= 0 and "
                f"backoff_factor > 0; got {self.initial_interval}, {self.max_interval} and "
                f"{self.backoff_factor}"
            )
        if not _valid_retry_on(self.retry_on):
            raise ConfigError(
                "RetryPolicy.retry_on must be an exception type, a sequence of them, or a "
                f"function of the exception; got {self.retry_on!r}"
            )

    def matches(self, exc: BaseException) -> bool:
        """Whether ``retry_on`` accepts ``exc``."""
        on: Any = self.retry_on
        if isinstance(on, type):
            return isinstance(exc, on)
        if isinstance(on, Sequence):
            return isinstance(exc, tuple(on))
        return bool(on(exc))

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether to try again after ``exc`` ended attempt number ``attempt`` (1-based)."""
        return attempt < self.max_attempts and self.matches(exc)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) failed."""
        base = min(self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1))
        return base + (random.uniform(0, 1) if self.jitter else 0.0)


def _valid_retry_on(on: object) -> bool:
    if isinstance(on, type):
        return issubclass(on, BaseException)
    if isinstance(on, Sequence) and not isinstance(on, str | bytes):
        return all(isinstance(t, type) and issubclass(t, BaseException) for t in on)
    return callable(on)

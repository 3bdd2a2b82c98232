"""What :class:`ModelRetryMiddleware` and :class:`ToolRetryMiddleware` share: which failures
are retried (``retry_on``), what happens when the retries run out (``on_failure``), the wait
between attempts (exponential backoff, capped, with ±25% jitter), and the retry loop itself,
written once and driven by a sync and an async shell.

These are LangChain's middleware semantics (``max_retries`` counts retries after the first
call; ``backoff_factor=0`` means a constant wait; the jitter is relative), which differ from
LangGraph's node :class:`~hone.graph.RetryPolicy`, so the middleware keep their own rules.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, TypeVar

from hone.errors import (
    CapabilityError,
    ContextOverflowError,
    ModelAuthError,
    ModelLoadError,
    ModelNotFoundError,
    is_invalid_resume,
)
from hone.graph import GraphBubbleUp

__all__ = [
    "OnFailure",
    "RetryOn",
    "RetrySettings",
    "calculate_delay",
    "default_retry_on",
    "failure_text",
    "is_control_signal",
    "retry_async",
    "retry_sync",
    "should_retry_exception",
    "validate_retry_params",
]

T = TypeVar("T")

#: Which failures are retried: exception types (an ``isinstance`` check) or a predicate.
RetryOn: TypeAlias = tuple[type[Exception], ...] | Callable[[Exception], bool]

#: What happens when the retries run out: ``"error"`` re-raises the last exception,
#: ``"continue"`` answers with a message describing it (an assistant message for a model
#: call, an error tool message for a tool call), a function turns the exception into the
#: text of that message.
OnFailure: TypeAlias = Literal["error", "continue"] | Callable[[Exception], str]

#: hone's model errors that the same request cannot get past (bad key, unknown model,
#: a prompt too long, ...): never retried by default, as LangChain's non-retryable ones.
_NOT_RETRYABLE = (
    ModelAuthError,
    ModelNotFoundError,
    ModelLoadError,
    ContextOverflowError,
    CapabilityError,
)


def validate_retry_params(
    max_retries: int, initial_delay: float, max_delay: float, backoff_factor: float
) -> None:
    """Check the numbers a retry middleware is given.

    Raises:
        ValueError: a negative retry count, delay, delay cap or backoff factor.
    """
    checks = (
        ("max_retries", max_retries),
        ("initial_delay", initial_delay),
        ("max_delay", max_delay),
        ("backoff_factor", backoff_factor),
    )
    for name, value in checks:
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


def default_retry_on(exc: BaseException) -> bool:
    """Retry any exception except those known not to go away: a model error marked
    ``is_retryable = False`` (LangChain's ``ModelError`` family), and hone's model errors
    of the same kind (authentication, unknown model, load failure, context overflow,
    missing capability). ``BaseException``s that are not ``Exception``s are never retried."""
    if not isinstance(exc, Exception):
        return False
    marked = getattr(type(exc), "is_retryable", None)
    if isinstance(marked, bool):
        return marked
    return not isinstance(exc, _NOT_RETRYABLE)


def should_retry_exception(exc: Exception, retry_on: RetryOn) -> bool:
    """Whether ``retry_on`` (exception types, or a predicate) accepts ``exc``."""
    if isinstance(retry_on, tuple):
        return isinstance(exc, retry_on)
    return bool(retry_on(exc))


def calculate_delay(
    retry_number: int,
    *,
    backoff_factor: float,
    initial_delay: float,
    max_delay: float,
    jitter: bool,
) -> float:
    """Seconds to wait before retry ``retry_number`` (0 for the first retry):
    ``initial_delay * backoff_factor ** retry_number`` (just ``initial_delay`` when the
    factor is 0), at most ``max_delay``, then moved by up to ±25% when ``jitter`` is on so
    that clients failing together do not retry together."""
    base = initial_delay if backoff_factor == 0 else initial_delay * backoff_factor**retry_number
    delay = min(base, max_delay)
    if jitter and delay > 0:
        spread = delay / 4
        delay = max(0.0, delay + random.uniform(-spread, spread))
    return delay


def is_control_signal(exc: BaseException) -> bool:
    """Whether ``exc`` is a graph's control signal (an interrupt, a command for the parent
    graph), which must pass through untouched: hone's, or LangGraph's when LangGraph is
    loaded (never importing it); or an interrupt's rejected answer, which retrying or
    falling back cannot fix."""
    if isinstance(exc, GraphBubbleUp) or is_invalid_resume(exc):
        return True
    errors = sys.modules.get("langgraph.errors")
    bubble = getattr(errors, "GraphBubbleUp", None)
    return isinstance(bubble, type) and isinstance(exc, bubble)


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """A retry middleware's configuration: how many retries, which failures, the backoff."""

    max_retries: int
    retry_on: RetryOn
    backoff_factor: float
    initial_delay: float
    max_delay: float
    jitter: bool

    @classmethod
    def of(cls, middleware: Any) -> RetrySettings:
        """The settings a retry middleware holds now (read at each call: its attributes are
        public and may change after it was built)."""
        return cls(
            max_retries=middleware.max_retries,
            retry_on=middleware.retry_on,
            backoff_factor=middleware.backoff_factor,
            initial_delay=middleware.initial_delay,
            max_delay=middleware.max_delay,
            jitter=middleware.jitter,
        )

    def delay_before(self, attempt: int) -> float | None:
        """Seconds to wait before attempt number ``attempt + 1`` once attempt number
        ``attempt`` (1-based) has failed, or None when no attempt is left."""
        if attempt > self.max_retries:
            return None
        return calculate_delay(
            attempt - 1,
            backoff_factor=self.backoff_factor,
            initial_delay=self.initial_delay,
            max_delay=self.max_delay,
            jitter=self.jitter,
        )


def retry_sync(
    settings: RetrySettings,
    attempt: Callable[[], T],
    exhausted: Callable[[Exception, int], T],
) -> T:
    """Call ``attempt`` until it succeeds or the retries run out; then the answer of
    ``exhausted(last exception, attempts made)``. Control signals pass straight through.

    Raises:
        Exception: a failure ``retry_on`` does not accept, or what ``exhausted`` raises.
    """
    made = 0
    while True:
        try:
            return attempt()
        except Exception as exc:
            # Control signals pass through; failures retry_on rejects go unhandled.
            if is_control_signal(exc) or not should_retry_exception(exc, settings.retry_on):
                raise
            made += 1
            delay = settings.delay_before(made)
            if delay is None:
                return exhausted(exc, made)
            if delay > 0:
                time.sleep(delay)


async def retry_async(
    settings: RetrySettings,
    attempt: Callable[[], Awaitable[T]],
    exhausted: Callable[[Exception, int], T],
) -> T:
    """Async :func:`retry_sync` (the waits do not block the event loop).

    Raises:
        Exception: a failure ``retry_on`` does not accept, or what ``exhausted`` raises.
    """
    made = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            # Control signals pass through; failures retry_on rejects go unhandled.
            if is_control_signal(exc) or not should_retry_exception(exc, settings.retry_on):
                raise
            made += 1
            delay = settings.delay_before(made)
            if delay is None:
                return exhausted(exc, made)
            if delay > 0:
                await asyncio.sleep(delay)


def failure_text(on_failure: OnFailure, exc: Exception, default: str) -> str:
    """The text of the message answering a call whose retries ran out: ``on_failure``'s
    own when it is a function, ``default`` otherwise.

    Raises:
        Exception: ``exc`` itself, when ``on_failure`` is ``"error"``.
    """
    if on_failure == "error":
        raise exc
    if callable(on_failure):
        return on_failure(exc)
    return default

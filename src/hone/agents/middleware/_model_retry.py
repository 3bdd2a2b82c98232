"""``ModelRetryMiddleware``: call the model again when it fails, waiting longer each time,
and when the retries run out either raise or answer with an assistant message that says
what went wrong (LangChain's ``ModelRetryMiddleware``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._retry import (
    OnFailure,
    RetryOn,
    RetrySettings,
    default_retry_on,
    failure_text,
    retry_async,
    retry_sync,
    validate_retry_params,
)
from hone.agents.middleware._types import ModelRequest, ModelResponse
from hone.interop import is_langchain_message, to_langchain
from hone.interop._model import is_langchain_chat_model
from hone.messages import AssistantMessage

__all__ = ["ModelRetryMiddleware"]


def _speaks_langchain(request: ModelRequest[Any]) -> bool:
    """Whether the answer must be LangChain's message: the conversation is in LangChain's
    messages, or (with none yet) the model is a LangChain chat model."""
    if request.messages:
        return any(is_langchain_message(m) for m in request.messages)
    return is_langchain_chat_model(request.model)


class ModelRetryMiddleware(AgentMiddleware[Any, Any, Any]):
    """Retry failed model calls with exponential backoff.

    Each failure that ``retry_on`` accepts is retried, up to ``max_retries`` times after
    the first call, waiting ``initial_delay * backoff_factor ** n`` seconds before retry
    ``n`` (0-based; capped at ``max_delay``; ±25% when ``jitter``). A failure ``retry_on``
    rejects propagates at once. When the retries run out, ``on_failure`` decides:
    ``"continue"`` answers with an assistant message naming the error and the attempts
    made, ``"error"`` re-raises, a function gives the message's text. Graph control
    signals (interrupts) always pass through.

    Args:
        max_retries: retries after the first call (>= 0).
        retry_on: exception types to retry, or a predicate; by default every exception
            but model errors that retrying cannot fix (see :func:`default_retry_on`).
        on_failure: ``"continue"``, ``"error"`` or ``exception -> message text``.
        backoff_factor: growth of the wait per retry (0: a constant wait).
        initial_delay: seconds before the first retry.
        max_delay: the longest wait, in seconds.
        jitter: move each wait by up to ±25%.

    Raises:
        ValueError: a negative count, delay or factor.
    """

    def __init__(
        self,
        *,
        max_retries: int = 2,
        retry_on: RetryOn = default_retry_on,
        on_failure: OnFailure = "continue",
        backoff_factor: float = 2.0,
        initial_delay: float = 1.0,
        max_delay: float = 60.0,
        jitter: bool = True,
    ) -> None:
        validate_retry_params(max_retries, initial_delay, max_delay, backoff_factor)
        self.max_retries = max_retries
        self.retry_on = retry_on
        self.on_failure = on_failure
        self.backoff_factor = backoff_factor
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.tools = []  # adds no tools to the agent

    def _exhausted(self, request: ModelRequest[Any]) -> Callable[[Exception, int], Any]:
        """The answer once the retries ran out (or the re-raise ``"error"`` asks for)."""

        def answer(exc: Exception, attempts: int) -> ModelResponse[Any]:
            plural = "attempt" if attempts == 1 else "attempts"
            default = (
                f"Model call failed after {attempts} {plural} with {type(exc).__name__}: {exc}"
            )
            message = AssistantMessage(content=failure_text(self.on_failure, exc, default))
            reply = to_langchain(message) if _speaks_langchain(request) else message
            return ModelResponse(result=[reply])

        return answer

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """Call ``handler`` until it succeeds or the retries run out.

        Raises:
            Exception: a failure ``retry_on`` rejects; the last failure with
                ``on_failure="error"``.
        """
        return retry_sync(
            RetrySettings.of(self), lambda: handler(request), self._exhausted(request)
        )

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Async :meth:`wrap_model_call`.

        Raises:
            Exception: a failure ``retry_on`` rejects; the last failure with
                ``on_failure="error"``.
        """
        return await retry_async(
            RetrySettings.of(self), lambda: handler(request), self._exhausted(request)
        )

"""``ToolRetryMiddleware``: run a failing tool call again, waiting longer each time, and
when the retries run out either raise or answer the call with an error tool message the
model can read (LangChain's ``ToolRetryMiddleware``)."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from hone.graph.prebuilt import ToolCallRequest
from hone.interop import is_langchain_message, to_langchain
from hone.messages import ToolMessage

__all__ = ["ToolRetryMiddleware"]

#: Values of ``on_failure`` older LangChain releases took, and what they mean now.
_RENAMED_ON_FAILURE = {"raise": "error", "return_message": "continue"}


def _tool_name(request: ToolCallRequest) -> str:
    tool = request.tool
    name = getattr(tool, "name", None) if tool is not None else None
    return str(name) if name else str(request.tool_call["name"])


def _langchain_state(state: Any) -> bool:
    """Whether the conversation in ``state`` is in LangChain's messages."""
    messages = state.get("messages") if isinstance(state, Mapping) else None
    if messages is None:
        messages = getattr(state, "messages", None)
    return isinstance(messages, Sequence) and any(is_langchain_message(m) for m in messages)


def _current_on_failure(on_failure: Any) -> OnFailure:
    """``on_failure`` with a deprecated value replaced (a ``DeprecationWarning``)."""
    if isinstance(on_failure, str) and on_failure in _RENAMED_ON_FAILURE:
        current = _RENAMED_ON_FAILURE[on_failure]
        warnings.warn(
            f"on_failure={on_failure!r} is deprecated and will be removed in a future "
            f"version. Use on_failure={current!r} instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        return "error" if current == "error" else "continue"
    checked: OnFailure = on_failure
    return checked


class ToolRetryMiddleware(AgentMiddleware[Any, Any, Any]):
    """Retry failed tool calls with exponential backoff.

    A call whose tool raises an exception ``retry_on`` accepts runs again, up to
    ``max_retries`` times, waiting ``initial_delay * backoff_factor ** n`` seconds before
    retry ``n`` (0-based; capped at ``max_delay``; ±25% when ``jitter``). A failure
    ``retry_on`` rejects propagates at once. When the retries run out, ``on_failure``
    decides: ``"continue"`` answers the call with an error tool message naming the tool,
    the error and the attempts made, ``"error"`` re-raises, a function gives the message's
    text. ``tools`` limits the retries to some tools. Graph control signals (interrupts,
    commands for a parent graph) always pass through.

    The middleware sees the exceptions that reach ``wrap_tool_call``: in an agent over
    LangChain messages a tool's exception does; over hone messages the tool node answers a
    tool's failure with an error message itself (errors are values there), so give such
    tools a ``retry=`` policy, and this middleware retries what inner middleware raise.

    Args:
        max_retries: retries after the first attempt (>= 0).
        tools: the tools (or their names) to retry; None: every tool.
        retry_on: exception types to retry, or a predicate (see :func:`default_retry_on`).
        on_failure: ``"continue"``, ``"error"`` or ``exception -> message text``
            (``"raise"`` and ``"return_message"`` are deprecated names of the first two).
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
        tools: Sequence[Any] | None = None,
        retry_on: RetryOn = default_retry_on,
        on_failure: OnFailure = "continue",
        backoff_factor: float = 2.0,
        initial_delay: float = 1.0,
        max_delay: float = 60.0,
        jitter: bool = True,
    ) -> None:
        validate_retry_params(max_retries, initial_delay, max_delay, backoff_factor)
        self.max_retries = max_retries
        self._tool_filter: list[str] | None = (
            None if tools is None else [t if isinstance(t, str) else t.name for t in tools]
        )
        self.retry_on = retry_on
        self.on_failure = _current_on_failure(on_failure)
        self.backoff_factor = backoff_factor
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.tools = []  # adds no tools to the agent

    def _applies_to(self, name: str) -> bool:
        return self._tool_filter is None or name in self._tool_filter

    def _exhausted(self, request: ToolCallRequest, name: str) -> Callable[[Exception, int], Any]:
        """The call's answer once the retries ran out (or the re-raise ``"error"`` asks for)."""

        def answer(exc: Exception, attempts: int) -> Any:
            plural = "attempt" if attempts == 1 else "attempts"
            default = (
                f"Tool '{name}' failed after {attempts} {plural} with "
                f"{type(exc).__name__}: {exc}. Please try again."
            )
            message = ToolMessage(
                content=failure_text(self.on_failure, exc, default),
                tool_call_id=str(request.tool_call.get("id") or ""),
                name=name,
                is_error=True,
            )
            return to_langchain(message) if _langchain_state(request.state) else message

        return answer

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]
    ) -> Any:
        """Run ``handler`` until it succeeds or the retries run out.

        Raises:
            Exception: a failure ``retry_on`` rejects; the last failure with
                ``on_failure="error"``.
        """
        name = _tool_name(request)
        if not self._applies_to(name):
            return handler(request)
        return retry_sync(
            RetrySettings.of(self), lambda: handler(request), self._exhausted(request, name)
        )

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> Any:
        """Async :meth:`wrap_tool_call`.

        Raises:
            Exception: a failure ``retry_on`` rejects; the last failure with
                ``on_failure="error"``.
        """
        name = _tool_name(request)
        if not self._applies_to(name):
            return await handler(request)
        return await retry_async(
            RetrySettings.of(self), lambda: handler(request), self._exhausted(request, name)
        )

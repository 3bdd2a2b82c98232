"""``ToolErrorMiddleware``: chosen exceptions a tool raises become error tool messages the
model reads; the rest propagate (LangChain's ``ToolErrorMiddleware``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._calls import is_langchain_conversation, tool_answer
from hone.errors import is_invalid_resume
from hone.graph._interrupt import GraphBubbleUp
from hone.graph._types import TracePolicy, omit_payload

__all__ = ["AOnError", "OnError", "ToolErrorMiddleware"]

#: ``(exception, request) -> content``: the error text the model reads, or None to let the
#: exception propagate.
OnError: TypeAlias = Callable[[Exception, Any], Any]
#: The async form of :data:`OnError`.
AOnError: TypeAlias = Callable[[Exception, Any], Awaitable[Any]]


class ToolErrorMiddleware(AgentMiddleware[Any, Any, Any]):
    """Answer the exceptions ``on_error`` chooses as error tool messages.

    For each exception a tool's execution raises, ``on_error(exception, request)`` returns
    the content of the error message the model reads, or None to let the exception
    propagate (and end the run). Interrupts and other graph signals always propagate.
    Argument errors never get here: the tool node answers them before the tool runs.

    Args:
        on_error: the handler, used in sync runs (and in async runs without ``aon_error``).
        aon_error: an async handler for async runs.
        tools: the tools (or their names) it applies to; None: all.

    Raises:
        ValueError: neither handler given.
    """

    #: Hook runs record no input (the conversation, tool arguments), as LangChain's.
    trace_policy = TracePolicy(process_inputs=omit_payload)

    def __init__(
        self,
        on_error: OnError | None = None,
        *,
        aon_error: AOnError | None = None,
        tools: Sequence[Any] | None = None,
    ) -> None:
        if on_error is None and aon_error is None:
            raise ValueError("ToolErrorMiddleware requires `on_error` and/or `aon_error`.")
        self.on_error = on_error
        self.aon_error = aon_error
        self._only = None if tools is None else {t if isinstance(t, str) else t.name for t in tools}
        self.tools = []

    def _name(self, request: Any) -> str:
        name = getattr(request.tool, "name", None) if request.tool is not None else None
        return str(name or request.tool_call["name"])

    def _applies(self, request: Any) -> bool:
        return self._only is None or self._name(request) in self._only

    def _answer(self, request: Any, content: Any) -> Any:
        """The error message answering the request's call, in the conversation's family."""
        langchain = is_langchain_conversation(request.state)
        return tool_answer(
            content, request.tool_call["id"], self._name(request), langchain=langchain, error=True
        )

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        """Run the call; answer the exceptions ``on_error`` gives content for.

        Raises:
            RuntimeError: only ``aon_error`` was given (a sync run cannot await it).
        """
        if not self._applies(request):
            return handler(request)
        try:
            return handler(request)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            if is_invalid_resume(exc):
                raise
            if self.on_error is None:
                raise RuntimeError(
                    "ToolErrorMiddleware has no sync `on_error`; run async (ainvoke/astream) "
                    "or provide `on_error`."
                ) from exc
            content = self.on_error(exc, request)
            if content is None:
                raise
            return self._answer(request, content)

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        """Async :meth:`wrap_tool_call` (``aon_error``, else ``on_error``)."""
        if not self._applies(request):
            return await handler(request)
        try:
            return await handler(request)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            if is_invalid_resume(exc):
                raise
            if self.aon_error is not None:
                content = await self.aon_error(exc, request)
            else:
                assert self.on_error is not None
                content = self.on_error(exc, request)
            if content is None:
                raise
            return self._answer(request, content)

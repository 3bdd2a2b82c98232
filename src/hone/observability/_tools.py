"""Tool-call spans: ``execute_tool {tool}`` around each call the executor runs.

Attributes follow the GenAI conventions' execute-tool span: ``gen_ai.tool.name``,
``gen_ai.tool.call.id``, ``gen_ai.tool.type="function"``, ``gen_ai.tool.description`` when
the registry knows the tool; a failed call (unknown tool, bad arguments, an exception, a
timeout, a guardrail's refusal) sets ``error.type`` to hone's error kind and the span status
to error, though the executor returns it as a value. With content capture on, the call's
arguments and its result text (``gen_ai.tool.call.arguments`` / ``gen_ai.tool.call.result``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from hone.observability._config import active_tracer, capture_content
from hone.observability._spans import (
    ERROR_TYPE,
    OPERATION,
    attach,
    context_attributes,
    end_with_error,
    json_attribute,
)

__all__ = ["record_tool_call", "trace_tool_call"]

P = ParamSpec("P")
R = TypeVar("R")


def _call_fields(call: Any) -> tuple[str, str | None, Any]:
    """The name, id and arguments of a hone ``ToolCall`` or LangChain's tool-call dict."""
    if isinstance(call, Mapping):
        return str(call.get("name")), call.get("id"), call.get("args")
    return str(call.name), call.id, call.arguments


def _description(registry: Any, name: str) -> str | None:
    getter = getattr(registry, "get", None)
    tool = getter(name) if callable(getter) else None
    description = getattr(tool, "description", None)
    return description if isinstance(description, str) and description else None


def _attributes(
    name: str, call_id: str | None, arguments: Any, description: str | None
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        OPERATION: "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.type": "function",
        **context_attributes(),
    }
    if call_id:
        attributes["gen_ai.tool.call.id"] = call_id
    if description:
        attributes["gen_ai.tool.description"] = description
    if capture_content() and arguments is not None:
        attributes["gen_ai.tool.call.arguments"] = json_attribute(arguments)
    return attributes


def trace_tool_call(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate ``aexecute_tool_call(call, registry, ...)`` with its ``execute_tool`` span.

    The result (a ``ToolResult``) is read for its error kind and content.
    """

    @functools.wraps(fn)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> R:
        tracer = active_tracer()
        if tracer is None:
            return await fn(*args, **kwargs)
        call = args[0] if args else kwargs["call"]
        registry = args[1] if len(args) > 1 else kwargs.get("registry")
        name, call_id, arguments = _call_fields(call)
        span = tracer.start_span(
            f"execute_tool {name}",
            kind=SpanKind.INTERNAL,
            attributes=_attributes(name, call_id, arguments, _description(registry, name)),
        )
        try:
            with attach(span):
                result = await fn(*args, **kwargs)
            _finish(span, result)
            return result
        except BaseException as exc:
            end_with_error(span, exc)
            raise
        finally:
            span.end()

    return traced


def _finish(span: Any, result: Any) -> None:
    error = getattr(result, "error", None)
    if error is not None:
        span.set_attribute(ERROR_TYPE, str(error))
        span.set_status(Status(StatusCode.ERROR, f"tool call failed: {error}"))
    attempts = getattr(result, "attempts", None)
    if isinstance(attempts, int):
        span.set_attribute("hone.tool.attempts", attempts)
    if getattr(result, "truncated", False):
        span.set_attribute("hone.tool.truncated", True)
    if capture_content():
        content = getattr(result, "content", None)
        if content is not None:
            text = content if isinstance(content, str) else json_attribute(content)
            span.set_attribute("gen_ai.tool.call.result", text)


def record_tool_call(
    name: str,
    call_id: str | None,
    *,
    error: str | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> None:
    """Record a tool call that was decided rather than run (a handoff, say) as a finished
    ``execute_tool`` span; ``error`` names why it was refused."""
    tracer = active_tracer()
    if tracer is None:
        return
    span = tracer.start_span(
        f"execute_tool {name}",
        kind=SpanKind.INTERNAL,
        attributes={**_attributes(name, call_id, None, None), **(attributes or {})},
    )
    if error is not None:
        span.set_attribute(ERROR_TYPE, error)
        span.set_status(Status(StatusCode.ERROR, error))
    span.end()

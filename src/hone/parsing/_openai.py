"""Native OpenAI ``tool_calls``, as a chat-completions server returns them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hone.messages import ToolCall, new_id
from hone.parsing._calls import never_raises
from hone.parsing._hermes import parse_hermes
from hone.parsing._json import lenient_json
from hone.parsing._thinking import split_thinking
from hone.parsing._types import ParsedOutput

__all__ = ["parse_openai_tool_calls"]

_HINT = "Call the tool again with its arguments as one valid JSON object."


def _error(detail: str) -> str:
    return f"Your tool call could not be parsed: {detail}. {_HINT}"


@never_raises
def parse_openai_tool_calls(
    tool_calls: list[dict[str, Any]] | None, content: str | None
) -> ParsedOutput:
    """Read an OpenAI-style assistant turn: ``tool_calls`` plus ``content``.

    Each call's ``function.arguments`` JSON string is decoded strictly, then leniently; when
    that fails the :class:`~hone.messages.ToolCall` keeps the raw string, has ``error`` set,
    and the same problem is listed in ``errors``. Ids the server gave are kept. ``<think>``
    reasoning left in ``content`` is split off. When the server returned no ``tool_calls``
    but the content holds ``<tool_call>`` blocks (a server without a tool parser), they are
    parsed as Hermes calls. Never raises.
    """
    text = content if isinstance(content, str) else ""
    if not tool_calls and "tool_call" in text:
        hermes = parse_hermes(text)
        if hermes.tool_calls or hermes.errors:
            return hermes
    reasoning, rest, _ = split_thinking(text)
    calls: list[ToolCall] = []
    errors: list[str] = []
    for raw in tool_calls or ():
        call, error = _read_call(raw)
        if call is not None:
            calls.append(call)
        if error is not None:
            errors.append(_error(error))
    return ParsedOutput(
        content=rest, reasoning=reasoning, tool_calls=tuple(calls), errors=tuple(errors)
    )


def _read_call(raw: Any) -> tuple[ToolCall | None, str | None]:
    if not isinstance(raw, Mapping):
        return None, f"a tool call must be an object, got {type(raw).__name__}"
    function = raw.get("function", raw)
    if not isinstance(function, Mapping):
        return None, '"function" must be an object with "name" and "arguments"'
    name = function.get("name")
    if not isinstance(name, str) or not name.strip():
        return None, 'the call has no "name" string saying which tool to call'
    name = name.strip()
    call_id = raw.get("id")
    call_id = call_id if isinstance(call_id, str) and call_id else new_id("call_")
    arguments = function.get("arguments")
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return ToolCall(id=call_id, name=name, arguments={}, raw_arguments=arguments), None
    if isinstance(arguments, Mapping):
        return ToolCall(id=call_id, name=name, arguments=dict(arguments)), None
    raw_text = arguments if isinstance(arguments, str) else json.dumps(arguments, default=str)
    value, error = lenient_json(raw_text)
    if error is None and isinstance(value, Mapping):
        return ToolCall(id=call_id, name=name, arguments=dict(value), raw_arguments=raw_text), None
    if error is None:
        detail = f"the arguments of {name!r} must be a JSON object, got {raw_text[:60]!r}"
    else:
        detail = f"the arguments of {name!r} are not valid JSON ({error})"
    return ToolCall(id=call_id, name=name, raw_arguments=raw_text, error=detail), detail

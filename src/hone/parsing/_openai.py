"""Native OpenAI ``tool_calls``, as a chat-completions server returns them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hone.messages import ToolCall, new_id
from hone.parsing._calls import cut_off_error, never_raises
from hone.parsing._hermes import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, parse_hermes
from hone.parsing._json import json_span_finder, lenient_json
from hone.parsing._thinking import any_span, split_thinking, tag_spans
from hone.parsing._types import ParsedOutput

__all__ = ["parse_openai_tool_calls"]

_HINT = "Call the tool again with its arguments as one valid JSON object."
_DATA_SPANS = any_span(tag_spans(TOOL_CALL_OPEN, TOOL_CALL_CLOSE), json_span_finder)


def _error(detail: str) -> str:
    return f"Your tool call could not be parsed: {detail}. {_HINT}"


@never_raises
def parse_openai_tool_calls(
    tool_calls: list[dict[str, Any]] | None, content: str | None, *, truncated: bool = False
) -> ParsedOutput:
    """Read an OpenAI-style assistant turn: ``tool_calls`` plus ``content``.

    Each call's ``function.arguments`` JSON string is decoded strictly, then leniently; when
    that fails the :class:`~hone.messages.ToolCall` keeps the raw string, has ``error`` set,
    and the same problem is listed in ``errors``. Ids the server gave are kept. ``<think>``
    reasoning left in ``content`` is split off. When the server returned no ``tool_calls``
    but the content holds ``<tool_call>`` blocks (a server without a tool parser), they are
    parsed as Hermes calls.

    ``truncated``: the server stopped at the token limit (``finish_reason == "length"``), so
    a call whose arguments are not whole JSON is reported, not repaired and run (see
    :class:`ParsedOutput`). Never raises.
    """
    text = content if isinstance(content, str) else ""
    if not tool_calls and "tool_call" in text:
        hermes = parse_hermes(text, truncated=truncated)
        if hermes.tool_calls or hermes.errors:
            return hermes
    reasoning, rest, _ = split_thinking(text, protect=_DATA_SPANS)
    calls: list[ToolCall] = []
    errors: list[str] = []
    raw_calls = list(tool_calls or ())
    cut = truncated and bool(raw_calls) and not _whole_arguments(raw_calls[-1])
    for raw in raw_calls[:-1] if cut else raw_calls:  # only the last call can have been cut
        call, error = _read_call(raw)
        if call is not None:
            calls.append(call)
        if error is not None:
            errors.append(_error(error))
    if cut:
        errors.append(cut_off_error("a tool call's arguments"))
    return ParsedOutput(
        content=rest,
        reasoning=reasoning,
        tool_calls=tuple(calls),
        errors=tuple(errors),
        truncated=truncated,
    )


def _whole_arguments(raw: Any) -> bool:
    """Whether a call's arguments are whole without closing brackets the cut left open."""
    function = raw.get("function", raw) if isinstance(raw, Mapping) else None
    arguments = function.get("arguments") if isinstance(function, Mapping) else None
    if not isinstance(arguments, str) or not arguments.strip():
        return True  # nothing to repair: an object, no arguments, or a malformed call
    return lenient_json(arguments, allow_unclosed=False)[1] is None


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

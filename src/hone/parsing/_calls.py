"""Shared pieces of the parsers: building tool calls, the never-raise safety net, the errors
for replies cut off at the token limit, and reading the tools' JSON schemas."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeAlias

from hone.messages import ToolCall, new_id
from hone.parsing._json import lenient_json
from hone.parsing._types import ParsedOutput

__all__ = [
    "CUT_OFF_AFTER_CALL_ERROR",
    "CUT_OFF_PREFIX",
    "INTERNAL_ERROR",
    "ToolSchemas",
    "arguments_from",
    "cut_off_error",
    "ends_in_partial_tag",
    "input_arguments",
    "make_call",
    "never_raises",
    "tool_parameters",
]

logger = logging.getLogger(__name__)

P = ParamSpec("P")

#: The tools offered to the model, in OpenAI's shape ``{"type": "function", "function": {...}}``
#: (a bare ``{"name", "parameters"}`` object is read too).
ToolSchemas: TypeAlias = Sequence[Mapping[str, Any]]

#: How every error about a reply cut off at the token limit begins.
CUT_OFF_PREFIX = "Your reply was cut off at the token limit"

#: For a reply whose tool calls were whole but which went on until the token limit: the calls
#: are kept and run, and this error records that the reply was suspect.
CUT_OFF_AFTER_CALL_ERROR = (
    "Your reply went on after its tool call until it was cut off at the token limit. "
    "End your reply right after the last tool call."
)

#: The error a parser returns if it hit a bug; tests assert it never appears.
INTERNAL_ERROR = (
    "Your output could not be parsed because of an internal parser problem; "
    "please repeat your last step in the expected format."
)


def never_raises(parser: Callable[P, ParsedOutput]) -> Callable[P, ParsedOutput]:
    """Make a bug in ``parser`` an error value (logged), so no model output can crash a run."""

    @functools.wraps(parser)
    def safe(*args: P.args, **kwargs: P.kwargs) -> ParsedOutput:
        try:
            return parser(*args, **kwargs)
        except Exception:
            logger.exception("parser %s failed; returning an error value", parser.__name__)
            text = args[0] if args and isinstance(args[0], str) else ""
            cut = kwargs.get("truncated") is True
            return ParsedOutput(content=text, errors=(INTERNAL_ERROR,), truncated=cut)

    return safe


def cut_off_error(what: str) -> str:
    """The error for a reply cut off at the token limit inside ``what`` (so nothing ran)."""
    return (
        f"{CUT_OFF_PREFIX} in the middle of {what}, so it was not run. Make the call again "
        "with a shorter reply (less reasoning before it, shorter arguments)."
    )


def ends_in_partial_tag(text: str, *tags: str) -> bool:
    """Whether ``text`` ends with the first three or more characters of one of ``tags`` (the
    cut at the token limit fell inside the tag that opens a tool call)."""
    tail = text.rstrip()[-max(len(t) for t in tags) :] if tags else ""
    return any(tail.endswith(tag[:size]) for tag in tags for size in range(3, len(tag)))


def tool_parameters(tools: ToolSchemas, name: str) -> Mapping[str, Any] | None:
    """The JSON schema of the parameters of the tool called ``name``, if it is offered."""
    for tool in tools:
        function = tool.get("function", tool)
        if isinstance(function, Mapping) and function.get("name") == name:
            parameters = function.get("parameters")
            return parameters if isinstance(parameters, Mapping) else None
    return None


def input_arguments(value: Any, name: str, tools: ToolSchemas) -> dict[str, Any]:
    """Arguments for a tool given one plain value (a string, a number, a list).

    As LangChain does, the value goes to the tool's first parameter when its schema is
    known, and to ``"input"`` otherwise.
    """
    parameters = tool_parameters(tools, name)
    properties = parameters.get("properties") if parameters is not None else None
    if isinstance(properties, Mapping) and properties:
        return {str(next(iter(properties))): value}
    return {"input": value}


def arguments_from(value: Any) -> tuple[dict[str, Any], str | None]:
    """Tool arguments from a decoded value: a dict, a JSON string of one, or nothing.

    Returns ``(arguments, error)``; on error the arguments are empty.
    """
    if value is None:
        return {}, None
    if isinstance(value, Mapping):
        return dict(value), None
    if isinstance(value, str):
        if not value.strip():
            return {}, None
        decoded, error = lenient_json(value)
        if error is not None:
            return {}, f'"arguments" is a string that is not a JSON object ({error})'
        if decoded is None:
            return {}, None
        value = decoded
    if isinstance(value, Mapping):
        return dict(value), None
    return {}, f'"arguments" must be a JSON object, got {_json_type(value)} {_short(value)}'


def make_call(
    name: str,
    arguments: dict[str, Any],
    *,
    error: str | None = None,
    raw_arguments: str | None = None,
) -> ToolCall:
    """A tool call with a fresh ``call_`` id.

    ``raw_arguments`` defaults to the arguments' JSON; pass the model's own text when the
    arguments could not be decoded, so the history keeps what the model wrote.
    """
    return ToolCall(
        id=new_id("call_"),
        name=name,
        arguments=arguments,
        raw_arguments=_dumps(arguments) if raw_arguments is None else raw_arguments,
        error=error,
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

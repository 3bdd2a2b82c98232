"""Shared pieces of the parsers: building tool calls and the never-raise safety net."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from hone.messages import ToolCall, new_id
from hone.parsing._json import lenient_json
from hone.parsing._types import ParsedOutput

__all__ = ["INTERNAL_ERROR", "arguments_from", "make_call", "never_raises"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")

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
            return ParsedOutput(content=text, errors=(INTERNAL_ERROR,))

    return safe


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

"""Llama 3.1+ JSON tool calls: ``{"name": ..., "parameters": {...}}``, maybe after
``<|python_tag|>``, several separated by ``;``; and the built-in tools' Python form
``<|python_tag|>brave_search.call(query="...")``."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from hone.messages import ToolCall
from hone.parsing._calls import (
    CUT_OFF_AFTER_CALL_ERROR,
    ToolSchemas,
    cut_off_error,
    make_call,
    never_raises,
)
from hone.parsing._hermes import call_from_dict
from hone.parsing._json import find_json_values, json_span_finder, lenient_json
from hone.parsing._thinking import split_thinking
from hone.parsing._types import ParsedOutput

__all__ = ["LLAMA_HINT", "parse_llama3_json"]

LLAMA_HINT = 'Emit {"name": TOOL_NAME, "parameters": {ARGUMENT: VALUE, ...}}'

_PYTHON_TAG = "<|python_tag|>"
_END_TOKENS = re.compile(r"<\|(?:eom_id|eot_id|end_of_text)\|>")
#: ``brave_search.call(query="x")``: the form of Llama's built-in tools.
_BUILTIN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.call\((.*)\)\s*;?\s*", re.DOTALL)
_SEPARATORS = re.compile(r"[\s;,\[\]]*")
_ARGUMENT_KEYS = ("parameters", "arguments")


def _error(detail: str) -> str:
    return f"Your tool call could not be parsed: {detail}. {LLAMA_HINT}"


@never_raises
def parse_llama3_json(
    text: str, *, tools: ToolSchemas = (), truncated: bool = False
) -> ParsedOutput:
    """Parse Llama 3.x output: JSON tool calls, or text.

    A JSON object with a ``"name"`` and ``"parameters"`` (or ``"arguments"``) is a call;
    several may follow each other, separated by ``;`` (or inside one list), with prose
    around them. ``<|python_tag|>`` and end-of-turn tokens left in the text are dropped.
    After ``<|python_tag|>``, the built-in tools' ``name.call(arg=value, ...)`` form is one
    call. JSON that is not shaped like a call is an answer, kept as content. ``truncated``:
    the reply was cut off at the token limit, so a call whose JSON is not whole is reported,
    not run (see :class:`ParsedOutput`). ``tools`` is not needed by this format. Never raises.
    """
    del tools  # the JSON carries its own types
    reasoning, rest, think_error = split_thinking(text, protect=json_span_finder)
    errors: list[str] = [think_error] if think_error else []
    tagged = _PYTHON_TAG in rest
    rest = _END_TOKENS.sub("", rest.replace(_PYTHON_TAG, "")).strip()
    builtin = _BUILTIN.fullmatch(rest) if tagged else None
    if builtin is not None:
        call, error = _builtin_call(builtin.group(1), builtin.group(2))
        errors.extend([_error(error)] if error else [])
        return ParsedOutput(
            reasoning=reasoning,
            tool_calls=(call,) if call else (),
            errors=tuple(errors),
            truncated=truncated,
        )
    calls, content, call_errors = _json_calls(rest, tagged=tagged, truncated=truncated)
    errors.extend(call_errors)
    return ParsedOutput(
        content=content,
        reasoning=reasoning,
        tool_calls=tuple(calls),
        errors=tuple(errors),
        truncated=truncated,
    )


def _is_call(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and isinstance(value.get("name"), str)
        and any(k in value for k in _ARGUMENT_KEYS)
    )


def _json_calls(
    rest: str, *, tagged: bool, truncated: bool
) -> tuple[list[ToolCall], str, list[str]]:
    """``(calls, content, errors)`` from the JSON objects in ``rest``."""
    values = find_json_values(rest)
    found = [(v, s, e) for v, s, e in values if _is_call(v)]
    if not found:
        attempted = rest.startswith(("{", "[")) or (tagged and "{" in rest)
        if not attempted or values:
            return [], rest, []  # prose, or JSON that answers rather than calls
        if truncated:
            return [], "", [cut_off_error("a tool call")]
        detail = lenient_json(rest)[1] or "the JSON cannot be read"
        return [], rest, [_error(detail)]
    calls: list[ToolCall] = []
    errors: list[str] = []
    last = len(found) - 1
    for index, (value, start, end) in enumerate(found):
        if truncated and index == last and lenient_json(rest[start:end], allow_unclosed=False)[1]:
            errors.append(cut_off_error("a tool call"))
            continue
        call, error = call_from_dict(value, _ARGUMENT_KEYS)
        if call is not None:
            calls.append(call)
        if error is not None:
            errors.append(_error(error))
    outside = rest[: found[0][1]] + "".join(
        rest[found[i][2] : found[i + 1][1]] for i in range(last)
    )
    after = rest[found[-1][2] :]
    if truncated and calls and not errors and _SEPARATORS.fullmatch(after) is None:
        errors.append(CUT_OFF_AFTER_CALL_ERROR)
    content = "" if _SEPARATORS.fullmatch(outside + after) else (outside + after).strip()
    return calls, content, errors


def _builtin_call(name: str, arguments: str) -> tuple[ToolCall | None, str | None]:
    """``name.call(k=v, ...)`` with literal values, read without evaluating anything."""
    try:
        tree = ast.parse(f"f({arguments})", mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, f"the arguments of {name}.call(...) are not valid Python"
    call = tree.body
    if not isinstance(call, ast.Call) or call.args:
        return None, f"{name}.call(...) takes keyword arguments only, as name=value"
    values: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            return None, f"{name}.call(...) cannot take **arguments"
        try:
            values[keyword.arg] = ast.literal_eval(keyword.value)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            return None, f"the argument {keyword.arg!r} of {name}.call(...) is not a literal"
    return make_call(name, values), None

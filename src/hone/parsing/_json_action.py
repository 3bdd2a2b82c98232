"""The JSON action protocol: each turn is one JSON object naming a tool call or a final answer.

::

    {"type": "tool", "name": "search", "arguments": {"query": "hone"}}
    {"type": "final", "answer": "42"}

A list of tool actions calls several tools in one turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hone.messages import ToolCall
from hone.parsing._calls import (
    CUT_OFF_AFTER_CALL_ERROR,
    ToolSchemas,
    arguments_from,
    cut_off_error,
    make_call,
    never_raises,
)
from hone.parsing._json import json_span_finder, lenient_json, text_after_json
from hone.parsing._thinking import split_thinking
from hone.parsing._types import ParsedOutput

__all__ = ["JSON_ACTION_HINT", "parse_json_action"]

JSON_ACTION_HINT = (
    'Reply with one JSON object: {"type": "tool", "name": ..., "arguments": {...}} to call '
    'a tool, or {"type": "final", "answer": ...} to finish.'
)

_TOOL_TYPES = frozenset({"tool", "tool_call", "function", "call", "action"})
_FINAL_TYPES = frozenset({"final", "final_answer", "answer", "finish"})
_NAME_KEYS = ("name", "tool_name", "tool", "action")
#: Argument keys whose plain-string value is wrapped as ``{"input": value}``.
_INPUT_KEYS = ("input", "tool_input", "action_input")
_ARGUMENT_KEYS = ("arguments", "args", "parameters", *_INPUT_KEYS)
_ANSWER_KEYS = ("answer", "final_answer")
#: LangChain's JSON agents write the final answer as an action of this name.
_LANGCHAIN_FINAL = "final answer"

_Action = ToolCall | tuple[str]  # a call, or a 1-tuple holding the final answer


def _error(detail: str) -> str:
    return f"Your action could not be parsed: {detail}. {JSON_ACTION_HINT}"


@never_raises
def parse_json_action(
    text: str, *, tools: ToolSchemas = (), truncated: bool = False
) -> ParsedOutput:
    """Parse a JSON action: ``{"type": "tool", ...}``, ``{"type": "final", ...}`` or a list.

    Leniently decoded (see :func:`lenient_json`); ``<think>`` reasoning is split off first.
    Aliases are accepted where the meaning is clear: ``tool_name``/``tool`` for ``name``;
    ``args``/``parameters``/``input`` for ``arguments`` (a plain string ``input`` becomes
    ``{"input": "<text>"}``); ``final_answer`` for ``answer``; a missing ``type`` when only
    one of a name or an answer is present; and LangChain's ``{"action", "action_input"}``.
    ``content`` is the reply as written, reasoning removed, since for a text protocol the
    JSON itself is what the history must show.

    ``truncated``: the reply was cut off at the token limit, so JSON that is not whole is
    reported, not repaired (see :class:`ParsedOutput`). ``tools`` is not needed by this
    format. Never raises.
    """
    del tools  # the JSON carries its own types
    reasoning, rest, think_error = split_thinking(text, protect=json_span_finder)
    errors = [think_error] if think_error else []
    if not rest:
        if not think_error:
            errors.append(_error("the reply is empty"))
        return ParsedOutput(reasoning=reasoning, errors=tuple(errors), truncated=truncated)
    value, error = lenient_json(rest)
    unreadable = _error(error) if error is not None else None
    if unreadable is None and truncated and lenient_json(rest, allow_unclosed=False)[1]:
        unreadable = cut_off_error("the JSON action")  # whole only by closing cut brackets
    if unreadable is not None:
        errors.append(unreadable)
        return ParsedOutput(
            content=rest, reasoning=reasoning, errors=tuple(errors), truncated=truncated
        )
    items = value if isinstance(value, list) else [value]
    calls: list[ToolCall] = []
    answers: list[str] = []
    for item in items:
        action, item_error = _read_action(item)
        if isinstance(action, ToolCall):
            calls.append(action)
        elif action is not None:
            answers.append(action[0])
        if item_error is not None:
            errors.append(_error(item_error))
    if not items:
        errors.append(_error("the list of actions is empty"))
    final: str | None = None
    if answers and calls:
        errors.append(_error("it mixes tool calls with a final answer; answer after the results"))
        calls = []
    elif len(answers) > 1:
        errors.append(_error("it has several final answers; give exactly one"))
    elif answers:
        final = answers[0]
    if truncated and calls and text_after_json(rest):
        errors.append(CUT_OFF_AFTER_CALL_ERROR)
    return ParsedOutput(
        content=rest,
        reasoning=reasoning,
        tool_calls=tuple(calls),
        final_answer=final,
        errors=tuple(errors),
        truncated=truncated,
    )


def _read_action(item: Any) -> tuple[_Action | None, str | None]:
    """One action object: ``(call or (answer,), error)``."""
    if not isinstance(item, Mapping):
        return None, f"an action must be a JSON object, got {json.dumps(item, default=str)[:60]}"
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        return None, '"type" must be "tool" or "final"'
    kind = kind.strip().lower() if kind else None
    name = next((item[k] for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
    if name is not None and name.strip().lower() == _LANGCHAIN_FINAL and kind is None:
        return _final(item.get("action_input", item.get("answer")))
    has_answer = any(k in item for k in _ANSWER_KEYS)
    if kind in _FINAL_TYPES or (kind is None and has_answer and name is None):
        return _final(next((item[k] for k in _ANSWER_KEYS if k in item), None))
    if kind in _TOOL_TYPES or (kind is None and name is not None and not has_answer):
        return _tool(item, name)
    if kind is None and name is not None:
        return None, 'it has both a tool name and an answer; set "type" to "tool" or "final"'
    if kind is None:
        return None, 'it has neither "type", nor a tool "name", nor an "answer"'
    return None, f'unknown action type {kind!r}; use "tool" or "final"'


def _final(answer: Any) -> tuple[_Action | None, str | None]:
    if answer is None:
        return None, 'a "final" action needs an "answer"'
    if isinstance(answer, str):
        return (answer,), None
    return (json.dumps(answer, ensure_ascii=False, default=str),), None


def _tool(item: Mapping[str, Any], name: str | None) -> tuple[_Action | None, str | None]:
    if name is None or not name.strip():
        return None, 'a "tool" action needs a "name" string saying which tool to call'
    key = next((k for k in _ARGUMENT_KEYS if k in item), None)
    raw = item[key] if key is not None else None
    if key in _INPUT_KEYS and isinstance(raw, str | int | float | bool | list):
        decoded, error = lenient_json(raw) if isinstance(raw, str) else (None, "not an object")
        if error is not None or not isinstance(decoded, Mapping):
            return make_call(name.strip(), {"input": raw}), None
    arguments, arg_error = arguments_from(raw)
    if arg_error is not None:
        raw_text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        return make_call(name.strip(), {}, error=arg_error, raw_arguments=raw_text), arg_error
    return make_call(name.strip(), arguments), None

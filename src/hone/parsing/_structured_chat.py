"""LangChain's structured-chat format: an ``Action:`` followed by a fenced JSON blob.

::

    Thought: I should look up the weather.
    Action:
    ```json
    {"action": "get_weather", "action_input": {"city": "Oslo"}}
    ```

The action ``"Final Answer"`` ends the run with ``action_input`` as the answer; a reply with
no blob at all is the answer as written (as LangChain's ``StructuredChatOutputParser`` and
``JSONAgentOutputParser`` read them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hone.messages import ToolCall
from hone.parsing._calls import (
    CUT_OFF_AFTER_CALL_ERROR,
    ToolSchemas,
    cut_off_error,
    input_arguments,
    make_call,
    never_raises,
)
from hone.parsing._json import find_json_values, json_span_finder, lenient_json
from hone.parsing._thinking import split_thinking
from hone.parsing._types import ParsedOutput

__all__ = ["STRUCTURED_CHAT_HINT", "parse_structured_chat"]

STRUCTURED_CHAT_HINT = (
    'Reply with Action: followed by one ```json blob {"action": TOOL_NAME, "action_input": '
    '{...}}```, or {"action": "Final Answer", "action_input": "your answer"} to finish.'
)

# A fence, an optional language tag, and a body up to the closing fence (or the end); a
# fence closes at a line start or a line end, so "```" inside a JSON string does not.
_FENCE = re.compile(
    r"```[ \t]*(?:[A-Za-z0-9_+-]+[ \t]*)?\r?\n?(?P<body>.*?)"
    r"(?:(?P<close>^[ \t]*```|```[ \t]*$)|\Z)",
    re.DOTALL | re.MULTILINE,
)
_ACTION_LINE = re.compile(r"^[ \t>*_]*action[ \t*_]*:[ \t*_]*", re.IGNORECASE | re.MULTILINE)
_THOUGHT_LABEL = re.compile(r"^[ \t>*_]*thought[ \t*_]*:[ \t*_]*", re.IGNORECASE | re.MULTILINE)
_FINAL = "final answer"


def _error(detail: str) -> str:
    return f"Your reply could not be parsed: {detail}. {STRUCTURED_CHAT_HINT}"


@dataclass(frozen=True, slots=True)
class _Blob:
    """The JSON blob: its text, where it is in the reply, and whether its fence was closed."""

    body: str
    start: int
    end: int
    closed: bool


@never_raises
def parse_structured_chat(
    text: str, *, tools: ToolSchemas = (), truncated: bool = False
) -> ParsedOutput:
    """Parse one step of LangChain's structured-chat agent.

    The first fenced JSON blob (```` ```json ```` or a bare ```` ``` ````; an unfenced
    ``{"action": ...}`` object is read too) holds ``{"action": NAME, "action_input": ...}``.
    ``"Final Answer"`` as the action makes ``action_input`` the ``final_answer``; any other
    action is one tool call. An object ``action_input`` is the arguments; a plain value goes
    to the tool's first parameter (as LangChain passes a string to a structured tool) when
    ``tools`` gives its schema, else to ``"input"``. A list of actions runs the first (and
    says so in ``errors``), as LangChain does. A reply with no blob and no ``Action:`` line is
    the final answer as written. Text before the blob (``Thought:`` labels removed) is
    ``reasoning``; ``content`` is the reply up to the end of the blob (an ``Observation:`` the
    model invented after it is cut). ``truncated``: the reply was cut off at the token limit,
    so a blob whose fence and JSON are not whole is reported, not run. Never raises.
    """
    reasoning, rest, think_error = split_thinking(text, protect=json_span_finder)
    errors: list[str] = [think_error] if think_error else []
    blob = _find_blob(rest)
    if blob is None:
        if _ACTION_LINE.search(rest):
            errors.append(
                cut_off_error("an action") if truncated else _error("the Action has no JSON blob")
            )
            return _output(rest, reasoning, errors, truncated=truncated)
        final = rest if rest or not think_error else None
        return _output(rest, reasoning, errors, final=final, truncated=truncated)
    thought = _thought(rest[: blob.start])
    reasoning = "\n\n".join(t for t in (reasoning, thought) if t) or None
    content = rest[: blob.end].strip()
    if truncated and not blob.closed and lenient_json(blob.body, allow_unclosed=False)[1]:
        errors.append(cut_off_error("the action's JSON blob"))
        return _output(content, reasoning, errors, truncated=truncated)
    call, final, action_errors = _read_action(blob.body, tools)
    errors.extend(action_errors)
    if truncated and call is not None and rest[blob.end :].strip():
        errors.append(CUT_OFF_AFTER_CALL_ERROR)
    return _output(
        content, reasoning, errors, calls=(call,) if call else (), final=final, truncated=truncated
    )


def _output(
    content: str,
    reasoning: str | None,
    errors: list[str],
    *,
    calls: tuple[ToolCall, ...] = (),
    final: str | None = None,
    truncated: bool,
) -> ParsedOutput:
    return ParsedOutput(
        content=content,
        reasoning=reasoning,
        tool_calls=calls,
        final_answer=final,
        errors=tuple(errors),
        truncated=truncated,
    )


def _find_blob(text: str) -> _Blob | None:
    """The first fenced JSON blob, else the first unfenced object with an ``"action"``."""
    for match in _FENCE.finditer(text):
        body = match.group("body")
        if body.strip().startswith(("{", "[")):
            return _Blob(body, match.start(), match.end(), closed=bool(match.group("close")))
    for value, start, end in find_json_values(text):
        items = value if isinstance(value, list) else [value]
        if items and isinstance(items[0], Mapping) and "action" in items[0]:
            return _Blob(text[start:end], start, end, closed=True)
    return None


def _thought(before: str) -> str:
    """The text before the blob, without its ``Thought:`` and ``Action:`` labels."""
    text = _ACTION_LINE.sub("", _THOUGHT_LABEL.sub("", before))
    return "\n".join(line.rstrip() for line in text.strip().splitlines()).strip()


def _read_action(body: str, tools: ToolSchemas) -> tuple[ToolCall | None, str | None, list[str]]:
    """``(call, final answer, errors)`` from the blob's JSON."""
    value, error = lenient_json(body)
    if error is not None:
        return None, None, [_error(f"the JSON blob cannot be read ({error})")]
    errors: list[str] = []
    if isinstance(value, list):
        if not value:
            return None, None, [_error("the JSON blob is an empty list")]
        if len(value) > 1:
            errors.append(
                f"Your reply held {len(value)} actions; only the first was run. "
                "Give one action per reply."
            )
        value = value[0]
    if not isinstance(value, Mapping):
        return None, None, [_error('the JSON blob must be an object with an "action" key')]
    action = value.get("action")
    if not isinstance(action, str) or not action.strip():
        return None, None, [_error('the JSON blob has no "action" string naming a tool')]
    name = action.strip()
    action_input = value.get("action_input", {})
    if re.sub(r"[\s_]+", " ", name.lower()) == _FINAL:
        answer = action_input if isinstance(action_input, str) else _dumps(action_input)
        return None, answer, errors
    return make_call(name, _arguments(name, action_input, tools)), None, errors


def _arguments(name: str, action_input: Any, tools: ToolSchemas) -> dict[str, Any]:
    if action_input is None:
        return {}
    if isinstance(action_input, Mapping):
        return dict(action_input)
    if isinstance(action_input, str) and action_input.strip().startswith("{"):
        decoded, error = lenient_json(action_input)  # an object written as a JSON string
        if error is None and isinstance(decoded, Mapping):
            return dict(decoded)
    return input_arguments(action_input, name, tools)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)

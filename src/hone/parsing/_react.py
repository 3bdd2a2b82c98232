"""ReAct text: ``Thought:`` / ``Action:`` / ``Action Input:`` lines, or a ``Final Answer:``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hone.messages import ToolCall
from hone.parsing._calls import (
    CUT_OFF_AFTER_CALL_ERROR,
    ToolSchemas,
    cut_off_error,
    make_call,
    never_raises,
)
from hone.parsing._json import json_span_finder, lenient_json
from hone.parsing._thinking import split_thinking
from hone.parsing._types import ParsedOutput

__all__ = ["REACT_HINT", "parse_react"]

REACT_HINT = (
    "Use the format:\nThought: <your reasoning>\nAction: <tool name>\n"
    'Action Input: {"arg": "value"}\nor, when you are done:\nFinal Answer: <your answer>'
)

# A keyword at the start of a line, tolerating markdown bold and odd spacing ("**Action:**").
_KEYWORD = re.compile(
    r"^[ \t>*_]*(thought|action[ \t_]*input|action|observation|final[ \t_]*answer)"
    r"[ \t*_]*:[ \t*_]*",
    re.IGNORECASE | re.MULTILINE,
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
# "search[query]" (the ReAct paper's form) or "search(query)".
_INLINE_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)\s*[\[(](.*)[\])]\s*", re.DOTALL)
_FENCE = re.compile(r"^```[A-Za-z0-9_+-]*[ \t]*\n?|\n?```\s*$")


def _error(detail: str) -> str:
    return f"Your reply could not be parsed: {detail}. {REACT_HINT}"


@dataclass
class _Step:
    """What one ReAct reply says, collected section by section."""

    thoughts: list[str] = field(default_factory=list)
    action: str | None = None
    action_input: str | None = None
    final: str | None = None
    end: int | None = None  # where the reply really ends (a hallucinated continuation is cut)


@never_raises
def parse_react(text: str, *, tools: ToolSchemas = (), truncated: bool = False) -> ParsedOutput:
    """Parse one ReAct step.

    ``reasoning`` joins ``<think>`` reasoning and the ``Thought:`` lines (text before the
    first keyword counts as a thought). An ``Action:`` with its ``Action Input:`` becomes one
    tool call; a ``Final Answer:`` becomes ``final_answer``. Anything after the first action
    (notably an ``Observation:`` the model invented) is cut off and ignored.

    Action Input that is a JSON object becomes the arguments. Any other input (plain text, a
    quoted string, a number, a list) becomes ``{"input": <value>}``: the parser does not know
    the tool's signature, so a tool that takes one string argument should name it ``input``
    or accept that key. ``content`` is the reply as written, reasoning removed and cut at the
    invented continuation, since for a text protocol that text is what the history must show.

    ``truncated``: the reply was cut off at the token limit. An action whose input runs to
    the cut is then reported, not run, unless the input is whole JSON (see
    :class:`ParsedOutput`). ``tools`` is not needed by this format. Never raises.
    """
    del tools  # the input is passed as written
    reasoning, rest, think_error = split_thinking(text, protect=json_span_finder)
    errors = [think_error] if think_error else []
    step = _read_sections(rest)
    content = rest[: step.end].strip() if step.end is not None else rest
    thoughts = [t for t in (reasoning, *step.thoughts) if t]
    calls: list[ToolCall] = []
    if step.action is not None and truncated and step.end is None and not _whole(step):
        errors.append(cut_off_error("the Action Input"))
    elif step.action is not None:
        call, call_error = _make_call(step.action, step.action_input)
        if call is not None:
            calls.append(call)
        if call_error is not None:
            errors.append(_error(call_error))
        if truncated and call is not None and step.end is not None:
            errors.append(CUT_OFF_AFTER_CALL_ERROR)
    elif step.final is None and not think_error:
        errors.append(_error("it has neither an Action nor a Final Answer"))
    return ParsedOutput(
        content=content,
        reasoning="\n\n".join(thoughts) or None,
        tool_calls=tuple(calls),
        final_answer=step.final if step.action is None else None,
        errors=tuple(errors),
        truncated=truncated,
    )


def _whole(step: _Step) -> bool:
    """Whether an action whose input runs to the end of a cut-off reply is surely whole."""
    raw = step.action_input
    if raw is None:
        first_line, _, more = (step.action or "").partition("\n")
        if _INLINE_CALL.fullmatch(first_line.strip()):
            return True  # "search[query]" is closed by its bracket
        raw = more
    text = _FENCE.sub("", raw.strip()).strip()
    if text.startswith(("{", "[")):
        return lenient_json(text, allow_unclosed=False)[1] is None
    if not text.startswith('"'):
        return False  # plain text or a number may have been cut anywhere
    try:  # a closed quoted string is whole
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _read_sections(text: str) -> _Step:
    step = _Step()
    matches = list(_KEYWORD.finditer(text))
    leading = text[: matches[0].start()] if matches else text
    if leading.strip() and matches:
        step.thoughts.append(leading.strip())  # models often drop the first "Thought:"
    for index, match in enumerate(matches):
        keyword = re.sub(r"[ \t_]+", " ", match.group(1).lower())
        body_end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : body_end].strip()
        if keyword == "final answer" and step.action is None:
            observation = _next_observation(matches, index)
            step.final = text[match.end() : observation].strip()
            step.end = observation
            return step
        if keyword == "action input" and step.action is not None and step.action_input is None:
            step.action_input = body
            continue
        if keyword == "action" and step.action is None:
            step.action = body
            continue
        if step.action is not None or keyword == "observation":
            step.end = match.start()  # the model went on past its action: ignore the rest
            return step
        if keyword == "thought" and body:
            step.thoughts.append(body)
    return step


def _next_observation(matches: list[re.Match[str]], index: int) -> int | None:
    for later in matches[index + 1 :]:
        if later.group(1).lower() == "observation":
            return later.start()
    return None


def _make_call(action: str, action_input: str | None) -> tuple[ToolCall | None, str | None]:
    first_line, _, more = action.partition("\n")
    name = first_line.strip().strip("`'\"*").strip()
    if action_input is None:
        inline = _INLINE_CALL.fullmatch(name)
        if inline:
            name, action_input = inline.group(1), inline.group(2)
        elif more.strip():
            action_input = more  # the input written on the lines after the name
    if not name:
        return None, "the Action line does not name a tool"
    if not _NAME.fullmatch(name):
        return None, f"the Action line must be just the tool name, got {name[:60]!r}"
    arguments, error = _arguments(action_input or "")
    if error is not None:
        return make_call(name, {}, error=error, raw_arguments=action_input), error
    return make_call(name, arguments), None


def _arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    text = _FENCE.sub("", raw.strip()).strip()
    if not text:
        return {}, None
    if text.startswith("{"):
        value, error = lenient_json(text)
        if error is not None:
            return {}, f"the Action Input looks like JSON but cannot be read ({error})"
        if isinstance(value, Mapping):
            return dict(value), None
    try:  # a quoted string or a number: strictly JSON only, plain text is taken as written
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, str | int | float | list):
        return {"input": value}, None
    return {"input": text}, None

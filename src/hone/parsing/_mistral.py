"""Mistral tool calls after ``[TOOL_CALLS]``: a JSON list (``[{"name": ..., "arguments":
{...}}]``, older tokenizers) or ``NAME[ARGS]{...}`` per call (newer ones, optionally with
``[CALL_ID]id`` before ``[ARGS]``; some write ``NAME{...}`` without ``[ARGS]``)."""

from __future__ import annotations

import re
import uuid
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
from hone.parsing._hermes import call_from_dict
from hone.parsing._json import lenient_json, text_after_json
from hone.parsing._thinking import split_thinking, tag_spans
from hone.parsing._types import ParsedOutput

__all__ = ["MISTRAL_HINT", "parse_mistral"]

MISTRAL_HINT = 'Emit [TOOL_CALLS][{"name": TOOL_NAME, "arguments": {ARGUMENT: VALUE, ...}}]'

_TOOL_CALLS = re.compile(r"\[TOOL_CALLS\]")
_NEVER = re.compile(r"(?!)")
# NAME, maybe [CALL_ID]ID, maybe [ARGS], then the JSON arguments (or nothing).
_NAMED = re.compile(
    r"\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(?:\[CALL_ID\]\s*([A-Za-z0-9_\-]+)\s*)?(?:\[ARGS\])?"
    r"(\s*(?:\{.*)?)",
    re.DOTALL,
)
_END_TOKENS = re.compile(r"</s>")
#: Magistral writes its reasoning between [THINK] and [/THINK].
_THINK_TOKENS = (("[THINK]", "<think>"), ("[/THINK]", "</think>"))


def _error(detail: str) -> str:
    return f"Your tool call could not be parsed: {detail}. {MISTRAL_HINT}"


def _mistral_id() -> str:
    """A call id as Mistral's chat templates require: nine letters or digits."""
    return uuid.uuid4().hex[:9]


@never_raises
def parse_mistral(text: str, *, tools: ToolSchemas = (), truncated: bool = False) -> ParsedOutput:
    """Parse Mistral output: text, then ``[TOOL_CALLS]`` with one or more calls.

    After ``[TOOL_CALLS]`` comes a JSON list (or object) of ``{"name", "arguments"}`` calls,
    or ``NAME[ARGS]{...}``, each call behind its own ``[TOOL_CALLS]``; ``NAME[CALL_ID]ID
    [ARGS]{...}`` keeps the model's id. Calls without an id get a nine-character one, as
    Mistral's templates require. ``[THINK]`` reasoning (Magistral) and ``<think>`` are split
    off; ``</s>`` left in the text is dropped. ``truncated``: the reply was cut off at the
    token limit, so a call whose JSON is not whole is reported, not run (see
    :class:`ParsedOutput`). ``tools`` is not needed by this format. Never raises.
    """
    del tools  # the JSON carries its own types
    for token, tag in _THINK_TOKENS:
        text = text.replace(token, tag)
    reasoning, rest, think_error = split_thinking(text, protect=tag_spans(_TOOL_CALLS, _NEVER))
    errors: list[str] = [think_error] if think_error else []
    rest = _END_TOKENS.sub("", rest)
    content, *segments = _TOOL_CALLS.split(rest)
    calls: list[ToolCall] = []
    segments = [s for s in segments if s.strip()] or segments
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if truncated and last and not _whole(segment):
            errors.append(cut_off_error("a tool call"))
            continue
        found, found_errors = _read_segment(segment)
        calls.extend(found)
        errors.extend(_error(e) for e in found_errors)
        if truncated and last and found and _trailing(segment):
            errors.append(CUT_OFF_AFTER_CALL_ERROR)
    return ParsedOutput(
        content=content.strip(),
        reasoning=reasoning,
        tool_calls=tuple(calls),
        errors=tuple(errors),
        truncated=truncated,
    )


def _json_part(segment: str) -> str:
    named = _NAMED.fullmatch(segment) if not segment.lstrip().startswith(("[", "{")) else None
    return named.group(3) if named else segment


def _whole(segment: str) -> bool:
    """Whether a call cut off at the token limit is whole: its JSON closed (a name alone,
    with no arguments yet, may have been cut too)."""
    part = _json_part(segment)
    return bool(part.strip()) and lenient_json(part, allow_unclosed=False)[1] is None


def _trailing(segment: str) -> bool:
    return bool(text_after_json(_json_part(segment)))


def _read_segment(segment: str) -> tuple[list[ToolCall], list[str]]:
    """The calls after one ``[TOOL_CALLS]``, and problems with them."""
    body = segment.strip()
    if not body:
        return [], ["[TOOL_CALLS] is followed by nothing"]
    named = _NAMED.fullmatch(segment)
    if named is not None and not body.startswith(("[", "{")):
        return _named_call(named.group(1), named.group(2), named.group(3))
    value, error = lenient_json(body)
    if error is not None:
        return [], [f"the calls after [TOOL_CALLS] are not valid JSON ({error})"]
    items = value if isinstance(value, list) else [value]
    calls: list[ToolCall] = []
    errors: list[str] = []
    for item in items:
        call, item_error = call_from_dict(item)
        if call is not None:
            given = item.get("id") if isinstance(item, Mapping) else None
            calls.append(_with_id(call, given))
        if item_error is not None:
            errors.append(item_error)
    if not items:
        errors.append("the list after [TOOL_CALLS] is empty")
    return calls, errors


def _named_call(name: str, call_id: str | None, raw: str) -> tuple[list[ToolCall], list[str]]:
    value, error = lenient_json(raw) if raw.strip() else ({}, None)
    if error is not None:
        detail = f"the arguments of {name!r} after [ARGS] are not valid JSON ({error})"
        call = ToolCall(id=call_id or _mistral_id(), name=name, raw_arguments=raw, error=detail)
        return [call], [detail]
    arguments, arg_error = arguments_from(value)
    if arg_error is not None:
        call = ToolCall(id=call_id or _mistral_id(), name=name, raw_arguments=raw, error=arg_error)
        return [call], [arg_error]
    return [_with_id(make_call(name, arguments), call_id)], []


def _with_id(call: ToolCall, given: Any) -> ToolCall:
    call_id = given if isinstance(given, str) and given.strip() else _mistral_id()
    return call.model_copy(update={"id": call_id})

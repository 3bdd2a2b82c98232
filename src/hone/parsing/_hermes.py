"""Hermes/Qwen tool calls: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from hone.messages import ToolCall
from hone.parsing._calls import (
    CUT_OFF_AFTER_CALL_ERROR,
    ToolSchemas,
    arguments_from,
    cut_off_error,
    ends_in_partial_tag,
    make_call,
    never_raises,
)
from hone.parsing._json import find_json_values, lenient_json, text_after_json
from hone.parsing._thinking import split_thinking, tag_spans
from hone.parsing._types import ParsedOutput

__all__ = [
    "HERMES_HINT",
    "TOOL_CALL_CLOSE",
    "TOOL_CALL_OPEN",
    "call_from_dict",
    "parse_hermes",
    "read_block",
    "tool_call_error",
]

TOOL_CALL_OPEN = re.compile(r"<\s*tool_call\s*>", re.IGNORECASE)
TOOL_CALL_CLOSE = re.compile(r"<\s*/\s*tool_call\s*>", re.IGNORECASE)
#: Keys a model may use for the arguments, in order of preference.
_ARGUMENT_KEYS = ("arguments", "parameters")

HERMES_HINT = 'Emit <tool_call>{"name": ..., "arguments": {...}}</tool_call>'


def tool_call_error(detail: str) -> str:
    """The error a model sees for a Hermes tool call that could not be parsed."""
    return f"Your tool call could not be parsed: {detail}. {HERMES_HINT}"


@never_raises
def parse_hermes(text: str, *, tools: ToolSchemas = (), truncated: bool = False) -> ParsedOutput:
    """Parse Hermes/Qwen-style output: reasoning, text, and ``<tool_call>`` blocks.

    ``<think>`` reasoning is split off first (tool calls inside it are not calls). Several
    blocks per turn are read, in order; the last may be left unclosed if its JSON is whole.
    ``arguments`` may be an object or a JSON string of one (``parameters`` is accepted too).
    A call without a ``name`` becomes an error; a call whose arguments cannot be read becomes
    a :class:`~hone.messages.ToolCall` with ``error`` set, and an error. ``content`` is the
    text with the blocks removed. As a fallback for small models, an output that is nothing
    but a ``{"name": ..., "arguments": ...}`` object (optionally fenced) is read as one call.

    ``truncated``: the reply was cut off at the token limit, so a call whose JSON is not
    whole is reported, not repaired (see :class:`ParsedOutput`). ``tools`` is not needed by
    this format. Never raises.
    """
    del tools  # the JSON carries its own types
    reasoning, rest, think_error = split_thinking(
        text, protect=tag_spans(TOOL_CALL_OPEN, TOOL_CALL_CLOSE)
    )
    blocks, content, tail = _split_blocks(rest)
    calls: list[ToolCall] = []
    errors: list[str] = [think_error] if think_error else []
    clean_end = not tail  # nothing after the last block
    for body, closed in blocks:
        if truncated and not closed:
            _, cut = lenient_json(body, allow_unclosed=False)
            if cut is not None:
                errors.append(cut_off_error("a <tool_call>"))
                continue
            clean_end = not text_after_json(body)
        block_calls, block_errors = read_block(body, closed=closed)
        calls.extend(block_calls)
        errors.extend(block_errors)
    if not blocks:
        bare, bare_error = _bare_call(rest, truncated=truncated)
        if bare is not None:
            calls.append(bare)
            content = ""
        if bare_error is not None:
            errors.append(bare_error)
    cut_in_tag = not blocks or blocks[-1][1]  # no block left open, but maybe a tag half written
    if truncated and cut_in_tag and ends_in_partial_tag(rest, "<tool_call>"):
        errors.append(cut_off_error("a <tool_call>"))
    elif truncated and blocks and calls and not clean_end:
        errors.append(CUT_OFF_AFTER_CALL_ERROR)
    return ParsedOutput(
        content=content,
        reasoning=reasoning,
        tool_calls=tuple(calls),
        errors=tuple(errors),
        truncated=truncated,
    )


def _split_blocks(text: str) -> tuple[list[tuple[str, bool]], str, str]:
    """``([(body, closed), ...], text outside the blocks, text after the last block)``.

    Stray closing tags are dropped.
    """
    blocks: list[tuple[str, bool]] = []
    outside: list[str] = []
    cursor = 0
    while True:
        opening = TOOL_CALL_OPEN.search(text, cursor)
        if opening is None:
            outside.append(text[cursor:])
            break
        outside.append(text[cursor : opening.start()])
        closing = TOOL_CALL_CLOSE.search(text, opening.end())
        if closing is None:
            blocks.append((text[opening.end() :], False))
            break
        blocks.append((text[opening.end() : closing.start()], True))
        cursor = closing.end()
    content = TOOL_CALL_CLOSE.sub("", "".join(outside)).strip()
    tail = TOOL_CALL_CLOSE.sub("", outside[-1]).strip() if blocks and blocks[-1][1] else ""
    return blocks, content, tail


def read_block(body: str, *, closed: bool) -> tuple[list[ToolCall], list[str]]:
    """The calls in one block's body: one object, a list of them, or objects side by side."""
    value, error = lenient_json(body)
    if error is not None:
        found = find_json_values(body)
        if len(found) > 1 and all(isinstance(v, Mapping) for v, _, _ in found):
            value, error = [v for v, _, _ in found], None
    if error is not None:
        if not body.strip():
            error = "the <tool_call> block is empty"
        elif not closed:
            error = f"the last <tool_call> is not closed and its JSON is incomplete ({error})"
        return [], [tool_call_error(error)]
    items = value if isinstance(value, list) and value else [value]
    calls: list[ToolCall] = []
    errors: list[str] = []
    for item in items:
        call, item_error = call_from_dict(item)
        if call is not None:
            calls.append(call)
        if item_error is not None:
            errors.append(tool_call_error(item_error))
    return calls, errors


def call_from_dict(
    item: Any,
    argument_keys: tuple[str, ...] = _ARGUMENT_KEYS,
    name_keys: tuple[str, ...] = ("name",),
) -> tuple[ToolCall | None, str | None]:
    """A tool call from a decoded ``{"name": ..., "arguments": ...}`` object.

    Also accepts the OpenAI shape ``{"function": {"name": ..., "arguments": ...}}``. Returns
    ``(call, error)``: no call when there is no usable name; a call with ``error`` set when
    only the arguments are bad.
    """
    if not isinstance(item, Mapping):
        return None, f"expected a JSON object with a name and arguments, got {type(item).__name__}"
    function = item.get("function")
    if isinstance(function, Mapping):
        item = function
    name = next((item[k] for k in name_keys if isinstance(item.get(k), str)), None)
    if name is None and isinstance(function, str):
        name = function
    if name is None or not name.strip():
        return None, 'the call has no "name" string saying which tool to call'
    raw = next((item[k] for k in argument_keys if k in item), None)
    arguments, error = arguments_from(raw)
    if error is not None:
        raw_text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
        return make_call(name.strip(), {}, error=error, raw_arguments=raw_text), error
    return make_call(name.strip(), arguments), None


def _bare_call(rest: str, *, truncated: bool) -> tuple[ToolCall | None, str | None]:
    """A whole output that is just ``{"name": ..., "arguments": {...}}`` (maybe fenced).

    Returns ``(call, error)``; the error is set only when the cut at the token limit fell
    inside such an object (it would otherwise be repaired and run).
    """
    if not rest.startswith(("{", "```")):
        return None, None
    value, error = lenient_json(rest)
    if error is not None or not isinstance(value, Mapping):
        return None, None
    if "name" not in value or "arguments" not in value or set(value) - {"name", "arguments"}:
        return None, None
    if truncated and lenient_json(rest, allow_unclosed=False)[1] is not None:
        return None, cut_off_error("a tool call")
    call, call_error = call_from_dict(value)
    if call is None or call_error is not None:
        return None, None
    if truncated and text_after_json(rest):
        return call, CUT_OFF_AFTER_CALL_ERROR
    return call, None

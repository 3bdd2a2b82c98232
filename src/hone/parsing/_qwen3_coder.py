"""Qwen3-Coder's XML tool calls, with each value typed by the tool's JSON schema.

::

    <tool_call>
    <function=search>
    <parameter=query>
    hone agents
    </parameter>
    <parameter=limit>
    5
    </parameter>
    </function>
    </tool_call>

Values are written raw; the tool's schema says which ones are numbers, booleans, objects or
arrays (``limit`` above is the integer 5 when the schema says ``"type": "integer"``).
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
    CUT_OFF_PREFIX,
    ToolSchemas,
    cut_off_error,
    ends_in_partial_tag,
    make_call,
    never_raises,
    tool_parameters,
)
from hone.parsing._hermes import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, read_block
from hone.parsing._json import lenient_json
from hone.parsing._thinking import any_span, split_thinking, tag_spans
from hone.parsing._types import ParsedOutput

__all__ = ["QWEN3_CODER_HINT", "parse_qwen3_coder"]

QWEN3_CODER_HINT = (
    "Emit <tool_call>\n<function=TOOL_NAME>\n<parameter=ARGUMENT_NAME>\nvalue\n</parameter>\n"
    "</function>\n</tool_call>"
)

_FUNCTION = re.compile(r"<\s*function\s*=\s*([^>\n]*?)\s*>", re.IGNORECASE)
_FUNCTION_CLOSE = re.compile(r"<\s*/\s*function\s*>", re.IGNORECASE)
_PARAMETER = re.compile(r"<\s*parameter\s*=\s*([^>\n]*?)\s*>", re.IGNORECASE)
_PARAMETER_CLOSE = re.compile(r"<\s*/\s*parameter\s*>", re.IGNORECASE)
_STRAY = re.compile(r"<\s*/\s*(?:tool_call|function|parameter)\s*>", re.IGNORECASE)
_CALL_END = re.compile(r"<\s*/\s*(?:tool_call|function)\s*>", re.IGNORECASE)
_WRAPPER_CLOSE = re.compile(r"\s*<\s*/\s*tool_call\s*>", re.IGNORECASE)
_DATA_SPANS = any_span(
    tag_spans(TOOL_CALL_OPEN, TOOL_CALL_CLOSE), tag_spans(_FUNCTION, _FUNCTION_CLOSE)
)
_NULL_WORDS = frozenset({"null", "None"})
#: Tried in this order when the schema allows several types and not a string.
_TYPED = ("boolean", "integer", "number", "object", "array")
_MAX_SCHEMA_DEPTH = 16


def _error(detail: str) -> str:
    return f"Your tool call could not be parsed: {detail}. {QWEN3_CODER_HINT}"


@dataclass(frozen=True, slots=True)
class _Function:
    """One ``<function=...>`` element: its name, raw parameters and whether it was closed."""

    name: str
    parameters: tuple[tuple[str, str], ...]
    closed: bool


@never_raises
def parse_qwen3_coder(
    text: str, *, tools: ToolSchemas = (), truncated: bool = False
) -> ParsedOutput:
    """Parse Qwen3-Coder output: reasoning, text, and XML ``<tool_call>`` blocks.

    Each block holds one ``<function=NAME>`` with ``<parameter=ARG>`` children (several
    blocks, or several functions in one block, are several calls; a ``<function=...>`` without
    the ``<tool_call>`` wrapper is read too). A value is the text between the tags, less the
    one newline the format puts on each side. ``tools`` (OpenAI tool schemas) types the
    values: a parameter whose schema allows a string stays the raw text; one that is a
    number, boolean, object or array is decoded as JSON (a value that does not decode stays
    text, and the tool's validation reports it); ``null`` becomes None where the schema
    allows null. Parameters without a schema stay text. A block holding Hermes JSON instead
    of XML is read as Hermes. Tags left unclosed at the end of the reply are accepted, unless
    ``truncated`` says the reply was cut off at the token limit: a call without its
    ``</function>`` is then reported, not run. Never raises.
    """
    reasoning, rest, think_error = split_thinking(text, protect=_DATA_SPANS)
    calls: list[ToolCall] = []
    errors: list[str] = [think_error] if think_error else []
    outside: list[str] = []
    functions: list[_Function] = []
    cursor = 0
    while True:
        start = _next_call(rest, cursor)
        if start is None:
            outside.append(rest[cursor:])
            break
        outside.append(rest[cursor : start.start()])
        found, end, block_errors, hermes = _read_call(rest, start, truncated=truncated)
        functions.extend(found)
        calls.extend(hermes)
        errors.extend(block_errors)
        cursor = end
    for index, function in enumerate(functions):
        if truncated and index == len(functions) - 1 and not function.closed:
            errors.append(cut_off_error("a <function=...> tool call"))
            continue
        call, call_error = _make_call(function, tools)
        if call is not None:
            calls.append(call)
        if call_error is not None:
            errors.append(_error(call_error))
    reported = any(e.startswith(CUT_OFF_PREFIX) for e in errors)
    if truncated and not reported and ends_in_partial_tag(rest, "<tool_call>", "<function="):
        errors.append(cut_off_error("a <tool_call>"))
    elif truncated and calls and _after_last_call(rest):
        errors.append(CUT_OFF_AFTER_CALL_ERROR)
    return ParsedOutput(
        content=_STRAY.sub("", "".join(outside)).strip(),
        reasoning=reasoning,
        tool_calls=tuple(calls),
        errors=tuple(errors),
        truncated=truncated,
    )


def _after_last_call(text: str) -> str:
    """The text after the last ``</function>`` or ``</tool_call>``, stray tags removed."""
    ends = list(_CALL_END.finditer(text))
    return _STRAY.sub("", text[ends[-1].end() :]).strip() if ends else ""


def _next_call(text: str, pos: int) -> re.Match[str] | None:
    """The next ``<tool_call>`` or bare ``<function=...>`` from ``pos``."""
    found = [m for m in (TOOL_CALL_OPEN.search(text, pos), _FUNCTION.search(text, pos)) if m]
    return min(found, key=lambda m: m.start()) if found else None


def _read_call(
    text: str, start: re.Match[str], *, truncated: bool
) -> tuple[list[_Function], int, list[str], list[ToolCall]]:
    """The functions of one block from ``start``: ``(functions, end, errors, hermes calls)``."""
    if _FUNCTION.match(text, start.start()):  # a bare <function=...> without <tool_call>
        close = _FUNCTION_CLOSE.search(text, start.end())
        end = close.end() if close else len(text)
        wrapper_close = _WRAPPER_CLOSE.match(text, end)
        if wrapper_close:  # the opening <tool_call> was dropped but the closing one kept
            end = wrapper_close.end()
        return _functions(text[start.start() : end]), end, [], []
    close = TOOL_CALL_CLOSE.search(text, start.end())
    body = text[start.end() : close.start() if close else len(text)]
    end = close.end() if close else len(text)
    functions = _functions(body)
    if functions:
        return functions, end, [], []
    if not body.strip():
        return [], end, [_error("the <tool_call> block is empty")], []
    if truncated and close is None and lenient_json(body, allow_unclosed=False)[1] is not None:
        return [], end, [cut_off_error("a <tool_call>")], []
    hermes, hermes_errors = read_block(body, closed=close is not None)  # JSON inside the tags
    return [], end, hermes_errors, hermes


def _functions(body: str) -> list[_Function]:
    """Every ``<function=...>`` element in ``body``, in order."""
    starts = list(_FUNCTION.finditer(body))
    functions: list[_Function] = []
    for index, start in enumerate(starts):
        limit = starts[index + 1].start() if index + 1 < len(starts) else len(body)
        close = _FUNCTION_CLOSE.search(body, start.end(), limit)
        inner = body[start.end() : close.start() if close else limit]
        name = start.group(1).strip().strip("\"'`").strip()
        functions.append(_Function(name, _parameters(inner), close is not None))
    return functions


def _parameters(inner: str) -> tuple[tuple[str, str], ...]:
    """``(name, raw value)`` of each ``<parameter=...>``; a missing close ends at the next tag."""
    starts = list(_PARAMETER.finditer(inner))
    found: list[tuple[str, str]] = []
    for index, start in enumerate(starts):
        limit = starts[index + 1].start() if index + 1 < len(starts) else len(inner)
        close = _PARAMETER_CLOSE.search(inner, start.end(), limit)
        value = inner[start.end() : close.start() if close else limit]
        found.append((start.group(1).strip().strip("\"'`").strip(), _unwrap(value)))
    return tuple(found)


def _unwrap(value: str) -> str:
    """The value without the one newline the format puts after the opening and before the
    closing tag (indentation and inner newlines are the value's own)."""
    for newline in ("\r\n", "\n"):
        if value.startswith(newline):
            value = value[len(newline) :]
            break
    for newline in ("\r\n", "\n"):
        if value.endswith(newline):
            return value[: -len(newline)]
    return value


def _make_call(function: _Function, tools: ToolSchemas) -> tuple[ToolCall | None, str | None]:
    if not function.name:
        return None, "the <function=...> tag does not name a tool"
    schema = tool_parameters(tools, function.name)
    properties = schema.get("properties") if schema is not None else None
    arguments: dict[str, Any] = {}
    for name, raw in function.parameters:
        if not name:
            error = "a <parameter=...> tag does not name its argument"
            return make_call(function.name, {}, error=error, raw_arguments=raw), error
        spec = properties.get(name) if isinstance(properties, Mapping) else None
        arguments[name] = _typed(raw, _types(spec, schema or {}, 0))
    return make_call(function.name, arguments), None


def _types(schema: Any, root: Mapping[str, Any], depth: int) -> set[str]:
    """The JSON types a (sub)schema allows: ``type``, unions, ``enum``, ``$ref``s followed."""
    if depth > _MAX_SCHEMA_DEPTH or not isinstance(schema, Mapping):
        return set()
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, root)
        return _types(target, root, depth + 1) if target is not None else {"object"}
    kind = schema.get("type")
    types = {kind} if isinstance(kind, str) else set()
    if isinstance(kind, list):
        types.update(k for k in kind if isinstance(k, str))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key) or ():
            types |= _types(sub, root, depth + 1)
    values = list(schema.get("enum") or ()) + ([schema["const"]] if "const" in schema else [])
    types.update(_json_type(v) for v in values)
    if not types and "properties" in schema:
        types.add("object")
    if not types and "items" in schema:
        types.add("array")
    return types


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    """A local ``#/$defs/Name`` reference, or None."""
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _typed(raw: str, types: set[str]) -> Any:
    """``raw`` as the type its schema asks for; the raw text where a string is allowed, no
    type is known, or it does not decode as any allowed type."""
    text = raw.strip()
    if text in _NULL_WORDS and "null" in types:
        return None
    if not types or "string" in types:
        return raw
    for kind in _TYPED:
        if kind in types:
            ok, value = _decode(text, kind)
            if ok:
                return value
    return raw


def _decode(text: str, kind: str) -> tuple[bool, Any]:
    if kind == "boolean":
        lowered = text.lower()
        return lowered in ("true", "false"), lowered == "true"
    if kind in ("integer", "number"):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return False, None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False, None
        if kind == "integer":
            if isinstance(value, float) and not value.is_integer():
                return False, None
            return True, int(value)
        return True, value
    value, error = lenient_json(text)
    wanted = dict if kind == "object" else list
    return error is None and isinstance(value, wanted), value

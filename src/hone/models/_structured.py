"""What a request asks the reply to look like, read once, and the check every backend runs.

A :class:`~hone.models.ChatRequest` carries OpenAI's ``response_format`` and ``tool_choice`` as
plain mappings. :func:`output_format` and :func:`tool_requirement` read them into typed values
(raising :class:`~hone.errors.ConfigError` that names the field when they are malformed: that
is developer misuse). :func:`reply_problems` checks a finished reply against them and returns
problems phrased for the *model*: a reply that misses the schema is a parse error the agent
loop shows, never an exception inside the loop.

Local backends also decode under a grammar (``_grammar``), so their replies fit by
construction unless cut off by the token limit; servers and scripted replies are checked the
same way either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hone.errors import ConfigError
from hone.messages import AssistantMessage

__all__ = [
    "JsonObjectFormat",
    "JsonSchemaFormat",
    "OutputFormat",
    "ToolRequirement",
    "output_format",
    "reply_problems",
    "tool_names",
    "tool_requirement",
]


@dataclass(frozen=True, slots=True)
class JsonSchemaFormat:
    """The reply is one JSON value that matches ``schema`` (``response_format`` json_schema)."""

    name: str
    schema: Mapping[str, Any]
    strict: bool = False


@dataclass(frozen=True, slots=True)
class JsonObjectFormat:
    """The reply is one JSON object, any keys (``response_format`` json_object: JSON mode)."""


#: The reply's required shape; None means free text.
OutputFormat: TypeAlias = JsonSchemaFormat | JsonObjectFormat | None


@dataclass(frozen=True, slots=True)
class ToolRequirement:
    """``tool_choice`` read against the request's tools.

    ``mode`` "auto": the model may call tools; "none": it must not (the tools are left out of
    the prompt); "required": it must call at least one; "named": it must call ``name``.
    """

    mode: Literal["auto", "none", "required", "named"] = "auto"
    name: str | None = None
    #: Whether several calls in one turn are allowed (``parallel_tool_calls``).
    parallel: bool = True

    @property
    def must_call(self) -> bool:
        """The reply must be tool calls only."""
        return self.mode in ("required", "named")


def output_format(response_format: Mapping[str, Any] | None) -> OutputFormat:
    """The typed form of an OpenAI ``response_format``.

    Accepts ``{"type": "text"}``, ``{"type": "json_object"}`` and ``{"type": "json_schema",
    "json_schema": {"name", "schema", "strict"}}``.

    Raises:
        ConfigError: the value is malformed or its schema is not a valid JSON schema; the
            message names the field.
    """
    if response_format is None:
        return None
    if not isinstance(response_format, Mapping):
        raise ConfigError(
            f"response_format must be an object, got {type(response_format).__name__}"
        )
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return JsonObjectFormat()
    if kind != "json_schema":
        raise ConfigError(
            f"response_format.type must be 'text', 'json_object' or 'json_schema', got {kind!r}"
        )
    spec = response_format.get("json_schema")
    if not isinstance(spec, Mapping):
        raise ConfigError(
            "response_format.json_schema must be an object with 'name' and 'schema', "
            f"got {type(spec).__name__}"
        )
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError("response_format.json_schema.name must be a non-empty string")
    schema = spec.get("schema", {})
    if not isinstance(schema, Mapping):
        raise ConfigError(
            f"response_format.json_schema.schema must be a JSON schema object, "
            f"got {type(schema).__name__}"
        )
    _check_schema(schema, where="response_format.json_schema.schema")
    return JsonSchemaFormat(name=name, schema=schema, strict=bool(spec.get("strict", False)))


def tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    """The function names of OpenAI-format tool schemas, in order."""
    names = []
    for tool in tools:
        function = tool.get("function", tool)
        name = function.get("name") if isinstance(function, Mapping) else None
        if isinstance(name, str):
            names.append(name)
    return names


def tool_requirement(
    tool_choice: Any, tools: Sequence[Mapping[str, Any]], *, parallel: bool = True
) -> ToolRequirement:
    """The typed form of an OpenAI ``tool_choice`` for a request with ``tools``.

    Raises:
        ConfigError: an unknown mode, a named function that is not among the tools, or
            "required" / a named function with no tools; the message names the field.
    """
    if isinstance(tool_choice, str):
        if tool_choice not in ("auto", "none", "required"):
            raise ConfigError(
                f"tool_choice must be 'auto', 'none', 'required' or "
                f'{{"type": "function", "function": {{"name": ...}}}}, got {tool_choice!r}'
            )
        if tool_choice == "required" and not tools:
            raise ConfigError("tool_choice is 'required' but the request has no tools")
        return ToolRequirement(mode=tool_choice, parallel=parallel)  # type: ignore[arg-type]
    if not isinstance(tool_choice, Mapping):
        raise ConfigError(f"tool_choice must be a string or an object, got {tool_choice!r}")
    function = tool_choice.get("function")
    # The Responses API spells a named tool flat: {"type": "function", "name": ...}.
    name = function.get("name") if isinstance(function, Mapping) else tool_choice.get("name")
    if tool_choice.get("type") != "function" or not isinstance(name, str):
        raise ConfigError(
            'tool_choice must be {"type": "function", "function": {"name": "<tool>"}}, '
            f"got {dict(tool_choice)!r}"
        )
    known = tool_names(tools)
    if name not in known:
        raise ConfigError(
            f"tool_choice names function {name!r}, which is not among the tools "
            f"({', '.join(known) or 'none given'})"
        )
    return ToolRequirement(mode="named", name=name, parallel=parallel)


def reply_problems(
    message: AssistantMessage,
    *,
    fmt: OutputFormat,
    tools: ToolRequirement,
    truncated: bool = False,
) -> tuple[str, ...]:
    """What is wrong with a finished reply, phrased for the model (empty when it fits).

    ``truncated``: the reply was cut off by the token limit (then a misfit says so).
    """
    problems: list[str] = []
    calls = message.tool_calls
    if tools.mode == "none" and calls:
        problems.append("Tools are disabled for this turn; answer without calling a tool.")
    elif tools.must_call and not calls:
        wanted = f"the tool {tools.name!r}" if tools.name else "a tool"
        problems.append(f"You must call {wanted} in this turn; reply with a tool call.")
    elif tools.mode == "named" and any(c.name != tools.name for c in calls):
        other = sorted({c.name for c in calls if c.name != tools.name})
        problems.append(f"You must call the tool {tools.name!r}, not {', '.join(other)}.")
    if not tools.parallel and len(calls) > 1:
        problems.append(f"Call at most one tool per turn; you called {len(calls)}.")
    if fmt is not None and not calls:
        problem = _format_problem(message.text, fmt)
        if problem is not None:
            cut = " Your reply was cut off by the token limit." if truncated else ""
            problems.append(problem + cut)
    return tuple(problems)


def _format_problem(text: str, fmt: JsonSchemaFormat | JsonObjectFormat) -> str | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"Your reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); reply with only the JSON value."
    if isinstance(fmt, JsonObjectFormat):
        if isinstance(value, dict):
            return None
        return f"Your reply must be a JSON object, not {type(value).__name__}."
    error = _schema_error(value, fmt.schema)
    if error is None:
        return None
    return f"Your reply does not match the JSON schema {fmt.name!r}: {error}. Reply with a JSON value that matches it."


def _check_schema(schema: Mapping[str, Any], *, where: str) -> None:
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)
    try:
        validator.check_schema(dict(schema))
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"{where} is not a valid JSON schema: {exc.message}") from exc


def _schema_error(value: Any, schema: Mapping[str, Any]) -> str | None:
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = error.json_path if error.path else "the top level"
    return f"at {where}: {error.message}"

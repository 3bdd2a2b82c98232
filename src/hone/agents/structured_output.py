"""Structured final answers for :func:`~hone.agents.create_agent` (``response_format=``):
through a tool the model calls (:class:`ToolStrategy`), through the provider's native
structured output (:class:`ProviderStrategy`), or whichever the model supports
(:class:`AutoStrategy`, what a bare schema means). The names and behaviour are LangChain's
``langchain.agents.structured_output``."""

from __future__ import annotations

import json
import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, is_dataclass
from typing import Any, Generic, Literal, TypeAlias, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter
from typing_extensions import is_typeddict

__all__ = [
    "AutoStrategy",
    "MultipleStructuredOutputsError",
    "OutputToolBinding",
    "ProviderStrategy",
    "ProviderStrategyBinding",
    "ResponseFormat",
    "SchemaKind",
    "StructuredOutputError",
    "StructuredOutputValidationError",
    "ToolStrategy",
]

_SchemaT = TypeVar("_SchemaT")
SchemaKind: TypeAlias = Literal["pydantic", "dataclass", "typeddict", "json_schema"]

#: What ``handle_errors`` may be: retry every error (True, or with this text), only these
#: exception types, a function making the text the model reads, or never (False).
HandleErrors: TypeAlias = (
    bool | str | type[Exception] | tuple[type[Exception], ...] | Callable[[Exception], str]
)


class StructuredOutputError(Exception):
    """A structured answer the agent could not accept; ``ai_message`` is the reply."""

    ai_message: Any


class MultipleStructuredOutputsError(StructuredOutputError):
    """The model called several structured-output tools in one reply."""

    def __init__(self, tool_names: list[str], ai_message: Any) -> None:
        self.tool_names = tool_names
        self.ai_message = ai_message
        super().__init__(
            "Model incorrectly returned multiple structured responses "
            f"({', '.join(tool_names)}) when only one is expected."
        )


class StructuredOutputValidationError(StructuredOutputError):
    """The structured answer does not fit its schema; ``source`` says why."""

    def __init__(self, tool_name: str, source: Exception, ai_message: Any) -> None:
        self.tool_name = tool_name
        self.source = source
        self.ai_message = ai_message
        super().__init__(f"Failed to parse structured output for tool '{tool_name}': {source}.")


def _parse(schema: Any, kind: SchemaKind, data: Any) -> Any:
    """``data`` validated as ``schema`` (a JSON schema's data as it is).

    Raises:
        ValueError: data that does not fit the schema.
    """
    if kind == "json_schema":
        return data
    try:
        return TypeAdapter(schema).validate_python(data)
    except Exception as exc:
        name = getattr(schema, "__name__", str(schema))
        raise ValueError(f"Failed to parse data to {name}: {exc}") from exc


@dataclass(init=False)
class _SchemaSpec(Generic[_SchemaT]):
    """One schema, described for a model: name, description, kind and JSON schema.

    Raises:
        ValueError: a schema that is not a pydantic model, dataclass, TypedDict or JSON
            schema dict.
    """

    schema: Any
    name: str
    description: str
    schema_kind: SchemaKind
    json_schema: dict[str, Any]
    strict: bool | None = None

    def __init__(
        self,
        schema: Any,
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> None:
        self.schema = schema
        fallback = f"response_format_{uuid.uuid4().hex[:4]}"
        if name:
            self.name = name
        elif isinstance(schema, Mapping):
            self.name = str(schema.get("title", fallback))
        else:
            self.name = str(getattr(schema, "__name__", fallback))
        if description is not None:
            self.description = description
        elif isinstance(schema, Mapping):
            self.description = str(schema.get("description", ""))
        else:
            self.description = getattr(schema, "__doc__", None) or ""
        self.strict = strict
        if isinstance(schema, Mapping):
            self.schema_kind, self.json_schema = "json_schema", dict(schema)
        elif isinstance(schema, type) and issubclass(schema, BaseModel):
            self.schema_kind, self.json_schema = "pydantic", schema.model_json_schema()
        elif is_dataclass(schema):
            self.schema_kind, self.json_schema = "dataclass", TypeAdapter(schema).json_schema()
        elif is_typeddict(schema):
            self.schema_kind, self.json_schema = "typeddict", TypeAdapter(schema).json_schema()
        else:
            raise ValueError(
                f"Unsupported schema type: {type(schema)}. Supported types: Pydantic models, "
                "dataclasses, TypedDicts, and JSON schema dicts."
            )


def _variants(schema: Any) -> Iterator[Any]:
    """The members of a union (``A | B``, ``Union[A, B]``, a JSON schema's ``oneOf``)."""
    if get_origin(schema) in (types.UnionType, Union):
        for arg in get_args(schema):
            yield from _variants(arg)
    elif isinstance(schema, Mapping) and "oneOf" in schema:
        for sub in schema["oneOf"]:
            yield from _variants(sub)
    else:
        yield schema


@dataclass(init=False)
class ToolStrategy(Generic[_SchemaT]):
    """Structured output through a tool per schema (a union gives one tool per member):
    the model answers by calling it, and the call's arguments, validated, are the
    ``structured_response``. A call that does not validate (or several such calls) is
    answered with an error the model reads and retries, as ``handle_errors`` says.

    Args:
        schema: a pydantic model, dataclass, TypedDict, JSON schema dict, or a union of them.
        tool_message_content: the text of the tool message answering the call (default:
            ``"Returning structured response: <value>"``).
        handle_errors: which errors the model gets to retry (see :data:`HandleErrors`).
    """

    schema: Any
    schema_specs: list[_SchemaSpec[Any]]
    tool_message_content: str | None
    handle_errors: HandleErrors

    def __init__(
        self,
        schema: Any,
        *,
        tool_message_content: str | None = None,
        handle_errors: HandleErrors = True,
    ) -> None:
        self.schema = schema
        self.tool_message_content = tool_message_content
        self.handle_errors = handle_errors
        self.schema_specs = [_SchemaSpec(s) for s in _variants(schema)]


@dataclass(init=False)
class ProviderStrategy(Generic[_SchemaT]):
    """Structured output through the provider's native support (OpenAI's
    ``response_format={"type": "json_schema", ...}``): the reply's text is the JSON value."""

    schema: Any
    schema_spec: _SchemaSpec[_SchemaT]

    def __init__(self, schema: Any, *, strict: bool | None = None) -> None:
        self.schema = schema
        self.schema_spec = _SchemaSpec(schema, strict=strict)

    def to_model_kwargs(self) -> dict[str, Any]:
        """The keyword arguments bound to the model to ask for this format."""
        json_schema: dict[str, Any] = {
            "name": self.schema_spec.name,
            "schema": self.schema_spec.json_schema,
        }
        if self.schema_spec.strict:
            json_schema["strict"] = True
        return {"response_format": {"type": "json_schema", "json_schema": json_schema}}


class AutoStrategy(Generic[_SchemaT]):
    """The provider's native structured output when the model supports it, else a tool."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema


#: What ``create_agent(response_format=...)`` takes besides a bare schema.
ResponseFormat: TypeAlias = ToolStrategy[Any] | ProviderStrategy[Any] | AutoStrategy[Any]


@dataclass
class OutputToolBinding(Generic[_SchemaT]):
    """A structured-output tool: its schema and its OpenAI-style function spec."""

    schema: Any
    schema_kind: SchemaKind
    tool: dict[str, Any]

    @classmethod
    def from_schema_spec(cls, spec: _SchemaSpec[_SchemaT]) -> OutputToolBinding[_SchemaT]:
        """The tool answering with ``spec``'s schema."""
        function: dict[str, Any] = {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.json_schema,
        }
        return cls(spec.schema, spec.schema_kind, {"type": "function", "function": function})

    @property
    def name(self) -> str:
        """The tool's name."""
        name: str = self.tool["function"]["name"]
        return name

    def langchain_tool(self) -> Any:
        """The tool as LangChain's ``StructuredTool`` (what a LangChain chat model's
        ``bind_tools`` is given; it is never run: the agent reads the call itself)."""
        from langchain_core.tools import StructuredTool

        function = self.tool["function"]
        return StructuredTool(
            name=function["name"],
            description=function["description"],
            args_schema=function["parameters"],
        )

    def parse(self, tool_args: Any) -> Any:
        """The call's arguments as the schema's value.

        Raises:
            ValueError: arguments that do not fit.
        """
        return _parse(self.schema, self.schema_kind, tool_args)


@dataclass
class ProviderStrategyBinding(Generic[_SchemaT]):
    """Parses a native structured reply (its text as JSON) into the schema's value."""

    schema: Any
    schema_kind: SchemaKind

    @classmethod
    def from_schema_spec(cls, spec: _SchemaSpec[_SchemaT]) -> ProviderStrategyBinding[_SchemaT]:
        """The parser for ``spec``'s schema."""
        return cls(spec.schema, spec.schema_kind)

    def parse(self, response: Any) -> Any:
        """The reply's text as the schema's value.

        Raises:
            ValueError: text that is not JSON, or JSON that does not fit.
        """
        text = _text(getattr(response, "content", ""))
        try:
            data = json.loads(text)
        except Exception as exc:
            name = getattr(self.schema, "__name__", "response_format")
            raise ValueError(
                f"Native structured output expected valid JSON for {name}, but parsing "
                f"failed: {exc}."
            ) from exc
        return _parse(self.schema, self.schema_kind, data)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        if isinstance(block, Mapping):
            if block.get("type") == "text" and "text" in block:
                parts.append(str(block["text"]))
            elif isinstance(block.get("content"), str):
                parts.append(block["content"])
        else:
            parts.append(str(getattr(block, "text", block)))
    return "".join(parts)

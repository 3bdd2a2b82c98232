"""JSON schemas of a graph's input, output and context, derived as LangGraph derives them
(``get_input_jsonschema`` and friends): what UIs render forms from and what the agent
server's ``/assistants/{id}/schemas`` returns.

A pydantic model gives its own schema; a TypedDict its pydantic schema (titled with its
name); anything else (a dataclass, a root value such as ``Annotated[list, add]``, an
entrypoint's parameter type) a model built from the graph's channels, titled
``<graph name>Input`` / ``Output``, with LangGraph's rules for which fields are required.
"""

from __future__ import annotations

import dataclasses
import typing
from inspect import isclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter, create_model
from typing_extensions import is_typeddict

from hone.graph._state import ROOT
from hone.tools._convert import typed_dict_adapter

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["context_jsonschema", "input_jsonschema", "output_jsonschema", "type_jsonschema"]

_NOT_REQUIRED = (typing.NotRequired,)
_REQUIRED = (typing.Required,)


def input_jsonschema(graph: CompiledGraph) -> dict[str, Any]:
    """The JSON schema of what ``graph`` takes as input."""
    builder = graph.builder
    if builder is None:
        return _titled(type_jsonschema(graph.input_schema), f"{graph.name}Input")
    return _of_schema(builder, builder.input_schema, f"{graph.name}Input")


def output_jsonschema(graph: CompiledGraph) -> dict[str, Any]:
    """The JSON schema of what ``graph`` returns."""
    builder = graph.builder
    if builder is None:
        return _titled(type_jsonschema(graph.output_schema), f"{graph.name}Output")
    return _of_schema(builder, builder.output_schema, f"{graph.name}Output")


def context_jsonschema(graph: CompiledGraph) -> dict[str, Any] | None:
    """The JSON schema of the graph's run context (None without a ``context_schema``).

    Raises:
        ValueError: the context schema is not a pydantic model, TypedDict or dataclass.
    """
    schema = graph.context_schema
    if schema is None:
        return None
    if not (
        (isclass(schema) and issubclass(schema, BaseModel))
        or is_typeddict(schema)
        or dataclasses.is_dataclass(schema)
    ):
        raise ValueError(
            f"Invalid context schema type: {schema}. Must be a BaseModel, TypedDict or dataclass."
        )
    return type_jsonschema(schema)


def type_jsonschema(tp: Any) -> dict[str, Any]:
    """Pydantic's JSON schema of a type (a ``typing.TypedDict`` too, which pydantic reads
    only from Python 3.12).

    Raises:
        pydantic.PydanticSchemaGenerationError: a type pydantic cannot describe.
    """
    if isclass(tp) and issubclass(tp, BaseModel):
        return tp.model_json_schema()
    if is_typeddict(tp):
        return typed_dict_adapter(tp).json_schema()
    return TypeAdapter(tp).json_schema()


def _titled(schema: dict[str, Any], title: str) -> dict[str, Any]:
    return {**schema, "title": title}


def _of_schema(builder: Any, schema: Any, name: str) -> dict[str, Any]:
    if (isclass(schema) and issubclass(schema, BaseModel)) or is_typeddict(schema):
        return type_jsonschema(schema)
    keys = list(builder.schemas[schema])
    channels = builder.channels
    if keys == [ROOT]:  # one root value, optional as LangGraph's root model makes it
        return {**_titled(type_jsonschema(channels[ROOT].typ), name), "default": None}
    fields: dict[str, Any] = {
        key: (channels[key].typ, _default(key, channels[key].typ, schema))
        for key in keys
        if key in channels
    }
    model: type[BaseModel] = create_model(name, **fields)
    return model.model_json_schema()


def _default(name: str, tp: Any, schema: Any) -> Any:
    """A field's default in the schema (``...``: required), by LangGraph's rules: a
    ``NotRequired`` key (or any key of a ``total=False`` TypedDict) defaults to None, a
    dataclass field to its default, an optional type to None; others are required."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if name in getattr(schema, "__optional_keys__", ()):
        return ... if origin in _REQUIRED else None
    if origin in _REQUIRED:
        return ...
    if origin in _NOT_REQUIRED:
        return None
    if dataclasses.is_dataclass(schema):
        field = next((f for f in dataclasses.fields(schema) if f.name == name), None)
        if field is not None and field.default is not dataclasses.MISSING:
            return field.default
        if field is not None and field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
    if origin in (typing.Union, type(int | None)) and type(None) in typing.get_args(tp):
        return None
    return ...

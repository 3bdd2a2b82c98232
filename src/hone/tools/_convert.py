"""Tools from elsewhere: LangChain tools as hone tools, and an OpenAI tool schema from anything
``bind_tools`` accepts (hone tools, LangChain tools, functions, pydantic models, TypedDicts,
schema dicts).

A LangChain tool keeps running as LangChain runs it (its own validation, error handling and
injected arguments): the hone :class:`~hone.tools.Tool` made from it validates the model's
arguments against the tool's schema and calls ``lc_tool.ainvoke``. Parameters marked with
hone's markers (``InjectedState``, ``InjectedStore``, ``ToolRuntime``, which LangChain hides
from the model) are filled into the call's arguments first, as LangGraph's ``ToolNode`` does.
langchain-core is imported only when a LangChain tool is converted.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Mapping
from typing import Any, NotRequired, Required

from pydantic import BaseModel, PydanticUserError, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from hone.errors import ToolArgumentsError, ToolDefinitionError
from hone.tools._carry import carrying, uncarried
from hone.tools._context import ToolContext
from hone.tools._injected import InjectedParam, find_injection, named_marker
from hone.tools._schema import clean_schema, describe_validation_error
from hone.tools._tool import Tool

__all__ = [
    "as_tool",
    "from_langchain_tool",
    "is_langchain_tool",
    "langchain_source",
    "tool_names",
    "tool_spec",
    "typed_dict_adapter",
]

#: The attribute of a converted tool's function that holds the LangChain tool it runs.
_SOURCE = "langchain_tool"


def is_langchain_tool(value: object) -> bool:
    """Whether ``value`` is a LangChain tool (``BaseTool``; never imports langchain-core)."""
    base = sys.modules.get("langchain_core.tools.base")
    return base is not None and isinstance(value, base.BaseTool)


def langchain_source(tool: Tool) -> Any:
    """The LangChain tool a hone tool was made from, or None."""
    return getattr(tool.fn, _SOURCE, None)


#: Parameters LangChain fills itself when it invokes a tool's function.
_LANGCHAIN_FILLED = frozenset({"callbacks", "run_manager", "config"})


def _input_names(lc_tool: Any) -> set[str]:
    """Every argument the tool takes, injected ones included."""
    try:
        # The fields, not the JSON schema: an injected ToolRuntime has none.
        return set(lc_tool.get_input_schema().model_fields)
    except Exception:  # a tool whose args_schema is a plain dict
        return set(getattr(lc_tool, "args", {}) or {})


def _function_params(lc_tool: Any) -> set[str]:
    """The named parameters of the tool's function (none for a tool without one)."""
    func = getattr(lc_tool, "func", None) or getattr(lc_tool, "coroutine", None)
    if func is None:
        return set()
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return set()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name for p in params if p.kind in kinds and p.name not in _LANGCHAIN_FILLED}


def _without(parameters: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """A JSON schema of parameters without ``names``."""
    kept = {k: v for k, v in parameters.get("properties", {}).items() if k not in names}
    out = {**parameters, "properties": kept}
    if "required" in parameters:
        out["required"] = [r for r in parameters["required"] if r not in names]
    return out


def _annotations(lc_tool: Any) -> dict[str, Any]:
    """The tool's parameter annotations: its input schema's, over its function's hints."""
    from langchain_core.tools.base import get_all_basemodel_annotations

    func = getattr(lc_tool, "func", None) or getattr(lc_tool, "coroutine", None)
    try:
        hints = typing.get_type_hints(func, include_extras=True) if func else {}
    except (NameError, TypeError):  # hints that do not resolve: the schema's still count
        hints = {}
    try:
        schema = get_all_basemodel_annotations(lc_tool.get_input_schema())
    except Exception:  # a dict args_schema, or one pydantic cannot read
        schema = {}
    return {**hints, **schema}


def _injected_params(lc_tool: Any, hidden: set[str]) -> tuple[InjectedParam, ...]:
    """The hidden parameters that hone's markers fill (LangChain fills its own)."""
    annotations = _annotations(lc_tool)
    try:
        fields = lc_tool.get_input_schema().model_fields
    except Exception:
        fields = {}
    found: list[InjectedParam] = []
    for name in sorted(hidden & set(annotations)):
        where = f"parameter {name!r} of LangChain tool {lc_tool.name!r}"
        marker = find_injection(annotations[name], where=where, langchain=False)
        if marker is None:
            marker = named_marker(name)
        if marker is not None:
            optional = name in fields and not fields[name].is_required()
            found.append(InjectedParam(name=name, marker=marker, optional=optional))
    return tuple(found)


def from_langchain_tool(lc_tool: Any) -> Tool:
    """A hone tool that runs a LangChain tool (``BaseTool`` or ``@langchain_core.tools.tool``).

    The model sees the tool's ``tool_call_schema`` (injected arguments hidden), and what it
    sends for a hidden argument is dropped. A tool with injected arguments
    (``InjectedToolCallId``, ``InjectedState``, ...) or
    ``response_format="content_and_artifact"`` is invoked with the whole tool call, the
    arguments hone's markers fill added, and answers with a LangChain ``ToolMessage`` (kept
    as the result's value, artifact included); others are invoked with the arguments and
    their return value is the result. LangChain's own validation errors name only the
    arguments the model sent.

    Raises:
        ToolDefinitionError: the tool's name is not one function calling accepts, or a
            parameter is marked for injection twice.
    """
    from langchain_core.utils.function_calling import convert_to_openai_tool

    function = convert_to_openai_tool(lc_tool)["function"]
    parameters = dict(function.get("parameters") or {"type": "object", "properties": {}})
    own = _function_params(lc_tool)
    # A parameter injected by its name alone (``runtime``) is never the model's to send.
    by_name = {n for n in own if named_marker(n) is not None}
    if by_name & set(parameters.get("properties", {})):
        parameters = _without(parameters, by_name)
    visible = set(parameters.get("properties", {}))
    # A dict args_schema names only the model's arguments: the function's own parameters
    # (injected ones) count too.
    hidden = (_input_names(lc_tool) | own) - visible
    injected = _injected_params(lc_tool, hidden)
    # The model's values for LangChain's own hidden arguments are dropped here; those for
    # hone's markers never get past Tool.validate.
    dropped = frozenset(hidden - {p.name for p in injected})
    runner = carrying(lc_tool)

    async def run_langchain_tool(hone_tool_context: ToolContext, **arguments: Any) -> Any:
        args = {k: v for k, v in arguments.items() if k not in dropped}
        call = {
            "type": "tool_call",
            "name": lc_tool.name,
            "args": args,
            "id": hone_tool_context.call_id,
        }
        try:
            return uncarried(await runner.ainvoke(call))
        except ValidationError as exc:
            problems = describe_validation_error(
                exc, tuple(sorted(visible)), hidden=frozenset(hidden)
            )
            problems = problems or ["the injected arguments do not fit the tool's annotations"]
            raise ToolArgumentsError(lc_tool.name, problems) from exc

    setattr(run_langchain_tool, _SOURCE, lc_tool)
    tool = Tool.from_schema(
        name=lc_tool.name,
        description=lc_tool.description or function.get("description") or lc_tool.name,
        parameters=parameters,
        fn=run_langchain_tool,
    )
    return tool.with_(injected=injected) if injected else tool


def as_tool(item: Any) -> Tool:
    """A hone tool from a tool, a LangChain tool, or a typed, documented function.

    Raises:
        ToolDefinitionError: ``item`` cannot become a tool; the message says why.
    """
    if isinstance(item, Tool):
        return item
    if is_langchain_tool(item):
        return from_langchain_tool(item)
    if callable(item) and not isinstance(item, type):
        return Tool.from_function(item)
    raise ToolDefinitionError(
        f"cannot make a tool from {type(item).__name__} {item!r}; pass a hone tool, a "
        "LangChain tool, or a typed function with a docstring"
    )


def _function_spec(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": dict(parameters)},
    }


def _schema_dict_spec(schema: Mapping[str, Any]) -> dict[str, Any]:
    if schema.get("type") == "function" and isinstance(schema.get("function"), Mapping):
        return {"type": "function", "function": dict(schema["function"])}
    if isinstance(schema.get("name"), str):  # an OpenAI function dict
        return {"type": "function", "function": dict(schema)}
    title = schema.get("title")
    if isinstance(title, str) and title:  # a JSON schema with a title, as LangChain takes
        body = {k: v for k, v in schema.items() if k not in ("title", "description")}
        return _function_spec(title, str(schema.get("description", "")), body)
    raise ToolDefinitionError(
        "a tool schema dict must be an OpenAI tool ({'type': 'function', 'function': {...}}), "
        "an OpenAI function ({'name': ..., 'parameters': {...}}) or a JSON schema with a "
        f"'title'; got keys {sorted(schema)}"
    )


def typed_dict_adapter(cls: type) -> TypeAdapter[Any]:
    """A pydantic adapter for a TypedDict class, ``typing.TypedDict`` included (pydantic takes
    only ``typing_extensions.TypedDict`` before Python 3.12; the class is rebuilt as one)."""
    try:
        return TypeAdapter(cls)
    except PydanticUserError:
        hints = typing.get_type_hints(cls, include_extras=True)
        required: frozenset[str] = getattr(cls, "__required_keys__", frozenset(hints))
        fields = {
            name: (Required[hint] if name in required else NotRequired[hint])
            for name, hint in hints.items()
        }
        make: Any = TypedDict  # the functional form, with a name known only at run time
        rebuilt = make(cls.__name__, fields)
        rebuilt.__doc__ = cls.__doc__
        return TypeAdapter(rebuilt)


def _class_spec(cls: type) -> dict[str, Any] | None:
    if issubclass(cls, BaseModel):
        raw = cls.model_json_schema()
    elif typing.is_typeddict(cls):
        raw = typed_dict_adapter(cls).json_schema()
    else:
        return None
    description = (cls.__doc__ or "").strip() if cls.__doc__ != BaseModel.__doc__ else ""
    return _function_spec(cls.__name__, description, clean_schema(raw))


def tool_spec(item: Any) -> dict[str, Any]:
    """The OpenAI tool schema (``{"type": "function", "function": {...}}``) of anything
    ``bind_tools`` accepts: a hone tool, a LangChain tool, a typed function, a pydantic model
    or TypedDict class (the model calls it to answer in that shape), or a schema dict.

    Raises:
        ToolDefinitionError: ``item`` is none of those; the message says what is accepted.
    """
    if isinstance(item, Mapping):
        return _schema_dict_spec(item)
    if isinstance(item, type):
        spec = _class_spec(item)
        if spec is not None:
            return spec
        raise ToolDefinitionError(
            f"cannot make a tool schema from class {item.__name__}; pass a pydantic model or a "
            "TypedDict class"
        )
    return as_tool(item).spec()


def tool_names(specs: list[dict[str, Any]]) -> list[str]:
    """The function names of OpenAI tool schemas, in order."""
    return [str(s.get("function", {}).get("name")) for s in specs]

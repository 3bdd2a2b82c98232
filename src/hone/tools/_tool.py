"""A tool: a name, a description, a parameter schema, and a function to run.

A tool also reads like a LangChain tool: ``name``, ``description``, ``args_schema`` (a
pydantic model), and ``invoke`` / ``ainvoke`` taking a dict of arguments or a tool call.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, overload

import pydantic_core
from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, model_validator
from pydantic_core import CoreSchema

from hone._async import is_async_callable
from hone._retry import RetryPolicy
from hone._sync import run_sync
from hone.errors import ToolArgumentsError, ToolDefinitionError
from hone.interop._messages import from_langchain, is_langchain_message, to_langchain
from hone.messages import ContentPart, ImagePart, TextPart, ToolCall, ToolMessage, new_id
from hone.tools._context import ToolContext
from hone.tools._injected import OMIT, InjectedParam
from hone.tools._jsonschema import check_schema, validate_json
from hone.tools._schema import (
    context_parameter,
    injected_parameters,
    inspect_function,
    unwrap_partial,
)

__all__ = ["Tool", "ToolInput", "Validator", "result_content", "tool", "tool_message"]

#: What ``Tool.invoke`` takes: arguments, a string (tools with one parameter), or a tool call
#: (hone's :class:`~hone.messages.ToolCall` or LangChain's ``{"type": "tool_call", ...}``).
ToolInput: TypeAlias = Mapping[str, Any] | str | ToolCall

#: Checks model-sent arguments for one tool: (tool name, arguments) -> validated values.
Validator = Callable[[str, Mapping[str, Any]], dict[str, Any]]

# The name rule of the OpenAI function-calling API, which most servers share.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _function_name(fn: Callable[..., Any]) -> str:
    inner = unwrap_partial(fn)
    return str(getattr(inner, "__name__", None) or type(inner).__name__)


@dataclass(frozen=True, eq=False)
class Tool:
    """A function the model can call.

    Make one with :func:`tool` (from a typed, documented function), :meth:`from_function`,
    or :meth:`from_schema` (from a JSON-schema dict). A tool stays callable like the function
    it wraps, so ``add(1, 2)`` still works after ``@tool def add(...)``.
    """

    #: The name the model calls the tool by (letters, digits, ``_`` and ``-``; up to 64).
    name: str
    #: What the tool does, for the model.
    description: str
    #: JSON schema of the arguments (an object schema).
    parameters: Mapping[str, Any]
    #: The function to run, sync or async.
    fn: Callable[..., Any] = field(repr=False)
    #: Checks model-sent arguments and returns the values to call ``fn`` with.
    validator: Validator = field(repr=False)
    #: The parameter of ``fn`` that receives the :class:`ToolContext`, if any.
    context_param: str | None = None
    #: Parameters of ``fn`` that are positional-only, in order.
    positional: tuple[str, ...] = ()
    #: OpenAI strict mode: every property required and ``"strict": true`` in the spec. It
    #: shapes ``parameters`` when the tool is made, so set it there, not with ``with_``.
    strict: bool = False
    #: Seconds one attempt may take; None defers to the executor's options.
    timeout: float | None = None
    #: How to retry failures; None defers to the executor's options.
    retry: RetryPolicy | None = None
    #: Longest result text the model sees; None defers to the executor's options.
    max_output_chars: int | None = None
    #: Parameters of ``fn`` the caller fills (``InjectedState``, ``ToolRuntime``, ...): the
    #: model's values for them are dropped, and each call computes them from its context.
    injected: tuple[InjectedParam, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ToolDefinitionError(
                f"tool name {self.name!r} is not allowed; use 1-64 letters, digits, '_' or '-' "
                "(pass name=... to choose another)"
            )
        if not self.description.strip():
            raise ToolDefinitionError(
                f"tool {self.name!r} has no description; give the function a docstring whose "
                "first line says what the tool does, or pass description=..."
            )
        if self.timeout is not None and self.timeout <= 0:
            raise ToolDefinitionError(
                f"tool {self.name!r}: timeout must be > 0, got {self.timeout}"
            )
        if self.max_output_chars is not None and self.max_output_chars < 1:
            raise ToolDefinitionError(
                f"tool {self.name!r}: max_output_chars must be >= 1, got {self.max_output_chars}"
            )

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_output_chars: int | None = None,
    ) -> Tool:
        """A tool from a typed function; the schema comes from its hints and docstring.

        Raises:
            ToolDefinitionError: a parameter without a type hint, ``*args``/``**kwargs``, no
                docstring and no ``description``, or a name the API does not accept.
        """
        func_name = _function_name(fn)
        if not callable(fn):
            raise ToolDefinitionError(f"a tool needs a callable, got {type(fn).__name__}")
        sig = inspect_function(fn, func_name=func_name, all_required=strict)
        if not (description or sig.description):
            raise ToolDefinitionError(
                f"tool function {func_name!r} has no docstring; add one whose first line says what "
                "the tool does (the model reads it), or pass @tool(description=...)"
            )
        return cls(
            name=name or func_name,
            description=description or sig.description,
            parameters=sig.parameters,
            fn=fn,
            validator=sig.validate,
            context_param=sig.context_param,
            positional=sig.positional,
            injected=sig.injected,
            strict=strict,
            timeout=timeout,
            retry=retry,
            max_output_chars=max_output_chars,
        )

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        fn: Callable[..., Any],
        *,
        strict: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        max_output_chars: int | None = None,
    ) -> Tool:
        """A tool from a plain JSON-schema dict; ``fn`` receives the arguments as keywords.

        Arguments are checked against ``parameters`` (types, required keys,
        ``additionalProperties``, enums, bounds) before ``fn`` runs. A parameter of ``fn``
        annotated ``ToolContext`` receives the context, and parameters marked for injection
        (``Annotated[T, InjectedState]``, ...) their values.

        Raises:
            ToolDefinitionError: ``parameters`` is not an object schema, or a bad name.
        """
        check_schema(parameters, tool_name=name)

        def validate(tool_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
            problems = validate_json(dict(arguments), parameters)
            if problems:
                raise ToolArgumentsError(tool_name, problems)
            return dict(arguments)

        func_name = _function_name(fn)
        return cls(
            name=name,
            description=description,
            parameters=dict(parameters),
            fn=fn,
            validator=validate,
            context_param=context_parameter(fn, func_name),
            injected=injected_parameters(fn, func_name),
            strict=strict,
            timeout=timeout,
            retry=retry,
            max_output_chars=max_output_chars,
        )

    def with_(self, **changes: Any) -> Tool:
        """A copy with some fields changed (``tool.with_(timeout=5, name="search_v2")``)."""
        return dataclasses.replace(self, **changes)

    def spec(self) -> dict[str, Any]:
        """The tool in OpenAI function format: ``{"type": "function", "function": {...}}``."""
        function: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "parameters": dict(self.parameters),
        }
        if self.strict:
            function["strict"] = True
        return {"type": "function", "function": function}

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The values to call the function with, from model-sent arguments.

        Values for injected parameters are dropped first: the model never chooses them.

        Raises:
            ToolArgumentsError: the arguments break the schema; one problem per field.
        """
        if not self.injected:
            return self.validator(self.name, arguments)
        names = {p.name for p in self.injected}
        kept = {k: v for k, v in arguments.items() if k not in names}
        return {k: v for k, v in self.validator(self.name, kept).items() if k not in names}

    async def run(self, values: Mapping[str, Any], context: ToolContext) -> Any:
        """Run the function on values from :meth:`validate` (a sync function in a thread).

        Injected parameters missing from ``values`` are computed from ``context``.

        Raises:
            ToolInjectionError: an injected parameter cannot be filled (from its marker).
        """
        kwargs = dict(values)
        if self.context_param is not None:
            kwargs[self.context_param] = context
        for param in self.injected:
            if param.name not in kwargs and (value := param.value(context)) is not OMIT:
                kwargs[param.name] = value
        args = [kwargs.pop(name) for name in self.positional if name in kwargs]
        if is_async_callable(self.fn):
            result = await self.fn(*args, **kwargs)
        else:
            result = await asyncio.to_thread(self.fn, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    @functools.cached_property
    def args_schema(self) -> type[BaseModel]:
        """The arguments as a pydantic model (LangChain's ``args_schema``): its JSON schema is
        :attr:`parameters`, and validating with it runs the tool's own validator."""
        return _arguments_model(self)

    async def ainvoke(
        self,
        input: ToolInput,
        config: Mapping[str, Any] | None = None,
        *,
        context: ToolContext | None = None,
    ) -> Any:
        """Run the tool once, without timeout or retry, as LangChain's ``BaseTool.ainvoke``.

        ``input`` is a dict of arguments (the function's return value comes back), a string
        for a tool with one parameter, or a tool call: then the answer is a ``ToolMessage``
        with the call's id, hone's for a hone :class:`~hone.messages.ToolCall` and
        LangChain's for LangChain's tool-call dict. ``config`` (a LangChain
        ``RunnableConfig``) is accepted for compatibility; hone does not read it.

        As with LangChain's tools, a direct call may give injected parameters' values in
        ``input``; those it leaves out come from ``context`` (the executor, by contrast,
        always drops what the model sends for them).

        Raises:
            ToolArgumentsError: the arguments break the schema.
            ToolInjectionError: an injected parameter cannot be filled.
        """
        call_id, arguments, family = self._read_input(input)
        ctx = context or ToolContext(call_id=call_id or new_id("call_"), tool_name=self.name)
        given = {p.name: arguments[p.name] for p in self.injected if p.name in arguments}
        value = await self.run({**self.validate(arguments), **given}, ctx)
        if family is None:
            return value
        message = tool_message(value, ctx.call_id, self.name)
        return to_langchain(message) if family == "langchain" else message

    def invoke(
        self,
        input: ToolInput,
        config: Mapping[str, Any] | None = None,
        *,
        context: ToolContext | None = None,
    ) -> Any:
        """The synchronous :meth:`ainvoke`."""
        return run_sync(self.ainvoke(input, config, context=context))

    def _read_input(
        self, input: ToolInput
    ) -> tuple[str | None, Mapping[str, Any], Literal["hone", "langchain"] | None]:
        """(call id, arguments, family of the answer; None: answer with the bare value)."""
        if isinstance(input, ToolCall):
            return input.id, input.arguments, "hone"
        if isinstance(input, Mapping) and input.get("type") == "tool_call":
            args = input.get("args")
            if not isinstance(args, Mapping):
                raise ToolArgumentsError(self.name, ["the tool call has no 'args' dict"])
            return input.get("id"), args, "langchain"
        if isinstance(input, str):
            names = list(self.parameters.get("properties", {}))
            if len(names) != 1:
                raise ToolArgumentsError(
                    self.name,
                    [f"a string input needs a tool with one parameter; this one has {names}"],
                )
            return None, {names[0]: input}, None
        if isinstance(input, Mapping):
            return None, input, None
        raise ToolArgumentsError(
            self.name, [f"expected a dict of arguments or a tool call, got {type(input).__name__}"]
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly, as if it were not a tool."""
        return self.fn(*args, **kwargs)


def result_content(value: Any) -> str | list[ContentPart]:
    """What the model sees of a tool's return value: strings and content parts as they are,
    anything else as JSON (or ``str()`` when it is not JSON-able)."""
    if isinstance(value, str):
        return value
    if isinstance(value, TextPart | ImagePart):
        return [value]
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, TextPart | ImagePart) for v in value)
    ):
        return list(value)
    try:
        return pydantic_core.to_json(value, fallback=str).decode()
    except (TypeError, ValueError, pydantic_core.PydanticSerializationError):
        return str(value)


def tool_message(value: Any, call_id: str, name: str) -> ToolMessage:
    """The hone ``ToolMessage`` answering call ``call_id`` with a tool's return value (a
    returned ``ToolMessage`` of either family is used as it is)."""
    if isinstance(value, ToolMessage):
        return value
    if is_langchain_message(value) and getattr(value, "type", None) == "tool":
        converted = from_langchain(value)
        if isinstance(converted, ToolMessage):
            return converted
    return ToolMessage(content=result_content(value), tool_call_id=call_id, name=name)


def _arguments_model(tool: Tool) -> type[BaseModel]:
    parameters = copy.deepcopy(dict(tool.parameters))
    validate = tool.validate

    class Arguments(BaseModel):
        model_config = ConfigDict(extra="allow", frozen=True)

        @model_validator(mode="before")
        @classmethod
        def _validate(cls, data: Any) -> Any:
            if not isinstance(data, Mapping):
                raise ValueError(f"expected a dict of arguments, got {type(data).__name__}")
            try:
                return validate(data)
            except ToolArgumentsError as exc:
                raise ValueError(str(exc)) from exc

        @classmethod
        def __get_pydantic_json_schema__(
            cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
        ) -> dict[str, Any]:
            return copy.deepcopy(parameters)

    Arguments.__name__ = Arguments.__qualname__ = f"{tool.name}_arguments"
    Arguments.__doc__ = f"The arguments of tool {tool.name!r}."
    return Arguments


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    fn_or_name: str | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    max_output_chars: int | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn_or_name: Callable[..., Any] | str | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = False,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    max_output_chars: int | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function a :class:`Tool`; use bare (``@tool``) or with options.

    The parameters' type hints and the docstring's ``Args:`` section give the schema; the
    docstring's summary gives the description. A parameter annotated :class:`ToolContext` is
    hidden from the model and filled at call time::

        @tool(timeout=10, retry=RetryPolicy(max_attempts=3))
        async def search(query: str, limit: int = 5) -> list[str]:
            '''Search the web.

            Args:
                query: What to look for.
                limit: How many hits to return.
            '''

    Raises:
        ToolDefinitionError: see :meth:`Tool.from_function`.
    """
    if isinstance(fn_or_name, str):
        name = name or fn_or_name
        fn_or_name = None

    def wrap(fn: Callable[..., Any]) -> Tool:
        if isinstance(fn, Tool):
            raise ToolDefinitionError(
                f"{fn.name!r} is already a tool; change its options with tool.with_(...)"
            )
        return Tool.from_function(
            fn,
            name=name,
            description=description,
            strict=strict,
            timeout=timeout,
            retry=retry,
            max_output_chars=max_output_chars,
        )

    if fn_or_name is None:
        return wrap
    return wrap(fn_or_name)

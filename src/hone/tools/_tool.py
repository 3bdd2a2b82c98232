"""A tool: a name, a description, a parameter schema, and a function to run."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from hone.errors import ToolArgumentsError, ToolDefinitionError
from hone.messages import new_id
from hone.tools._context import ToolContext
from hone.tools._jsonschema import check_schema, validate_json
from hone.tools._retry import RetryPolicy
from hone.tools._schema import context_parameter, inspect_function, unwrap_partial

__all__ = ["Tool", "Validator", "tool"]

#: Checks model-sent arguments for one tool: (tool name, arguments) -> validated values.
Validator = Callable[[str, Mapping[str, Any]], dict[str, Any]]

# The name rule of the OpenAI function-calling API, which most servers share.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _function_name(fn: Callable[..., Any]) -> str:
    inner = unwrap_partial(fn)
    return str(getattr(inner, "__name__", None) or type(inner).__name__)


def _is_async(fn: Callable[..., Any]) -> bool:
    inner = unwrap_partial(fn)
    return inspect.iscoroutinefunction(inner) or inspect.iscoroutinefunction(
        getattr(inner, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


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
        annotated ``ToolContext`` receives the context.

        Raises:
            ToolDefinitionError: ``parameters`` is not an object schema, or a bad name.
        """
        check_schema(parameters, tool_name=name)

        def validate(tool_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
            problems = validate_json(dict(arguments), parameters)
            if problems:
                raise ToolArgumentsError(tool_name, problems)
            return dict(arguments)

        return cls(
            name=name,
            description=description,
            parameters=dict(parameters),
            fn=fn,
            validator=validate,
            context_param=context_parameter(fn, _function_name(fn)),
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

        Raises:
            ToolArgumentsError: the arguments break the schema; one problem per field.
        """
        return self.validator(self.name, arguments)

    async def run(self, values: Mapping[str, Any], context: ToolContext) -> Any:
        """Run the function on values from :meth:`validate` (a sync function in a thread)."""
        kwargs = dict(values)
        if self.context_param is not None:
            kwargs[self.context_param] = context
        args = [kwargs.pop(name) for name in self.positional if name in kwargs]
        if _is_async(self.fn):
            result = await self.fn(*args, **kwargs)
        else:
            result = await asyncio.to_thread(self.fn, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def ainvoke(
        self, arguments: Mapping[str, Any], *, context: ToolContext | None = None
    ) -> Any:
        """Validate ``arguments`` and run the tool once, without timeout or retry.

        Raises:
            ToolArgumentsError: the arguments break the schema.
        """
        values = self.validate(arguments)
        ctx = context or ToolContext(call_id=new_id("call_"), tool_name=self.name)
        return await self.run(values, ctx)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly, as if it were not a tool."""
        return self.fn(*args, **kwargs)


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

"""Host functions: what code in a sandbox can call, run on the host (RPC).

The worker has no network and no secrets; everything that needs them (tools, model
sub-calls, a recursive agent) is a host function. Code calls it like a Python function;
the arguments and the result cross as JSON, a failure raises ``HostError`` in the code
(``TimeoutError`` past the function's time limit).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone._async import is_async_callable
from hone.errors import ConfigError
from hone.messages import ToolCall, new_id
from hone.tools import ExecutionOptions, ToolLike, ToolRegistry, aexecute_tool_call

__all__ = ["HostFunction", "host_functions", "tool_functions"]

_JSON_TYPES = {
    "integer": "int",
    "number": "float",
    "string": "str",
    "boolean": "bool",
    "array": "list",
    "object": "dict",
    "null": "None",
}


@dataclass(frozen=True, slots=True)
class HostFunction:
    """A function the code in a sandbox can call; it runs on the host.

    Attributes:
        name: the name the code calls it by (a Python identifier).
        handler: called with the code's positional and keyword arguments (JSON values); sync
            (run in a worker thread) or async. Its return value must be a JSON value; what
            it raises reaches the code as ``HostError("<Type>: <message>")``.
        doc: what the function does (the code's ``help(name)``; prompts show it).
        signature: the parameters as Python writes them, e.g. ``"(prompt: str) -> str"``.
        timeout: seconds one call may take (None: the session's ``Limits.call_timeout``).
    """

    name: str
    handler: Callable[..., Any]
    doc: str = ""
    signature: str = "(...)"
    timeout: float | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.startswith("__"):
            raise ConfigError(
                f"a host function's name must be a Python identifier, got {self.name!r}"
            )
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"HostFunction.timeout must be > 0 or None, got {self.timeout}")

    @classmethod
    def from_callable(
        cls, fn: Callable[..., Any], *, name: str | None = None, timeout: float | None = None
    ) -> HostFunction:
        """A host function calling ``fn``, named and documented after it."""
        try:
            signature = str(inspect.signature(fn))
        except (TypeError, ValueError):
            signature = "(...)"
        return cls(
            name=name or str(getattr(fn, "__name__", "")),
            handler=fn,
            doc=inspect.getdoc(fn) or "",
            signature=signature,
            timeout=timeout,
        )

    async def acall(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        """Run the handler with the code's arguments."""
        if is_async_callable(self.handler):
            return await self.handler(*args, **kwargs)
        return await asyncio.to_thread(self.handler, *args, **kwargs)

    def describe(self) -> str:
        """The function as a prompt shows it: ``def name(signature):`` and its doc."""
        doc = "\n".join(f"    {line}" for line in self.doc.splitlines()) if self.doc else ""
        return f"def {self.name}{self.signature}:\n" + (
            f'    """\n{doc}\n    """' if doc else "    ..."
        )

    def spec(self) -> dict[str, str]:
        """What the worker needs to make the stub: name, signature, doc."""
        return {"name": self.name, "signature": self.signature, "doc": self.doc}


def host_functions(
    functions: Mapping[str, Callable[..., Any]] | Iterable[HostFunction | Callable[..., Any]],
) -> list[HostFunction]:
    """Host functions from callables (named after them, or by the mapping's keys) and ready
    :class:`HostFunction` s.

    Raises:
        ConfigError: two functions share a name, or a name is not an identifier.
    """
    if isinstance(functions, Mapping):
        made = [HostFunction.from_callable(fn, name=name) for name, fn in functions.items()]
    else:
        made = [
            f if isinstance(f, HostFunction) else HostFunction.from_callable(f) for f in functions
        ]
    names = [f.name for f in made]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"two host functions share the name(s) {duplicates}")
    return made


class ToolError(Exception):
    """A tool call from sandboxed code failed; the message is what the executor said."""


def _signature(parameters: Mapping[str, Any]) -> str:
    properties: Mapping[str, Any] = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    parts = []
    for name, schema in properties.items():
        kind = schema.get("type") if isinstance(schema, Mapping) else None
        hint = _JSON_TYPES.get(kind, "Any") if isinstance(kind, str) else "Any"
        default = "" if name in required else f" = {schema.get('default')!r}"
        parts.append(f"{name}: {hint}{default}")
    return f"({', '.join(parts)})"


def tool_functions(
    tools: ToolRegistry | Sequence[ToolLike],
    *,
    execution: ExecutionOptions | None = None,
    state: Any = None,
    deps: Any = None,
) -> list[HostFunction]:
    """One host function per tool: the code calls ``name(*args, **kwargs)`` (positional
    arguments in the order of the tool's parameters); the call goes through hone's tool
    executor on the host (argument validation, the tool's timeout and retries, output
    truncation, ``execution.guard``); a failed call raises ``HostError`` in the code with
    the executor's message, a successful one returns the tool's value (its text when the
    value is not JSON).
    """
    registry = ToolRegistry.coerce(tools)
    return [
        HostFunction(
            name=tool.name,
            handler=_tool_handler(registry, tool.name, execution, state, deps),
            doc=tool.description,
            signature=_signature(tool.parameters),
        )
        for tool in registry
    ]


def _tool_handler(
    registry: ToolRegistry,
    name: str,
    execution: ExecutionOptions | None,
    state: Any,
    deps: Any,
) -> Callable[..., Any]:
    names = list((registry[name].parameters.get("properties") or {}).keys())

    async def call(*args: Any, **kwargs: Any) -> Any:
        if len(args) > len(names):
            raise ToolError(f"{name}() takes {len(names)} positional arguments, got {len(args)}")
        clash = [n for n in names[: len(args)] if n in kwargs]
        if clash:
            raise ToolError(f"{name}() got several values for {', '.join(clash)}")
        arguments = {**dict(zip(names, args, strict=False)), **kwargs}
        result = await aexecute_tool_call(
            ToolCall(id=new_id("call_"), name=name, arguments=arguments),
            registry,
            state=state,
            deps=deps,
            execution=execution,
        )
        content = result.content if isinstance(result.content, str) else str(result.content)
        if result.is_error:
            raise ToolError(content.removeprefix("Error: "))
        try:
            json.dumps(result.value)
        except (TypeError, ValueError):
            return content
        return result.value

    return call

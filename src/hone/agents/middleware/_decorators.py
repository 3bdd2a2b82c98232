"""Middleware from plain functions: ``@before_model``, ``@after_model``, ``@before_agent``,
``@after_agent``, ``@wrap_model_call``, ``@wrap_tool_call`` and ``@dynamic_prompt`` each make
an :class:`~hone.agents.middleware.AgentMiddleware` named after the function."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, overload

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._types import AgentState, JumpTo, ModelRequest, system_message_for

__all__ = [
    "after_agent",
    "after_model",
    "before_agent",
    "before_model",
    "dynamic_prompt",
    "wrap_model_call",
    "wrap_tool_call",
]

Decorated = AgentMiddleware[Any, Any, Any]
#: What a decorator called with options returns: the decorator itself.
Decorator: TypeAlias = Callable[[Callable[..., Any]], Decorated]


def _middleware(name: str, methods: dict[str, Any], state_schema: Any, tools: Any) -> Decorated:
    cls = type(
        name,
        (AgentMiddleware,),
        {"state_schema": state_schema or AgentState, "tools": list(tools or ()), **methods},
    )
    made: Decorated = cls()
    return made


def _node_hook(
    hook: str,
    func: Callable[..., Any] | None,
    *,
    state_schema: Any,
    tools: Sequence[Any] | None,
    can_jump_to: list[JumpTo] | None,
    name: str | None,
) -> Decorated | Decorator:
    def decorator(fn: Callable[..., Any]) -> Decorated:
        jumps = can_jump_to if can_jump_to is not None else getattr(fn, "__can_jump_to__", None)
        if inspect.iscoroutinefunction(fn):

            async def amethod(_self: Any, state: Any, runtime: Any) -> Any:
                return await fn(state, runtime)

            method: Any = amethod
            attribute = f"a{hook}"
        else:

            def smethod(_self: Any, state: Any, runtime: Any) -> Any:
                return fn(state, runtime)

            method = smethod
            attribute = hook
        if jumps:
            method.__can_jump_to__ = list(jumps)
        return _middleware(name or fn.__name__, {attribute: method}, state_schema, tools)

    return decorator if func is None else decorator(func)


@overload
def before_model(func: Callable[..., Any]) -> Decorated: ...


@overload
def before_model(
    func: None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorator: ...


def before_model(
    func: Callable[..., Any] | None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorated | Decorator:
    """A middleware whose ``before_model`` hook is ``func(state, runtime)`` (sync or async)."""
    return _node_hook(
        "before_model",
        func,
        state_schema=state_schema,
        tools=tools,
        can_jump_to=can_jump_to,
        name=name,
    )


@overload
def after_model(func: Callable[..., Any]) -> Decorated: ...


@overload
def after_model(
    func: None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorator: ...


def after_model(
    func: Callable[..., Any] | None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorated | Decorator:
    """A middleware whose ``after_model`` hook is ``func(state, runtime)`` (sync or async)."""
    return _node_hook(
        "after_model",
        func,
        state_schema=state_schema,
        tools=tools,
        can_jump_to=can_jump_to,
        name=name,
    )


@overload
def before_agent(func: Callable[..., Any]) -> Decorated: ...


@overload
def before_agent(
    func: None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorator: ...


def before_agent(
    func: Callable[..., Any] | None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorated | Decorator:
    """A middleware whose ``before_agent`` hook is ``func(state, runtime)`` (sync or async)."""
    return _node_hook(
        "before_agent",
        func,
        state_schema=state_schema,
        tools=tools,
        can_jump_to=can_jump_to,
        name=name,
    )


@overload
def after_agent(func: Callable[..., Any]) -> Decorated: ...


@overload
def after_agent(
    func: None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorator: ...


def after_agent(
    func: Callable[..., Any] | None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    can_jump_to: list[JumpTo] | None = None,
    name: str | None = None,
) -> Decorated | Decorator:
    """A middleware whose ``after_agent`` hook is ``func(state, runtime)`` (sync or async)."""
    return _node_hook(
        "after_agent",
        func,
        state_schema=state_schema,
        tools=tools,
        can_jump_to=can_jump_to,
        name=name,
    )


def _wrap_hook(
    hook: str,
    func: Callable[..., Any] | None,
    *,
    state_schema: Any,
    tools: Sequence[Any] | None,
    name: str | None,
) -> Decorated | Decorator:
    def decorator(fn: Callable[..., Any]) -> Decorated:
        if inspect.iscoroutinefunction(fn):

            async def amethod(_self: Any, request: Any, handler: Any) -> Any:
                return await fn(request, handler)

            methods: dict[str, Any] = {f"a{hook}": amethod}
        else:

            def smethod(_self: Any, request: Any, handler: Any) -> Any:
                return fn(request, handler)

            methods = {hook: smethod}
        return _middleware(name or fn.__name__, methods, state_schema, tools)

    return decorator if func is None else decorator(func)


@overload
def wrap_model_call(func: Callable[..., Any]) -> Decorated: ...


@overload
def wrap_model_call(
    func: None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    name: str | None = None,
) -> Decorator: ...


def wrap_model_call(
    func: Callable[..., Any] | None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    name: str | None = None,
) -> Decorated | Decorator:
    """A middleware whose ``wrap_model_call`` is ``func(request, handler)`` (an async
    function makes ``awrap_model_call``: the agent then runs only asynchronously)."""
    return _wrap_hook("wrap_model_call", func, state_schema=state_schema, tools=tools, name=name)


@overload
def wrap_tool_call(func: Callable[..., Any]) -> Decorated: ...


@overload
def wrap_tool_call(
    func: None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    name: str | None = None,
) -> Decorator: ...


def wrap_tool_call(
    func: Callable[..., Any] | None = None,
    *,
    state_schema: type[Any] | None = None,
    tools: Sequence[Any] | None = None,
    name: str | None = None,
) -> Decorated | Decorator:
    """A middleware whose ``wrap_tool_call`` is ``func(request, handler)`` (an async
    function makes ``awrap_tool_call``)."""
    return _wrap_hook("wrap_tool_call", func, state_schema=state_schema, tools=tools, name=name)


def _with_prompt(request: ModelRequest[Any], prompt: Any) -> ModelRequest[Any]:
    if isinstance(prompt, str):
        prompt = system_message_for(request.model, prompt)
    return request.override(system_message=prompt)


@overload
def dynamic_prompt(func: Callable[..., Any]) -> Decorated: ...


@overload
def dynamic_prompt(func: None = None) -> Decorator: ...


def dynamic_prompt(func: Callable[..., Any] | None = None) -> Decorated | Decorator:
    """A middleware that sets each model call's system message to ``func(request)`` (text
    or a system message; sync or async)."""

    def decorator(fn: Callable[..., Any]) -> Decorated:
        if inspect.iscoroutinefunction(fn):

            async def amethod(_self: Any, request: Any, handler: Any) -> Any:
                return await handler(_with_prompt(request, await fn(request)))

            return _middleware(fn.__name__, {"awrap_model_call": amethod}, None, None)

        def smethod(_self: Any, request: Any, handler: Any) -> Any:
            return handler(_with_prompt(request, fn(request)))

        async def from_sync(_self: Any, request: Any, handler: Any) -> Any:
            return await handler(_with_prompt(request, fn(request)))

        methods = {"wrap_model_call": smethod, "awrap_model_call": from_sync}
        return _middleware(fn.__name__, methods, None, None)

    return decorator if func is None else decorator(func)

"""Calling user code: nodes and routers with LangGraph's calling convention.

A node is called with its input as the first argument; parameters named ``config``,
``writer``, ``store``, ``runtime``, ``previous`` or ``error`` receive the run config, the stream
writer, the store, the :class:`~hone.graph.Runtime`, an entrypoint's previous return value
and a failed node's error (for error handlers). The signature is read once, at build time.
Objects with ``invoke``/``ainvoke`` (LangChain runnables) are called with ``(input, config)``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import types
import typing
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from hone._async import is_async_callable
from hone.errors import InvalidUpdateError
from hone.graph._constants import END, START
from hone.graph._types import Command, Send

__all__ = ["Branch", "Callee", "call_sync", "destinations_of", "run_coroutine"]

_INJECTABLE = ("config", "writer", "store", "runtime", "previous", "error")
#: Annotations of a ``config`` parameter that ask for the run config: LangChain's
#: ``RunnableConfig`` and hone's ``RunConfig`` (optional or not).
_CONFIG_TYPES = ("RunnableConfig", "RunConfig")
_CONFIG_ANNOTATIONS = tuple(
    form for name in _CONFIG_TYPES for form in (name, f"Optional[{name}]", f"{name}|None")
)


def _config_annotation_ok(annotation: Any) -> bool:
    """Whether a ``config`` parameter's annotation asks for the run config (none, or
    ``RunnableConfig`` / ``RunConfig``, optional or not)."""
    if annotation is inspect.Parameter.empty:
        return True
    if isinstance(annotation, str):
        return annotation.replace(" ", "") in _CONFIG_ANNOTATIONS
    if getattr(annotation, "__name__", "") in _CONFIG_TYPES:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return len(args) == 1 and _config_annotation_ok(args[0])
    return False


def _accepts(fn: Any) -> frozenset[str]:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return frozenset()
    names = list(params)
    out = set()
    for name in _INJECTABLE:
        p = params.get(name)
        if p is None or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        if names and names[0] == name and p.kind is p.POSITIONAL_OR_KEYWORD:
            continue  # the first parameter is the input, whatever its name
        if name == "config" and not _config_annotation_ok(p.annotation):
            # LangGraph's rule: a config parameter typed otherwise is not filled in.
            warnings.warn(
                f"The 'config' parameter should be typed as 'RunnableConfig' or "
                f"'RunnableConfig | None', not '{p.annotation}'. (hone's RunConfig works too; "
                f"a 'config' parameter typed otherwise is not passed the run config.)",
                UserWarning,
                stacklevel=4,
            )
            continue
        out.add(name)
    return frozenset(out)


def run_coroutine(awaitable: Any) -> Any:
    """Await ``awaitable`` from sync code: on this thread if no event loop runs here, else on
    a helper thread with its own loop (carrying the context variables)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(awaitable))
    box: list[tuple[bool, Any]] = []

    def runner() -> None:
        try:
            box.append((True, asyncio.run(_await(awaitable))))
        except BaseException as exc:
            box.append((False, exc))

    thread = threading.Thread(target=contextvars.copy_context().run, args=(runner,))
    thread.start()
    thread.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value


async def _await(awaitable: Any) -> Any:
    return await awaitable


@dataclass(frozen=True, slots=True)
class Callee:
    """A user callable with its calling convention read once."""

    fn: Any
    name: str
    is_async: bool
    accepts: frozenset[str]
    #: Called as ``obj.invoke(input, config)`` / ``obj.ainvoke(input, config)``.
    runnable: bool = False

    @classmethod
    def of(cls, fn: Any, name: str) -> Callee:
        """Read ``fn``'s calling convention."""
        if not callable(fn) and (hasattr(fn, "invoke") or hasattr(fn, "ainvoke")):
            return cls(fn, name, hasattr(fn, "ainvoke"), frozenset(), runnable=True)
        if (
            hasattr(fn, "invoke")
            and hasattr(fn, "ainvoke")
            and not inspect.isfunction(fn)
            and not inspect.ismethod(fn)
        ):
            return cls(fn, name, True, frozenset(), runnable=True)
        return cls(fn, name, is_async_callable(fn), _accepts(fn))

    def kwargs(self, injected: Mapping[str, Any]) -> dict[str, Any]:
        """The injectable arguments this callable takes, from ``injected``."""
        if not self.accepts:
            return {}
        return {k: injected.get(k) for k in self.accepts}

    def call(self, value: Any, task: Any, injected: Mapping[str, Any]) -> Any:
        """Call from sync code (a coroutine result is awaited); ``task`` gives the config
        (read only when the callable needs it)."""
        if self.runnable:
            config = _config_of(task)
            if hasattr(self.fn, "invoke"):
                return self.fn.invoke(value, config)
            return run_coroutine(self.fn.ainvoke(value, config))
        result = self.fn(value, **self.kwargs(injected)) if self.accepts else self.fn(value)
        if type(result) not in _NOT_AWAITABLE and inspect.isawaitable(result):
            return run_coroutine(result)
        return result

    def call_alone(self, value: Any, config: dict[str, Any]) -> Any:
        """Call outside a run: ``config`` is the only injectable argument there is."""
        if self.runnable:
            if hasattr(self.fn, "invoke"):
                return self.fn.invoke(value, config)
            return run_coroutine(self.fn.ainvoke(value, config))
        result = self.fn(value, **self.kwargs({"config": config}))
        if type(result) not in _NOT_AWAITABLE and inspect.isawaitable(result):
            return run_coroutine(result)
        return result

    async def acall_alone(self, value: Any, config: dict[str, Any]) -> Any:
        """Async :meth:`call_alone`."""
        if self.runnable:
            if hasattr(self.fn, "ainvoke"):
                return await self.fn.ainvoke(value, config)
            return await asyncio.to_thread(self.fn.invoke, value, config)
        result = self.fn(value, **self.kwargs({"config": config}))
        if type(result) not in _NOT_AWAITABLE and inspect.isawaitable(result):
            return await result
        return result

    def call_star(self, value: Any, task: Any, injected: Mapping[str, Any]) -> Any:
        """Call with ``value = (args, kwargs)`` from sync code; arguments the caller passed
        win over injected ones."""
        args, kwargs = value
        extra = {k: v for k, v in self.kwargs(injected).items() if k not in kwargs}
        result = self.fn(*args, **kwargs, **extra)
        if inspect.isawaitable(result):
            return run_coroutine(result)
        return result

    async def acall_star(self, value: Any, task: Any, injected: Mapping[str, Any]) -> Any:
        """Async :meth:`call_star`; sync callables run in a worker thread."""
        args, kwargs = value
        extra = {k: v for k, v in self.kwargs(injected).items() if k not in kwargs}
        if self.is_async:
            return await self.fn(*args, **kwargs, **extra)
        ctx = contextvars.copy_context()
        result = await asyncio.to_thread(ctx.run, lambda: self.fn(*args, **kwargs, **extra))
        if inspect.isawaitable(result):
            return await result
        return result

    async def acall(self, value: Any, task: Any, injected: Mapping[str, Any]) -> Any:
        """Call from async code; sync callables run in a worker thread."""
        if self.runnable:
            config = _config_of(task)
            if hasattr(self.fn, "ainvoke"):
                return await self.fn.ainvoke(value, config)
            return await asyncio.to_thread(
                contextvars.copy_context().run, self.fn.invoke, value, config
            )
        kwargs = self.kwargs(injected)
        if self.is_async:
            return await self.fn(value, **kwargs)
        ctx = contextvars.copy_context()
        result = await asyncio.to_thread(ctx.run, lambda: self.fn(value, **kwargs))
        if inspect.isawaitable(result):
            return await result
        return result


#: Result types of plain sync nodes and routers, checked before ``inspect.isawaitable``
#: (which tests an abstract base class: slower).
_NOT_AWAITABLE = frozenset((dict, str, type(None), list, tuple, int, bool))


def _config_of(task: Any) -> Any:
    return task.config if hasattr(task, "config") else task


def call_sync(callee: Callee, value: Any, config: Any, injected: Mapping[str, Any]) -> Any:
    """Call ``callee`` from sync code."""
    return callee.call(value, config, injected)


def _literal_values(annotation: Any) -> tuple[str, ...] | None:
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation))
    return None


def destinations_of(fn: Any) -> tuple[str, ...]:
    """Where a node may go by returning a Command, from a ``-> Command[Literal[...]]``
    annotation (also inside a union); empty when not declared."""
    target = fn
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        call = getattr(fn, "__call__", None)  # noqa: B004
        if not inspect.ismethod(call):
            return ()
        target = call
    try:
        ret = typing.get_type_hints(target).get("return")
    except Exception:
        return ()
    if ret is None:
        return ()
    candidates = [ret]
    if get_origin(ret) in (Union, getattr(__import__("types"), "UnionType", Union)):
        candidates = list(get_args(ret))
    for candidate in candidates:
        if get_origin(candidate) is Command and get_args(candidate):
            values = _literal_values(get_args(candidate)[0])
            if values:
                return values
    return ()


def _run_name(router: Any) -> str:
    """A router's name in LangChain callbacks: its function's (empty for a lambda, which
    LangGraph reports unnamed), else its type's."""
    name = getattr(router, "__name__", None)
    if name is None:
        return type(router).__name__
    return "" if name == "<lambda>" else str(name)


@dataclass(slots=True)
class Branch:
    """A conditional edge: ``path(state)`` names where to go (through ``ends``, the
    path_map), as node names, END, :class:`Send` packets or a list of them."""

    source: str
    name: str
    path: Callee
    #: path_map: the router's answers -> node names (None: the answers are node names).
    ends: dict[Hashable, str] | None
    #: The schema the router reads (from its first parameter's annotation), if any.
    input_schema: Any = None
    reads: Any = field(default=None)
    #: The router's name in LangChain callbacks (read once: see :func:`_run_name`).
    run_name: str = ""

    @classmethod
    def of(
        cls,
        source: str,
        name: str,
        path: Any,
        path_map: Mapping[Hashable, str] | Sequence[str] | None,
        input_schema: Any,
    ) -> Branch:
        """Read a router and its path map (a Literal return annotation stands for one)."""
        ends: dict[Hashable, str] | None
        if isinstance(path_map, Mapping):
            ends = dict(path_map)
        elif path_map is not None:
            ends = {name: name for name in path_map}
        else:
            ends = None
            try:
                target = path if inspect.isfunction(path) or inspect.ismethod(path) else None
                if target is None and inspect.ismethod(getattr(path, "__call__", None)):  # noqa: B004
                    target = path.__call__
                if target is not None:
                    values = _literal_values(typing.get_type_hints(target).get("return"))
                    if values:
                        ends = {v: v for v in values}
            except Exception:
                ends = None
        return cls(
            source, name, Callee.of(path, name), ends, input_schema, run_name=_run_name(path)
        )

    def destinations(self, result: Any) -> list[str | Send]:
        """Map the router's answer to destinations.

        Raises:
            InvalidUpdateError: an answer outside the path_map, a Send to END.
            ValueError: an answer that is no destination (None or START).
        """
        items = list(result) if isinstance(result, list | tuple) else [result]
        out: list[str | Send] = []
        for item in items:
            if isinstance(item, Send):
                if item.node == END:
                    raise InvalidUpdateError("Cannot send a packet to the END node")
                out.append(item)
            elif self.ends is not None:
                try:
                    out.append(self.ends[item])
                except (KeyError, TypeError):
                    raise InvalidUpdateError(
                        f"router {self.name!r} of the conditional edge from {self.source!r} "
                        f"returned {item!r}, which is not a key of its path_map; allowed: "
                        f"{sorted(map(str, self.ends))}"
                    ) from None
            else:
                out.append(item)
        if None in out or START in out:
            raise ValueError(
                f"Branch did not return a valid destination: router {self.name!r} of the "
                f"conditional edge from {self.source!r} returned {result!r}"
            )
        return out

"""Nodes and conditional edges as the compiled graph holds them: the user callable with its
calling convention read once, its retry policy, and the writes its outgoing edges make."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
import typing
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from hone.errors import InvalidUpdateError
from hone.graph._types import END, Command, RetryPolicy, RunConfig, Send

if TYPE_CHECKING:
    from hone.graph._context import TaskScope

__all__ = ["Branch", "NodeSpec", "call_maybe_async", "goto_targets", "takes_config"]


def takes_config(fn: Any) -> bool:
    """Whether a node or router accepts a second ``config`` argument (read once, at build)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.name == "config" for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def is_async_callable(fn: Any) -> bool:
    """Whether calling ``fn`` returns an awaitable (async def, or an object with one)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )


def _literal_values(annotation: Any) -> tuple[str, ...] | None:
    if get_origin(annotation) is Literal:
        return tuple(str(a) for a in get_args(annotation))
    return None


def goto_targets(fn: Any) -> tuple[tuple[str, ...] | None, bool]:
    """Where a node may go by returning a Command: ``(declared destinations, may go anywhere)``.

    Declared: a ``-> Command[Literal["a", "b"]]`` annotation. Otherwise a plain function whose
    code mentions ``Command`` or ``Send`` (or any other callable) may go anywhere.
    """
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    ret = hints.get("return")
    if ret is not None:
        args = get_args(ret)
        if get_origin(ret) is Command and args:
            return _literal_values(args[0]), _literal_values(args[0]) is None
        if ret is Command:
            return None, True
        if "Command" not in repr(ret) and "Send" not in repr(ret):
            return None, False
    code = getattr(fn, "__code__", None)
    if code is None:
        return None, True
    return None, _mentions(code, ("Command", "Send"))


def _mentions(code: Any, names: tuple[str, ...]) -> bool:
    if any(n in code.co_names for n in names):
        return True
    return any(_mentions(c, names) for c in code.co_consts if inspect.iscode(c))


def call_maybe_async(result: Any) -> Any:
    """Await a coroutine from sync code: on this thread if no loop runs here, else on a new one."""
    if type(result) in (dict, str) or result is None or not inspect.isawaitable(result):
        return result
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(result))
    box: list[Any] = []

    def runner() -> None:
        try:
            box.append((True, asyncio.run(_await(result))))
        except BaseException as exc:
            box.append((False, exc))

    # The node's task scope lives in a context variable: carry it into the helper thread.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(runner,))
    thread.start()
    thread.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value


async def _await(result: Any) -> Any:
    return await result


@dataclass(frozen=True, slots=True)
class Branch:
    """A conditional edge: ``router(state)`` names where to go (via ``path_map``)."""

    source: str
    name: str
    router: Callable[..., Any]
    path_map: Mapping[Hashable, str] | None
    takes_config: bool

    @property
    def ends(self) -> tuple[str, ...] | None:
        """The destinations this edge can lead to, when known."""
        if self.path_map is not None:
            return tuple(dict.fromkeys(self.path_map.values()))
        try:
            ret = typing.get_type_hints(self.router).get("return")
        except Exception:
            return None
        return _literal_values(ret)

    def route(self, state: Any, config: RunConfig | None) -> list[str | Send]:
        """Call the router and map its answer to node names (or sends); ``config`` is only
        needed when the router takes one.

        Raises:
            InvalidUpdateError: the router returned something not in its path_map.
        """
        result = self.router(state, config) if self.takes_config else self.router(state)
        result = call_maybe_async(result)
        items = result if isinstance(result, list | tuple) else [result]
        out: list[str | Send] = []
        for item in items:
            if isinstance(item, Send):
                out.append(item)
            elif self.path_map is not None:
                try:
                    out.append(self.path_map[item])
                except (KeyError, TypeError):
                    raise InvalidUpdateError(
                        f"router {self.name!r} of the conditional edge from {self.source!r} "
                        f"returned {item!r}, which is not a key of its path_map; allowed: "
                        f"{sorted(map(str, self.path_map))}. Return one of them or add "
                        f"{item!r} to the path_map"
                    ) from None
            elif isinstance(item, str):
                out.append(item)
            else:
                raise InvalidUpdateError(
                    f"router {self.name!r} of the conditional edge from {self.source!r} "
                    f"returned {item!r}; a router returns a node name, END, a Send, or a list "
                    f"of them"
                )
        return out


@dataclass(slots=True)
class NodeSpec:
    """A compiled node."""

    name: str
    fn: Any
    is_async: bool
    takes_config: bool
    retry: RetryPolicy | None
    #: Builds the node's input from the state dict.
    make_input: Callable[[dict[str, Any]], Any]
    #: (channel, value) writes of its static edges, made after each run.
    edge_writes: tuple[tuple[str, Any], ...]
    branches: tuple[Branch, ...]
    #: Declared Command destinations, and whether it may go anywhere.
    destinations: tuple[str, ...] | None
    may_goto: bool
    metadata: Mapping[str, Any]
    #: The compiled subgraph when the node is one.
    subgraph: Any = None
    #: Whether any of its routers takes a config (built only then).
    branch_config: bool = False

    def __post_init__(self) -> None:
        self.branch_config = any(b.takes_config for b in self.branches)

    def call_sync(self, value: Any, scope: TaskScope) -> Any:
        """Call the node from sync code."""
        if self.subgraph is not None:
            return self.subgraph.invoke_child(value, scope)
        args = (value, scope.config) if self.takes_config else (value,)
        return call_maybe_async(self.fn(*args))

    async def call_async(self, value: Any, scope: TaskScope, threaded: bool) -> Any:
        """Call the node from async code; a sync node runs in a thread when ``threaded``."""
        if self.subgraph is not None:
            return await self.subgraph.ainvoke_child(value, scope)
        args = (value, scope.config) if self.takes_config else (value,)
        if self.is_async:
            return await self.fn(*args)
        result = await asyncio.to_thread(self.fn, *args) if threaded else self.fn(*args)
        if inspect.isawaitable(result):
            return await result
        return result

    def ends_of_branches(self) -> list[str] | None:
        """All known branch destinations (None if any is unknown)."""
        out: list[str] = []
        for b in self.branches:
            ends = b.ends
            if ends is None:
                return None
            out.extend(e for e in ends if e != END)
        return out

"""``AgentMiddleware``: the hooks a middleware may define around an agent's loop, and
``hook_config`` (where a hook may jump)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic

from typing_extensions import TypeVar

from hone.agents.middleware._types import AgentState, JumpTo, ModelRequest, ModelResponse
from hone.graph._types import TracePolicy

__all__ = ["HOOKS", "AgentMiddleware", "can_jump_to", "defined", "hook_config", "implements"]

# Defaults, as LangChain's: ``AgentMiddleware[MyState]`` names the state alone.
StateT = TypeVar("StateT", default=AgentState[Any])
ContextT = TypeVar("ContextT", default=None)
ResponseT = TypeVar("ResponseT", default=Any)
F = TypeVar("F", bound=Callable[..., Any])

#: The node hooks, in the order a run meets them.
HOOKS = ("before_agent", "before_model", "after_model", "after_agent")


def _missing(kind: str, name: str, other: str, ways: str) -> str:
    return (
        f"{kind} implementation of {name} is not available. You are likely encountering this "
        f"error because you defined only the {other} version and invoked your agent in "
        f"{ways}. To resolve this, either: (1) subclass AgentMiddleware and implement "
        f"{name}, (2) use the @{name.removeprefix('a')} decorator on a standalone function "
        "of that kind, or (3) invoke your agent the other way."
    )


class _DefaultAgentState(AgentState[Any]):
    """A middleware's state when it declares none."""


class AgentMiddleware(Generic[StateT, ContextT, ResponseT]):
    """A piece of agent behaviour around :func:`~hone.agents.create_agent`'s loop.

    Subclass it and define any of:

    * node hooks ``before_agent`` / ``before_model`` / ``after_model`` / ``after_agent``
      (``(state, runtime) -> dict | Command | None``; async ``a``-prefixed twins): each
      becomes a node ``"<name>.<hook>"`` of the agent's graph; its return value updates the
      state, and ``{"jump_to": "model" | "tools" | "end"}`` sends the run there when the hook
      is marked with :func:`hook_config` ``(can_jump_to=[...])``;
    * ``wrap_model_call(request, handler)``: around every model call (the first middleware
      is the outermost); call ``handler(request)`` zero, one or several times;
    * ``wrap_tool_call(request, handler)``: around every tool call, likewise.

    Class attributes: ``state_schema`` (a :class:`AgentState` subclass whose keys join the
    agent's state), ``tools`` (tools the middleware adds to the agent), ``transformers``
    (stream transformer factories, :mod:`hone.graph.streaming`), ``trace_policy`` (what
    its hook nodes' callback runs record, :class:`~hone.graph.TracePolicy`; None: the
    default of :func:`~hone.agents.middleware.configure_trace_policy`). ``name`` (the class
    name unless overridden) names the middleware's nodes and must be unique in an agent.
    """

    state_schema: type[Any] = _DefaultAgentState
    tools: Sequence[Any] = ()
    #: Stream transformer factories the agent's ``stream_events(version="v3")`` runs add.
    transformers: Sequence[Any] = ()
    #: What the middleware's hook nodes record in traces (None: the process-wide default).
    trace_policy: TracePolicy | None = None

    @property
    def name(self) -> str:
        """The middleware's name: its class name unless a subclass says otherwise."""
        return type(self).__name__

    def before_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Once per invocation, before anything else."""

    async def abefore_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`before_agent`."""

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Before every model call."""

    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`before_model`."""

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """After every model call (the last middleware's first)."""

    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`after_model`."""

    def after_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Once per invocation, when the agent is done (the last middleware's first)."""

    async def aafter_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`after_agent`."""

    def wrap_model_call(
        self, request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]
    ) -> Any:
        """Around every model call in a sync run.

        Raises:
            NotImplementedError: the middleware defines only :meth:`awrap_model_call`.
        """
        raise NotImplementedError(
            _missing(
                "Synchronous", "wrap_model_call", "async (awrap_model_call)", "a synchronous run"
            )
        )

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Around every model call in an async run.

        Raises:
            NotImplementedError: the middleware defines only :meth:`wrap_model_call`.
        """
        raise NotImplementedError(
            _missing(
                "Asynchronous", "awrap_model_call", "sync (wrap_model_call)", "an asynchronous run"
            )
        )

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        """Around every tool call in a sync run.

        Raises:
            NotImplementedError: the middleware defines only :meth:`awrap_tool_call`.
        """
        raise NotImplementedError(
            _missing(
                "Synchronous", "wrap_tool_call", "async (awrap_tool_call)", "a synchronous run"
            )
        )

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        """Around every tool call in an async run.

        Raises:
            NotImplementedError: the middleware defines only :meth:`wrap_tool_call`.
        """
        raise NotImplementedError(
            _missing(
                "Asynchronous", "awrap_tool_call", "sync (wrap_tool_call)", "an asynchronous run"
            )
        )


def implements(middleware: AgentMiddleware[Any, Any, Any], hook: str) -> bool:
    """Whether ``middleware`` defines ``hook`` (its sync or its async form)."""
    cls = type(middleware)
    return any(
        getattr(cls, name) is not getattr(AgentMiddleware, name) for name in (hook, f"a{hook}")
    )


def defined(middleware: AgentMiddleware[Any, Any, Any], name: str) -> Callable[..., Any] | None:
    """The middleware's own ``name`` method (bound), or None when it keeps the base one."""
    if getattr(type(middleware), name) is getattr(AgentMiddleware, name):
        return None
    method: Callable[..., Any] = getattr(middleware, name)
    return method


def hook_config(*, can_jump_to: list[JumpTo] | None = None) -> Callable[[F], F]:
    """Mark a hook method with where it may jump (``"model"``, ``"tools"``, ``"end"``):
    the agent's graph then routes on the ``jump_to`` the hook returns."""

    def decorator(func: F) -> F:
        if can_jump_to is not None:
            func.__can_jump_to__ = list(can_jump_to)  # type: ignore[attr-defined]
        return func

    return decorator


def can_jump_to(middleware: AgentMiddleware[Any, Any, Any], hook: str) -> list[JumpTo]:
    """Where ``middleware``'s ``hook`` may jump (its sync form's mark, else its async's)."""
    for name in (hook, f"a{hook}"):
        method = defined(middleware, name)
        if method is not None and hasattr(method, "__can_jump_to__"):
            return list(method.__can_jump_to__)
    return []

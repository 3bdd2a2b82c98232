"""What LangGraph's injected tool parameters receive, and the per-call runtime they read.

``InjectedState``, ``InjectedStore`` and ``ToolRuntime`` (in ``_markers``, where they also
subclass LangChain's markers so that LangChain's ``@tool`` hides them from the model) get
their behaviour from the bases here. This module never imports langchain-core:
``ToolNode`` imports :func:`tool_runtime` from it.

Where a value comes from: the call's :class:`~hone.tools.ToolContext` ``runtime`` (a
:class:`ToolRuntime` that ``ToolNode`` builds with :func:`tool_runtime`); without one, the
context's ``state`` and the running graph (store, context, config; none outside a graph).
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic

from typing_extensions import TypeVar

from hone.errors import ConfigError, ToolInjectionError
from hone.graph import ExecutionInfo, Runtime, ServerInfo, get_config, get_runtime
from hone.graph._context import emit_tool_output_delta
from hone.tools._context import ToolContext
from hone.tools._injected import OMIT, Injected, InjectedParam, register_named

__all__ = [
    "BaseToolRuntime",
    "InjectionValueError",
    "StateAttributeError",
    "StateInjection",
    "StateKeyError",
    "StoreInjection",
    "tool_runtime",
]

ContextT = TypeVar("ContextT", default=None)
StateT = TypeVar("StateT", default=dict[str, Any])

#: The key a list-of-messages state stands under (LangGraph's ``ToolNode`` default).
_MESSAGES_KEY = "messages"
#: The module defining the public classes (it imports langchain-core when installed).
_PUBLIC_MODULE = "hone.graph.prebuilt._markers"


class StateKeyError(ToolInjectionError, KeyError):
    """A state key an ``InjectedState("key")`` parameter needs is missing."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StateAttributeError(ToolInjectionError, AttributeError):
    """A state attribute an ``InjectedState("name")`` parameter needs is missing."""


class InjectionValueError(ToolInjectionError, ValueError):
    """No store, or a state that cannot hold the key a parameter needs."""


def _no_op_writer(chunk: Any) -> None:
    return None


@dataclass(frozen=True)
class BaseToolRuntime(Injected, Generic[ContextT, StateT]):
    """The fields and behaviour of ``ToolRuntime``, without LangChain's marker base.

    A parameter annotated ``ToolRuntime`` (or ``ToolRuntime[Ctx]``) receives the call's
    runtime: the graph state, the run's context, the node's config, the stream writer, the
    call's id, the store, the node's tools, and the execution and server info.
    """

    #: The graph state the node was given (a list of messages stays a list).
    state: StateT
    #: The run's context (``graph.invoke(..., context=...)``).
    context: ContextT
    #: The running node's config (``{}`` outside a graph).
    config: Mapping[str, Any]
    #: Sends a chunk to ``stream_mode="custom"`` (a no-op when nobody streams).
    stream_writer: Callable[[Any], None]
    #: The id of the call being answered.
    tool_call_id: str | None
    #: The graph's store, or None.
    store: Any
    #: The tools the node can run.
    tools: list[Any] = field(default_factory=list)
    execution_info: ExecutionInfo | None = None
    server_info: ServerInfo | None = None

    direct = True

    @classmethod
    def marker(cls) -> Injected:
        """The marker ``runtime: ToolRuntime`` stands for."""
        return _RuntimeMarker()

    def emit_output_delta(self, delta: Any) -> None:
        """Stream a piece of this call's output as a ``tool-output-delta`` event of
        ``stream_mode="tools"`` (``run.tool_calls[i].output_deltas`` in event streaming);
        nothing when the run does not stream tools, so tools may call it unconditionally."""
        emit_tool_output_delta(delta)


class _RuntimeMarker(Injected):
    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        return runtime_of(context)

    def __repr__(self) -> str:
        return "ToolRuntime"


def tool_runtime(
    *, state: Any, call_id: str | None, tools: Sequence[Any] = ()
) -> BaseToolRuntime[Any, Any]:
    """The runtime of one tool call, read from the running graph node.

    ``ToolNode`` passes it to the executor (``aexecute_tool_call(..., runtime=...)``);
    a node of your own that runs tools can do the same. Outside a graph the config is
    ``{}``, the context and store None and the stream writer a no-op.

    Args:
        state: The state the node was given.
        call_id: The id of the call the runtime is for.
        tools: The tools the node can run (``ToolRuntime.tools``).

    Returns:
        A ``ToolRuntime`` (the public class once it is imported, which every tool that
        asks for one has done).
    """
    try:
        runtime: Runtime[Any] = get_runtime()
        config: Mapping[str, Any] = get_config()
    except RuntimeError:  # outside a running node
        runtime, config = Runtime(stream_writer=_no_op_writer), {}
    return _runtime_class()(
        state=state,
        context=runtime.context,
        config=config,
        stream_writer=runtime.stream_writer,
        tool_call_id=call_id,
        store=runtime.store,
        tools=list(tools),
        execution_info=runtime.execution_info,
        server_info=runtime.server_info,
    )


def _runtime_class() -> type[BaseToolRuntime[Any, Any]]:
    # The public ``ToolRuntime`` subclasses LangChain's markers: it serves once its module
    # or langchain-core's tools are imported; until then the base does, and langchain-core
    # stays unimported.
    public = sys.modules.get(_PUBLIC_MODULE)
    if public is None and "langchain_core.tools" in sys.modules:
        public = importlib.import_module(_PUBLIC_MODULE)
    cls: type[BaseToolRuntime[Any, Any]] = (
        public.ToolRuntime if public is not None else BaseToolRuntime
    )
    return cls


def runtime_of(context: ToolContext) -> BaseToolRuntime[Any, Any]:
    """The runtime of the call ``context`` describes: its own (with this call's id), or
    one read from the running graph and the context's state.

    Raises:
        ConfigError: ``context.runtime`` is set but is no ``ToolRuntime``.
    """
    given = context.runtime
    if given is None:
        return tool_runtime(state=context.state, call_id=context.call_id)
    if not isinstance(given, BaseToolRuntime):
        raise ConfigError(
            f"ToolContext.runtime must be a ToolRuntime (hone.graph.prebuilt.tool_runtime "
            f"builds one), got {type(given).__name__}"
        )
    if given.tool_call_id != context.call_id:  # one runtime shared by a turn's calls
        return dataclasses.replace(given, tool_call_id=context.call_id)
    return given


def _state_of(context: ToolContext) -> Any:
    given = context.runtime
    return given.state if isinstance(given, BaseToolRuntime) else context.state


class StateInjection(Injected):
    """The behaviour of ``InjectedState``: the whole graph state, or one key of it."""

    def __init__(self, field: str | None = None) -> None:
        #: The state key (attribute, for an object state) to inject; None: the whole state.
        self.field = field

    def __repr__(self) -> str:
        return f"InjectedState({self.field!r})" if self.field else "InjectedState()"

    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        """The state, or its key ``field``; :data:`~hone.tools._injected.OMIT` for a
        missing key when the parameter has a default.

        Raises:
            ToolInjectionError: the key is missing (also a ``KeyError``; an
                ``AttributeError`` for an object state), or the state is a list of messages
                and the key is not ``"messages"`` (also a ``ValueError``).
        """
        state = _state_of(context)
        if isinstance(state, list):  # ToolNode given the messages alone
            state = {_MESSAGES_KEY: state}
            if self.field not in (None, _MESSAGES_KEY) and not param.optional:
                raise InjectionValueError(
                    f"tool {context.tool_name!r} reads state key {self.field!r} "
                    f"(parameter {param.name!r}), but the state is a list of messages; give "
                    "the node a state with that key"
                )
        if self.field is None:
            return state
        if isinstance(state, Mapping):
            if self.field in state:
                return state[self.field]
            if param.optional:
                return OMIT
            raise StateKeyError(self.field)
        if hasattr(state, self.field):
            return getattr(state, self.field)
        if param.optional:
            return OMIT
        raise StateAttributeError(self.field)


class StoreInjection(Injected):
    """The behaviour of ``InjectedStore``: the graph's store."""

    def __repr__(self) -> str:
        return "InjectedStore()"

    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        """The store of the call's runtime.

        Raises:
            ToolInjectionError: there is no store (also a ``ValueError``).
        """
        store = runtime_of(context).store
        if store is None:
            raise InjectionValueError(
                "Cannot inject store into tools with InjectedStore annotations - please "
                "compile your graph with a store."
            )
        return store


# LangGraph fills a LangChain tool's parameter named ``runtime`` whatever its annotation.
register_named("runtime", BaseToolRuntime.marker)

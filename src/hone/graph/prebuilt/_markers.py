"""LangGraph's markers for injected tool parameters: ``InjectedState``, ``InjectedStore`` and
``ToolRuntime``.

Each also subclasses LangChain's marker base when langchain-core is installed, so that
LangChain's ``@tool`` hides the parameter from the model as it does LangGraph's. That import
is why ``hone.graph.prebuilt`` loads this module only when one of the names is asked for.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from hone.graph.prebuilt._injected import (
    BaseToolRuntime,
    ContextT,
    StateInjection,
    StateT,
    StoreInjection,
)

__all__ = ["InjectedState", "InjectedStore", "ToolRuntime"]

if TYPE_CHECKING:
    _InjectedToolArg = object
    _DirectlyInjectedToolArg = object
elif importlib.util.find_spec("langchain_core") is not None:
    from langchain_core.tools.base import InjectedToolArg as _InjectedToolArg
    from langchain_core.tools.base import _DirectlyInjectedToolArg
else:
    _InjectedToolArg = _DirectlyInjectedToolArg = object


class InjectedState(StateInjection, _InjectedToolArg):
    """Marks a tool parameter that receives the graph state, or one key of it.

    ``Annotated[dict, InjectedState]`` receives the whole state, ``Annotated[str,
    InjectedState("foo")]`` its key ``"foo"`` (an attribute for a dataclass or pydantic
    state; a list of messages counts as ``{"messages": [...]}``). The model never sees the
    parameter. A missing key raises ``ToolInjectionError`` (a ``KeyError``) unless the
    parameter has a default::

        def lookup(query: str, user: Annotated[str, InjectedState("user_id")]) -> str:
            '''Look a thing up for the current user.'''
    """

    def __init__(self, field: str | None = None) -> None:
        """Inject the key ``field`` (None: the whole state)."""
        super().__init__(field)


class InjectedStore(StoreInjection, _InjectedToolArg):
    """Marks a tool parameter that receives the graph's store (``Annotated[BaseStore,
    InjectedStore()]``); the model never sees it. Without a store it raises
    ``ToolInjectionError`` (a ``ValueError``)."""


class ToolRuntime(BaseToolRuntime[ContextT, StateT], _DirectlyInjectedToolArg):
    """The runtime of one tool call; a parameter annotated ``ToolRuntime`` (or
    ``ToolRuntime[Ctx]``) receives it and the model never sees it::

        def remember(fact: str, runtime: ToolRuntime[Ctx]) -> str:
            '''Store a fact about the user.'''
            runtime.store.put(("facts", runtime.context.user_id), runtime.tool_call_id, fact)
            return "ok"

    Fields: ``state``, ``context``, ``config``, ``stream_writer``, ``tool_call_id``,
    ``store``, ``tools``, ``execution_info``, ``server_info``.
    """

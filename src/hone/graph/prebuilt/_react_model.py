"""Which model ``create_react_agent`` calls, and with which of its tools: a model given once
(a hone backend, a model spec, a LangChain chat model, or LangChain's ``bind_tools`` binding
of one), or LangGraph's dynamic model, a function ``(state, runtime) -> model`` called
before each model turn."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from hone.agent._scope import get_model
from hone.errors import ConfigError, ToolBindingError
from hone.graph._context import get_runtime
from hone.graph._runtime import Runtime
from hone.interop._model import ModelLike, is_langchain_chat_model, resolve_model
from hone.models import ModelBackend

__all__ = [
    "DynamicModel",
    "ModelChoice",
    "ModelSource",
    "is_dynamic_model",
    "is_langchain_model",
]

#: LangGraph's dynamic model: a function of the state and the node's
#: :class:`~hone.graph.Runtime` returning the model for this turn (anything
#: ``create_react_agent`` takes as a model), sync or async.
DynamicModel: TypeAlias = Callable[[Any, Runtime[Any]], "ModelLike | Awaitable[ModelLike]"]


def _is_langchain_runnable(value: object) -> bool:
    base = sys.modules.get("langchain_core.runnables.base")
    return base is not None and isinstance(value, base.Runnable)


def is_dynamic_model(model: object) -> bool:
    """Whether ``model`` is a function choosing the model (not a model, spec or runnable)."""
    return (
        callable(model)
        and not isinstance(model, str)
        and not _is_langchain_runnable(model)
        and not callable(getattr(model, "complete", None))
    )


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model of one turn, and the names of the tools it is offered (None: all)."""

    backend: ModelBackend
    tools: frozenset[str] | None = None


#: A model value as ``_choice`` reads it: the backend (None: none built in), the tools.
_Choice: TypeAlias = "tuple[ModelBackend | None, frozenset[str] | None]"


def _bound_names(bound: Sequence[Any]) -> frozenset[str]:
    """The tool names of a ``bind_tools`` binding: OpenAI-style and Anthropic-style specs
    (other entries, such as a provider's built-in tools, name none), as LangGraph reads them."""
    names: set[str] = set()
    for spec in bound:
        if not isinstance(spec, Mapping):
            continue
        function = spec.get("function") if spec.get("type") == "function" else None
        name = function.get("name") if isinstance(function, Mapping) else spec.get("name")
        if isinstance(name, str):
            names.add(name)
    return frozenset(names)


def _choice(model: Any, tool_names: Collection[str], *, exact: bool = False) -> _Choice:
    """The choice a model value makes: a ``bind_tools`` binding offers the tools it binds
    (hone binds them again with each request); anything else offers all.

    Raises:
        ConfigError: a binding with settings other than its tools (they would be lost); a
            value that is not a model.
        ToolBindingError: binding tools the agent does not have, or (``exact``, the agent's
            own model, as LangGraph checks it) not binding every tool the agent has.
    """
    base = sys.modules.get("langchain_core.runnables.base")
    if base is None or not isinstance(model, base.RunnableBinding):
        return resolve_model(model), None
    extra = sorted(set(model.kwargs) - {"tools"})
    if not is_langchain_chat_model(model.bound) or extra:
        raise ConfigError(
            "create_react_agent takes a chat model, or chat_model.bind_tools(tools) with no "
            f"other settings (this binding also sets {', '.join(extra) or 'a non-chat model'}); "
            "pass the chat model itself: the agent binds its tools with each request"
        )
    if "tools" not in model.kwargs:
        return resolve_model(model.bound), None
    names = _bound_names(model.kwargs["tools"])
    unknown = sorted(names - set(tool_names))
    if unknown:
        raise ToolBindingError(
            f"the model binds tools the agent does not have: {', '.join(unknown)}; give "
            "create_react_agent every tool the model may call"
        )
    missing = sorted(set(tool_names) - names)
    if exact and missing:
        raise ToolBindingError(
            f"the model does not bind the agent's tools {', '.join(missing)}; bind every tool "
            "you give create_react_agent (or pass the chat model unbound: the agent binds its "
            "tools with each request)"
        )
    return resolve_model(model.bound), names


def is_langchain_model(model: object) -> bool:
    """Whether ``model`` is a LangChain chat model or its ``bind_tools`` binding (never
    imports langchain-core)."""
    if is_langchain_chat_model(model):
        return True
    base = sys.modules.get("langchain_core.runnables.base")
    return (
        base is not None
        and isinstance(model, base.RunnableBinding)
        and is_langchain_chat_model(model.bound)
    )


class ModelSource:
    """Where each model turn of an agent gets its model: the run's model for ``role`` when
    it was given one (rollouts give the recording policy), else the agent's model (made by
    the dynamic function for this turn, if it is one).

    Raises:
        ConfigError: (building) a model that is none of the accepted kinds.
    """

    def __init__(self, model: Any, tool_names: Collection[str], role: str | None) -> None:
        self._tool_names = frozenset(tool_names)
        self._role = role
        self._function: DynamicModel | None = model if is_dynamic_model(model) else None
        #: Whether the agent's own model is a LangChain chat model (or its binding): its
        #: conversation is then kept in LangChain's messages.
        self.langchain = is_langchain_model(model)
        self._static: _Choice = (
            (None, None)
            if model is None or self._function is not None
            else _choice(model, self._tool_names, exact=True)
        )

    @property
    def dynamic(self) -> bool:
        """Whether a function chooses the model each turn."""
        return self._function is not None

    async def choose(self, state: Any) -> ModelChoice:
        """The model for a turn on ``state`` (a dynamic model's function sees the whole
        state, not what a ``pre_model_hook`` made the model's input).

        Raises:
            ConfigError: no model at all (none built in, none given to the run), or a
                dynamic model returning something that is not a model.
        """
        built, tools = self._static
        if self._function is not None:
            chosen = self._function(state, get_runtime())
            if inspect.isawaitable(chosen):
                chosen = await chosen
            built, tools = _choice(chosen, self._tool_names)
        return ModelChoice(get_model(self._role, default=built), tools)

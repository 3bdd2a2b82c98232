"""What an agent program shares with whoever runs it: the model it was given, and why its
agent loops stopped.

A rollout (or you, when serving) gives the code it runs a model with :func:`use_model`; graph
nodes and ``create_react_agent`` read it with :func:`get_model`. The agent step reports why a
loop stopped (:class:`AgentStop`) to whoever listens with :func:`watch_stops`; rollouts record it
on the episode (``Episode.stop_reason``), as data rather than by reading message text.

Both live in context variables: graph runtimes (hone's and LangGraph's) copy the context into
the threads and tasks that run nodes, so a value given around ``invoke`` reaches every node,
and concurrent rollouts never see each other's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, TypeAlias

from hone.errors import ConfigError
from hone.interop._model import ModelLike, resolve_model
from hone.models._protocol import ModelBackend

__all__ = [
    "AgentStop",
    "StopReason",
    "get_model",
    "given_model",
    "report_stop",
    "use_model",
    "watch_stops",
]

#: Why an agent stopped. The agent step reports ``answered`` (a reply without tool calls),
#: ``truncated`` (that reply was cut off at the token limit), ``stop_tool`` (it called one of
#: its stop tools) and ``step_budget`` (its steps ran out: with or without a final-answer
#: turn, or a graph's recursion limit); a rollout adds ``error`` (the program raised) and
#: ``context_overflow`` (a prompt no longer fit the context window).
StopReason: TypeAlias = Literal[
    "answered", "truncated", "stop_tool", "step_budget", "error", "context_overflow"
]


@dataclass(frozen=True, slots=True)
class AgentStop:
    """An agent loop stopped.

    Attributes:
        reason: why (see :data:`StopReason`).
        model: the model the loop called, so a multi-role run can tell whose loop it was.
    """

    reason: StopReason
    model: ModelBackend


_Given: TypeAlias = ModelBackend | Mapping[str, ModelBackend]
_MODELS: ContextVar[_Given | None] = ContextVar("hone_agent_models", default=None)
_STOPS: ContextVar[list[AgentStop] | None] = ContextVar("hone_agent_stops", default=None)


@contextlib.contextmanager
def use_model(model: ModelLike | Mapping[str, ModelLike]) -> Iterator[None]:
    """Give the code run inside the ``with`` block a model (or one per role) for
    :func:`get_model`.

    Rollouts do this for every program with the recording policy, so a graph built for
    serving trains without being rebuilt. When serving a graph whose nodes call
    :func:`get_model`, wrap its ``invoke`` (or the whole ``async for`` over its stream)::

        with use_model("openai:gpt-4.1"):
            graph.invoke({"messages": [("user", "hi")]})

    Args:
        model: a model (backend, spec string or LangChain chat model) for every role, or a
            mapping of role to model.

    Raises:
        ConfigError: an empty mapping, or a value that is not a model.
    """
    given: _Given
    if isinstance(model, Mapping):
        if not model:
            raise ConfigError("use_model() got an empty mapping; give at least one role a model")
        given = {str(role): resolve_model(m) for role, m in model.items()}
    else:
        given = resolve_model(model)
    token = _MODELS.set(given)
    try:
        yield
    finally:
        _MODELS.reset(token)


def given_model(role: str | None = None) -> ModelBackend | None:
    """The model the run was given for ``role`` (see :func:`get_model`), or None when it was
    given none.

    Raises:
        ConfigError: as :func:`get_model`, when the run was given models per role.
    """
    return None if _MODELS.get() is None else get_model(role)


def get_model(role: str | None = None, *, default: ModelBackend | None = None) -> ModelBackend:
    """The model the running code was given with :func:`use_model` (by a rollout, or by you).

    Args:
        role: which role's model, when the run was given one per role; a run given one
            model uses it for every role.
        default: returned when the run was given no model at all (how ``create_react_agent``
            falls back to the model it was built with).

    Raises:
        ConfigError: no model was given and there is no default; ``role`` has no model; or
            several roles have one and ``role`` is None.
    """
    given = _MODELS.get()
    if given is None:
        if default is not None:
            return default
        raise ConfigError(
            "no model was given to this run: wrap the call in `with hone.graph.use_model(model):` "
            "(rollouts and graph_program give the policy this way), or build the agent with "
            "a model"
        )
    if not isinstance(given, Mapping):
        return given
    if role is None:
        if len(given) == 1:
            return next(iter(given.values()))
        raise ConfigError(
            f"this run was given a model per role ({', '.join(sorted(given))}); "
            "name the one you want: get_model(role), or create_react_agent(..., role=...)"
        )
    if role not in given:
        raise ConfigError(
            f"no model for role {role!r}: this run was given models for {', '.join(sorted(given))}"
        )
    return given[role]


def report_stop(reason: StopReason, model: ModelBackend) -> None:
    """Tell whoever watches (:func:`watch_stops`) that an agent loop stopped; a no-op when
    nobody does."""
    stops = _STOPS.get()
    if stops is not None:
        stops.append(AgentStop(reason, model))


@contextlib.contextmanager
def watch_stops() -> Iterator[list[AgentStop]]:
    """Collect, in order, the stops reported by agent loops run inside the ``with`` block
    (in this task, and in the threads and tasks it starts)."""
    stops: list[AgentStop] = []
    token = _STOPS.set(stops)
    try:
        yield stops
    finally:
        _STOPS.reset(token)

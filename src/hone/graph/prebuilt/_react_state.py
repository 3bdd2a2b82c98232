"""The state of ``create_react_agent``: LangGraph's ``AgentState`` family, the check a custom
``state_schema`` must pass, and reading a key of either kind of state (a dict, or a pydantic
model instance)."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Annotated, Any, NotRequired, TypedDict

import pydantic
from pydantic import BaseModel

from hone.errors import ConfigError
from hone.graph._managed import RemainingSteps
from hone.graph._messages import add_messages

__all__ = [
    "AgentState",
    "AgentStatePydantic",
    "AgentStateWithStructuredResponse",
    "AgentStateWithStructuredResponsePydantic",
    "check_state_schema",
    "hooked_input_schema",
    "state_value",
]


class AgentState(TypedDict):
    """The state of a ``create_react_agent`` graph, as LangGraph's ``AgentState``: the
    conversation (merged by :func:`~hone.graph.add_messages`) and the super-steps left
    before the run's recursion limit (filled in by the runtime, never stored).

    Subclass it to give the agent a ``state_schema`` with keys of your own.
    """

    messages: Annotated[Sequence[Any], add_messages]
    remaining_steps: NotRequired[RemainingSteps]


class AgentStatePydantic(BaseModel):
    """:class:`AgentState` as a pydantic model (LangGraph's ``AgentStatePydantic``)."""

    messages: Annotated[Sequence[Any], add_messages]
    remaining_steps: RemainingSteps = 25


class AgentStateWithStructuredResponse(AgentState):
    """:class:`AgentState` with ``structured_response``: the value of the structured final
    answer ``response_format`` asks for (absent until the agent has answered)."""

    structured_response: NotRequired[Any]


class AgentStateWithStructuredResponsePydantic(AgentStatePydantic):
    """:class:`AgentStatePydantic` with ``structured_response`` (None until the agent has
    answered)."""

    structured_response: Any = None


class _HookedAgentState(AgentState):
    """The default state with ``pre_model_hook``: ``context``, state the hook keeps between
    turns (such as :class:`hone.memory.SummarizationNode`'s running summary). What the hook
    writes to ``llm_input_messages`` reaches the model through the model node's input (see
    :func:`hooked_input_schema`) and is not part of the agent's output."""

    context: NotRequired[dict[str, Any]]


class _HookedStructuredAgentState(_HookedAgentState):
    """``_HookedAgentState`` with ``structured_response``."""

    structured_response: NotRequired[Any]


def default_state_schema(*, hooked: bool, structured: bool) -> type[Any]:
    """The state ``create_react_agent`` uses when given no ``state_schema``."""
    if hooked:
        return _HookedStructuredAgentState if structured else _HookedAgentState
    return AgentStateWithStructuredResponse if structured else AgentState


def check_state_schema(schema: Any, *, structured: bool) -> None:
    """Check that a custom state schema has the keys the agent writes and reads.

    Raises:
        ConfigError: a schema whose keys cannot be read, or one missing ``messages``,
            ``remaining_steps``, or (with ``response_format``) ``structured_response``.
    """
    required = {"messages", "remaining_steps"} | ({"structured_response"} if structured else set())
    try:
        keys = set(typing.get_type_hints(schema))
    except Exception as exc:
        raise ConfigError(
            f"state_schema {schema!r} must be a TypedDict or pydantic model with annotated keys"
        ) from exc
    missing = sorted(required - keys)
    if missing:
        raise ConfigError(
            f"state_schema {getattr(schema, '__name__', schema)!r} lacks the key(s) "
            f"{', '.join(missing)}; subclass hone.graph.prebuilt.AgentState (or "
            "AgentStateWithStructuredResponse with response_format)"
        )


def hooked_input_schema(schema: type[Any]) -> type[Any]:
    """The model node's input after a ``pre_model_hook``: ``schema`` with
    ``llm_input_messages`` (LangGraph's ``CallModelInputSchema``), so the hook's
    ``llm_input_messages`` reach the model whatever state the graph keeps."""
    if issubclass(schema, BaseModel):
        fields: Any = {"llm_input_messages": (list[Any] | None, None)}
        built: type[Any] = pydantic.create_model("CallModelInputSchema", __base__=schema, **fields)
        return built
    # A TypedDict subclass made at run time: mypy cannot follow a dynamic base.
    return TypedDict(  # type: ignore[operator, no-any-return]
        "CallModelInputSchema",
        {**typing.get_type_hints(schema, include_extras=True), "llm_input_messages": list[Any]},
        total=False,
    )


def state_value(state: Any, key: str, default: Any = None) -> Any:
    """``state[key]`` of a dict state, ``state.key`` of a pydantic one, else ``default``."""
    if isinstance(state, dict):
        return state.get(key, default)
    return getattr(state, key, default)

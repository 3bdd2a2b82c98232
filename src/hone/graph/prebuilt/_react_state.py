"""The state of ``create_react_agent``: LangGraph's ``AgentState`` family, the check a custom
``state_schema`` must pass, the schema of an agent on a LangChain chat model, and reading a
key of either kind of state (a dict, or a pydantic model instance)."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Annotated, Any, NotRequired, Required, TypedDict, get_args, get_origin

import pydantic
from pydantic import BaseModel

from hone.errors import ConfigError
from hone.graph._managed import RemainingSteps
from hone.graph._messages import add_messages, declared_family, is_add_messages
from hone.interop._messages import langchain_messages_module

__all__ = [
    "AgentState",
    "AgentStatePydantic",
    "AgentStateWithStructuredResponse",
    "AgentStateWithStructuredResponsePydantic",
    "check_state_schema",
    "hooked_input_schema",
    "langchain_state_schema",
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


def _bare(annotation: Any) -> Any:
    """``annotation`` without ``Required``/``NotRequired``."""
    while get_origin(annotation) in (Required, NotRequired):
        annotation = get_args(annotation)[0]
    return annotation


def _langchain_messages(annotation: Any) -> Any:
    """The ``messages`` annotation typed with LangChain's messages (its reducer kept), or
    None when it already names a message family or is not merged by ``add_messages``."""
    annotation = _bare(annotation)
    if get_origin(annotation) is not Annotated:
        return None
    base, *metadata = get_args(annotation)
    if not is_add_messages(metadata[-1]) or declared_family(base) is not None:
        return None
    lc = langchain_messages_module()
    # Typed as Any: the annotation is built at run time from a class mypy cannot see.
    annotated: Any = Annotated
    sequence: Any = Sequence
    return annotated[(sequence[lc.BaseMessage], *metadata)]


def langchain_state_schema(schema: type[Any]) -> type[Any]:
    """``schema`` for an agent whose model is a LangChain chat model: the same keys, with
    ``messages`` typed with LangChain's ``BaseMessage``, so :func:`~hone.graph.add_messages`
    makes untyped input (``("user", "hi")``, OpenAI dicts, strings) LangChain messages, as
    LangGraph's ``AgentState`` does. ``schema`` itself when its ``messages`` key already
    names a message family (LangChain's or hone's) or is not merged by ``add_messages``.

    Only called for a LangChain chat model, so langchain-core is already imported.
    """
    hints = typing.get_type_hints(schema, include_extras=True)
    messages = _langchain_messages(hints.get("messages"))
    if messages is None:
        return schema
    if issubclass(schema, BaseModel):
        field = schema.model_fields["messages"]
        default = ... if field.is_required() else field.default
        fields: Any = {"messages": (messages, default)}
        derived: type[Any] = pydantic.create_model(
            schema.__name__, __base__=schema, __module__=schema.__module__, **fields
        )
        return derived
    required = getattr(schema, "__required_keys__", frozenset(hints))
    keys = {k: _bare(v) for k, v in hints.items()} | {"messages": messages}
    # A TypedDict made at run time: mypy cannot follow dynamic keys.
    typed: type[Any] = TypedDict(  # type: ignore[misc]
        schema.__name__,
        {k: v if k in required else NotRequired[v] for k, v in keys.items()},
    )
    typed.__module__ = schema.__module__
    typed.__doc__ = schema.__doc__
    return typed


def state_value(state: Any, key: str, default: Any = None) -> Any:
    """``state[key]`` of a dict state, ``state.key`` of a pydantic one, else ``default``."""
    if isinstance(state, dict):
        return state.get(key, default)
    return getattr(state, key, default)

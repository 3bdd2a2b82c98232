"""What a ``ToolNode`` takes in and hands to its interceptors: the three input shapes
LangGraph's ``ToolNode`` accepts, and ``ToolCallRequest`` (LangGraph's tool-call
interceptor request)."""

from __future__ import annotations

import asyncio
import dataclasses
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypedDict

from hone.errors import GraphError
from hone.interop._messages import from_langchain, is_langchain_message
from hone.messages import AssistantMessage, ToolCall, to_message
from hone.tools._execute import as_tool_call

__all__ = [
    "AsyncToolCallWrapper",
    "InputKind",
    "NodeInput",
    "ToolCallRequest",
    "ToolCallWithContext",
    "ToolCallWrapper",
    "call_dict",
    "messages_of",
    "parse_input",
    "run_sync_wrapper",
]

#: How the node was called, which decides the shape of its answer: a state (``dict``:
#: ``{messages_key: [...]}``), a list of messages (``list``: a list back), or tool calls
#: (``tool_calls``: ``{messages_key: [...]}``).
InputKind: TypeAlias = Literal["dict", "list", "tool_calls"]

#: One tool call sent to the node on its own with the state it was made in (LangGraph's
#: ``ToolCallWithContext``, what ``create_react_agent(version="v2")`` sends per call):
#: ``{"__type": "tool_call_with_context", "tool_call": {...}, "state": state}``.
ToolCallWithContext = TypedDict(
    "ToolCallWithContext",
    {"__type": Literal["tool_call_with_context"], "tool_call": Any, "state": Any},
)

ToolCallWithContext.__doc__ = """One tool call sent to a ``ToolNode`` on its own, with the state
it was made in (LangGraph's shape; ``create_react_agent(version="v2")`` sends one per call)."""

_WITH_CONTEXT = "tool_call_with_context"


@dataclasses.dataclass
class ToolCallRequest:
    """One tool call as a ``ToolNode`` interceptor (``wrap_tool_call``) sees it.

    ``tool_call`` is LangChain's dict (``name``, ``args``, ``id``, ``type``); ``tool`` the
    tool the node would run (as it was given to the node: a hone tool or a LangChain tool),
    or None when the node has no tool of that name (the interceptor may answer the call
    itself; executing it answers "not a valid tool"); ``state`` the graph state; ``runtime``
    the call's ``ToolRuntime``. Change a request with :meth:`override`.
    """

    tool_call: dict[str, Any]
    tool: Any
    state: Any
    runtime: Any = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__:  # set before: a change, not the dataclass's own __init__
            warnings.warn(
                f"Setting attribute {name!r} on ToolCallRequest is deprecated; use "
                "request.override(...) to make a changed copy",
                DeprecationWarning,
                stacklevel=2,
            )
        object.__setattr__(self, name, value)

    def override(self, **changes: Any) -> ToolCallRequest:
        """A copy with ``tool_call``, ``tool``, ``state`` or ``runtime`` replaced."""
        return dataclasses.replace(self, **changes)


#: ``wrap_tool_call``: ``(request, execute) -> ToolMessage | Command``; ``execute(request)``
#: runs the call (any number of times, for retries) and returns its answer.
ToolCallWrapper: TypeAlias = Callable[[ToolCallRequest, Callable[[ToolCallRequest], Any]], Any]
#: ``awrap_tool_call``: the same with an async ``execute``, returning an awaitable.
AsyncToolCallWrapper: TypeAlias = Callable[
    [ToolCallRequest, Callable[[ToolCallRequest], Awaitable[Any]]], Awaitable[Any]
]


@dataclasses.dataclass(frozen=True, slots=True)
class NodeInput:
    """What the node was given: its calls, the state tools see, the shape of the answer,
    and whether the conversation is LangChain's (answers and texts then are, too)."""

    calls: list[ToolCall]
    state: Any
    kind: InputKind
    langchain: bool


def call_dict(call: ToolCall) -> dict[str, Any]:
    """LangChain's tool-call dict for a hone call."""
    return {"name": call.name, "args": dict(call.arguments), "id": call.id, "type": "tool_call"}


def _is_call(value: Any) -> bool:
    return isinstance(value, ToolCall) or (
        isinstance(value, Mapping) and value.get("type") == "tool_call"
    )


def messages_of(value: Any, key: str) -> list[Any]:
    """The conversation in a node's input: the list itself, or the state's ``key``.

    Raises:
        GraphError: a state without ``key``.
    """
    if isinstance(value, list):
        return value
    found = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
    if found is None:
        raise GraphError(
            f"the state has no {key!r} key with messages; pass messages_key=... naming the key "
            "that holds the conversation"
        )
    return list(found)


def _latest_turn(messages: Sequence[Any]) -> tuple[AssistantMessage | None, bool]:
    """The latest model turn (as hone's) and whether it is LangChain's."""
    for message in reversed(messages):
        langchain = is_langchain_message(message)
        turn = from_langchain(message) if langchain else to_message(message)
        if isinstance(turn, AssistantMessage):
            return turn, langchain
    return None, bool(messages) and is_langchain_message(messages[-1])


def parse_input(value: Any, key: str) -> NodeInput:
    """The node's input read the way LangGraph's ``ToolNode`` reads it: a state with
    ``key``, a list of messages, a list of tool calls, or one :data:`ToolCallWithContext`.
    The calls are those of the latest model turn.

    Raises:
        GraphError: a state without ``key``.
    """
    if isinstance(value, Mapping) and value.get("__type") == _WITH_CONTEXT:
        call, state = value["tool_call"], value.get("state")
        messages = messages_of(state, key) if _has(state, key) else []
        langchain = _latest_turn(messages)[1] if messages else not isinstance(call, ToolCall)
        return NodeInput([as_tool_call(call)], state, "tool_calls", langchain)
    if isinstance(value, list) and value and _is_call(value[-1]):
        langchain = not isinstance(value[-1], ToolCall)
        return NodeInput([as_tool_call(c) for c in value], {}, "tool_calls", langchain)
    kind: InputKind = "list" if isinstance(value, list) else "dict"
    turn, langchain = _latest_turn(messages_of(value, key))
    calls = list(turn.tool_calls) if turn is not None else []
    return NodeInput(calls, value, kind, langchain)


def _has(state: Any, key: str) -> bool:
    if isinstance(state, Mapping):
        return key in state
    return getattr(state, key, None) is not None


async def run_sync_wrapper(
    wrapper: ToolCallWrapper,
    request: ToolCallRequest,
    execute: Callable[[ToolCallRequest], Awaitable[Any]],
) -> Any:
    """Run a sync ``wrap_tool_call`` in a worker thread; its ``execute`` runs the call on
    this event loop (in the wrapper's context: the task's interrupt scope and config) and
    blocks the wrapper's thread until the answer is ready."""
    loop = asyncio.get_running_loop()

    def execute_sync(req: ToolCallRequest) -> Any:
        return asyncio.run_coroutine_threadsafe(_as_coroutine(execute(req)), loop).result()

    return await asyncio.to_thread(wrapper, request, execute_sync)


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable

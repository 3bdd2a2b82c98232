"""The ``add_messages`` reducer and ``MessagesState``: a conversation as graph state.

``add_messages`` merges like LangGraph's: new messages are appended, a message whose id is
already in the list replaces it, :class:`RemoveMessage` deletes by id, and
``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` clears the list. Messages without an id get a
uuid4 string.

**Message families.** A list holds hone messages or LangChain messages, never both, and a
program keeps the family it writes:

* typed messages (hone's or LangChain's) are kept as given;
* untyped values (OpenAI dicts, ``(role, text)`` tuples, strings) become messages of the
  family of the typed messages in the same update, else of the messages already in the list,
  else of the family the state key declares (LangChain's for ``list[AnyMessage]`` with
  LangChain's ``AnyMessage``, in a reducer made by :func:`reducer_for_key`), else hone's;
* when an update brings a typed message of the other family, the list is converted
  (losslessly, see :mod:`hone.interop`) to the family of the newest typed message written.

``RemoveMessage`` of either family works on either list.
"""

from __future__ import annotations

import functools
import sys
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias, TypedDict, cast, overload

from hone.graph._context import emit_message_delta, scope_or_raise
from hone.interop._messages import (
    from_langchain,
    is_langchain_message,
    is_langchain_remove,
    langchain_messages_module,
    to_langchain,
)
from hone.messages import (
    AnyMessage,
    AssistantMessage,
    AssistantMessageChunk,
    SystemMessage,
    ToolMessage,
    UserMessage,
    to_message,
)

__all__ = [
    "REMOVE_ALL_MESSAGES",
    "MessagesState",
    "RemoveMessage",
    "add_messages",
    "declared_family",
    "is_add_messages",
    "push_message",
    "reducer_for_key",
]

#: ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` clears the list before the messages after it.
REMOVE_ALL_MESSAGES = "__remove_all__"

Family: TypeAlias = Literal["hone", "langchain"]
MessagesFormat: TypeAlias = Literal["langchain-openai"]
_HONE_TYPES = (SystemMessage, UserMessage, AssistantMessage, ToolMessage, AssistantMessageChunk)


@dataclass(frozen=True, slots=True)
class RemoveMessage:
    """Written to a messages key, removes the message with this id (LangChain's
    ``RemoveMessage`` works the same)."""

    id: str

    @property
    def type(self) -> Literal["remove"]:
        """``"remove"``, as LangChain's ``RemoveMessage.type``."""
        return "remove"


_HONE_PLAIN = frozenset({SystemMessage, UserMessage, AssistantMessage, ToolMessage, RemoveMessage})


def _removal_id(value: Any) -> str | None:
    if isinstance(value, RemoveMessage):
        return value.id
    if is_langchain_remove(value):
        return str(value.id)
    return None


def _family_of(values: list[Any]) -> Family | None:
    """The family of the last typed message (removals do not count), or None."""
    for value in reversed(values):
        if _removal_id(value) is not None:
            continue
        if is_langchain_message(value):
            return "langchain"
        if isinstance(value, _HONE_TYPES):
            return "hone"
    return None


def _as_langchain(value: Any, lc: Any) -> Any:
    if isinstance(value, RemoveMessage):
        return lc.RemoveMessage(id=value.id)
    if is_langchain_message(value):
        if isinstance(value, lc.BaseMessageChunk):
            return lc.message_chunk_to_message(value)
        return value
    if isinstance(value, _HONE_TYPES):
        return to_langchain(value)
    converted = lc.convert_to_messages([value])[0]
    if isinstance(converted, lc.BaseMessageChunk):
        return lc.message_chunk_to_message(converted)
    return converted


def _as_hone(value: Any) -> Any:
    if isinstance(value, RemoveMessage):
        return value
    if is_langchain_message(value):
        if is_langchain_remove(value):
            return RemoveMessage(id=str(value.id))
        return from_langchain(value)
    if isinstance(value, AssistantMessageChunk):
        return value.to_message()
    return to_message(value)


def _with_id(value: Any) -> Any:
    """``value`` with an id: LangChain messages get it in place (as LangGraph does), hone's
    immutable messages are copied."""
    if getattr(value, "id", None) is not None:
        return value
    if isinstance(value, _HONE_TYPES):
        return value.model_copy(update={"id": str(uuid.uuid4())})
    value.id = str(uuid.uuid4())
    return value


def _coerce(values: list[Any], family: Family) -> list[Any]:
    if family == "langchain":
        lc = langchain_messages_module()
        if _all_ready(
            values,
            lambda t: issubclass(t, lc.BaseMessage) and not issubclass(t, lc.BaseMessageChunk),
        ):
            return list(values)
        return [_with_id(_as_langchain(v, lc)) for v in values]
    if _all_ready(values, _HONE_PLAIN.__contains__):
        return list(values)
    return [_with_id(_as_hone(v)) for v in values]


def _all_ready(values: list[Any], plain: Callable[[type], bool]) -> bool:
    """Whether every value is already a message of the family with an id (a long history
    is: checking its few distinct types is much cheaper than converting each message)."""
    return all(plain(t) for t in set(map(type, values))) and all(v.id is not None for v in values)


def _merge(
    left: Any, right: Any, format: MessagesFormat | None = None, default: Family = "hone"
) -> list[Any]:
    left_list = left if isinstance(left, list) else [left]
    right_list = right if isinstance(right, list) else [right]
    family: Family = (
        "langchain"
        if format is not None
        else _family_of(right_list) or _family_of(left_list) or default
    )
    merged = _coerce(left_list, family)
    new = _coerce(right_list, family)
    for i in range(len(new) - 1, -1, -1):
        if _removal_id(new[i]) == REMOVE_ALL_MESSAGES:
            return new[i + 1 :]
    index = {m.id: i for i, m in enumerate(merged)}
    removed: set[str] = set()
    for msg in new:
        removal = _removal_id(msg)
        pos = index.get(msg.id)
        if pos is None:
            if removal is not None:
                raise ValueError(
                    f"Attempting to delete a message with an ID that doesn't exist ('{msg.id}')"
                )
            index[msg.id] = len(merged)
            merged.append(msg)
        elif removal is not None:
            removed.add(removal)
        else:
            merged[pos] = msg
            removed.discard(msg.id)
    if removed:
        merged = [m for m in merged if m.id not in removed]
    if format == "langchain-openai":
        lc = langchain_messages_module()
        return list(lc.convert_to_messages(lc.convert_to_openai_messages(merged)))
    if format is not None:
        raise ValueError(f"Unrecognized {format=}. Expected one of 'langchain-openai', None.")
    return merged


_Reducer: TypeAlias = Callable[[Any, Any], list[Any]]


@overload
def add_messages(
    left: None = None, right: None = None, *, format: str | None = ...
) -> _Reducer: ...


@overload
def add_messages(left: Any, right: Any, *, format: str | None = ...) -> list[Any]: ...


def add_messages(
    left: Any = None, right: Any = None, *, format: str | None = None
) -> list[Any] | _Reducer:
    """Merge two message lists: append new messages, replace those whose id is already there,
    delete those named by a ``RemoveMessage`` (hone's or LangChain's).

    Either side may be one message or a list of messages (hone's or LangChain's), OpenAI
    dicts, ``(role, text)`` tuples or strings; see the module docs for which message family
    the result holds. Messages without an id get a uuid4 string.

    Called with neither list, it returns the reducer with ``format`` applied, so it can be
    used as ``Annotated[list, add_messages(format="langchain-openai")]`` (LangChain messages
    with OpenAI-shaped content: text and ``image_url`` blocks, tool results as tool
    messages; needs langchain-core).

    Raises:
        ValueError: only one of ``left`` and ``right`` is given; a ``RemoveMessage`` names an
            id that is not in the list; ``format`` is not ``"langchain-openai"`` or None.
    """
    if left is not None and right is not None:
        return _merge(left, right, format)  # type: ignore[arg-type]
    if left is not None or right is not None:
        raise ValueError(
            "Must specify non-null arguments for both 'left' and 'right'. Only "
            f"received: '{'left' if left is not None else 'right'}'."
        )
    return cast(_Reducer, functools.partial(add_messages, format=format))


def declared_family(annotation: Any) -> Family | None:
    """The message family a type annotation names: ``"langchain"`` for LangChain's message
    classes (``list[AnyMessage]`` with LangChain's ``AnyMessage``, ``list[BaseMessage]``,
    ...), ``"hone"`` for hone's (``list[hone.messages.AnyMessage]``), None for neither
    (``list``, ``Sequence[Any]``). Never imports langchain-core."""
    base = sys.modules.get("langchain_core.messages.base")
    if isinstance(annotation, type):
        if base is not None and issubclass(annotation, base.BaseMessage):
            return "langchain"
        return "hone" if issubclass(annotation, _HONE_TYPES) else None
    for arg in typing.get_args(annotation):
        family = declared_family(arg)
        if family is not None:
            return family
    return None


def is_add_messages(reducer: Any) -> bool:
    """Whether ``reducer`` is :func:`add_messages` (or its ``format=`` partial)."""
    return reducer is add_messages or (
        isinstance(reducer, functools.partial) and reducer.func is add_messages
    )


def reducer_for_key(
    value_type: Any, reducer: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], Any]:
    """The reducer a state key annotated ``Annotated[value_type, reducer]`` runs.

    ``add_messages`` on a key that declares LangChain's message types (``list[AnyMessage]``
    with ``AnyMessage`` from ``langchain_core.messages``) makes untyped values (tuples, dicts,
    strings) LangChain messages when nothing typed says otherwise, as the declared type asks;
    any other reducer is returned as it is.
    """
    if not is_add_messages(reducer) or declared_family(value_type) != "langchain":
        return reducer
    fmt = reducer.keywords.get("format") if isinstance(reducer, functools.partial) else None

    def add_langchain_messages(left: Any, right: Any) -> list[Any]:
        return _merge(left, right, fmt, default="langchain")

    add_langchain_messages.__doc__ = add_messages.__doc__
    # The same merge as ``reducer`` (only the family of untyped values differs), so a schema
    # declaring LangChain messages and one that does not can share the key (see
    # ``BinaryOperatorAggregate.__eq__``): the graph's state schema says which runs.
    add_langchain_messages.__wrapped__ = reducer  # type: ignore[attr-defined]
    return add_langchain_messages


def push_message(message: Any, *, state_key: str | None = "messages") -> Any:
    """Send a whole message to ``stream_mode="messages"`` now, from inside a node, and (unless
    ``state_key`` is None) write it to that state key, as LangGraph's ``push_message`` does.

    A typed message (hone's or LangChain's; a chunk becomes its whole message) is sent as
    given; anything else message-like becomes a hone message. Returns the message.

    Raises:
        ValueError: the message has no id (the stream and the state match messages by id).
        GraphError: called outside a running graph node.
    """
    scope = scope_or_raise("push_message()")
    if is_langchain_message(message):
        msg = _as_langchain(message, langchain_messages_module())
    else:
        msg = _as_hone(message)
    if getattr(msg, "id", None) is None:
        raise ValueError("Message ID is required")
    emit_message_delta(msg)
    if state_key:
        scope.send([(state_key, msg)])
    return msg


class MessagesState(TypedDict):
    """A state with one key, ``messages``, merged by :func:`add_messages`."""

    messages: Annotated[list[AnyMessage], add_messages]

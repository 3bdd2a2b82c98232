"""The ``add_messages`` reducer and ``MessagesState``: a conversation as graph state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from hone.messages import AnyMessage, new_id, to_message

__all__ = ["REMOVE_ALL_MESSAGES", "MessagesState", "RemoveMessage", "add_messages"]

#: ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` clears the list before the messages after it.
REMOVE_ALL_MESSAGES = "__remove_all__"


@dataclass(frozen=True, slots=True)
class RemoveMessage:
    """Written to a messages key, removes the message with this id."""

    id: str


def _coerce(values: Any) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, str | tuple | dict | RemoveMessage) or hasattr(values, "role"):
        values = [values]
    out: list[Any] = []
    for value in values:
        msg = value if isinstance(value, RemoveMessage) else to_message(value)
        if msg.id is None:
            msg = msg.model_copy(update={"id": new_id()})
        out.append(msg)
    return out


def add_messages(left: Sequence[Any] | Any, right: Sequence[Any] | Any) -> list[AnyMessage]:
    """Merge two message lists: append new messages, replace those whose id is already there,
    delete those named by :class:`RemoveMessage`.

    Both sides may hold messages, OpenAI dicts, ``(role, text)`` tuples or strings; they are
    converted with :func:`hone.messages.to_message`, and messages without an id get one.

    Raises:
        ValueError: a RemoveMessage names an id that is not in the list.
    """
    merged = _coerce(left)
    new = _coerce(right)
    for i in range(len(new) - 1, -1, -1):
        item = new[i]
        if isinstance(item, RemoveMessage) and item.id == REMOVE_ALL_MESSAGES:
            merged, new = [], new[i + 1 :]
            break
    index = {m.id: i for i, m in enumerate(merged)}
    removed: set[str] = set()
    for msg in new:
        pos = index.get(msg.id)
        if pos is None:
            if isinstance(msg, RemoveMessage):
                raise ValueError(
                    f"RemoveMessage(id={msg.id!r}) names a message that is not in the list"
                )
            index[msg.id] = len(merged)
            merged.append(msg)
        elif isinstance(msg, RemoveMessage):
            removed.add(msg.id)
        else:
            merged[pos] = msg
            removed.discard(msg.id)
    if removed:
        merged = [m for m in merged if m.id not in removed]
    return merged


class MessagesState(TypedDict):
    """A state with one key, ``messages``, merged by :func:`add_messages`."""

    messages: Annotated[list[AnyMessage], add_messages]

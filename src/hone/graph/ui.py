"""Generative UI messages (LangGraph's ``langgraph.graph.ui``): a node tells the client to
render a named component with some props, through the ``custom`` stream and a state key.

A UI that renders a thread's ``ui`` key (LangGraph's ``useStream`` / ``LoadExternalComponent``
in React, or your own) shows the components the run pushed, in order, updated in place when
a push reuses an id and gone when one is deleted::

    class State(MessagesState):
        ui: Annotated[list[AnyUIMessage], ui_message_reducer]

    def weather(state: State) -> dict:
        reply = AIMessage("Here is the forecast.", id=str(uuid4()))
        push_ui_message("forecast", {"city": "Lisbon", "high": 24}, message=reply)
        return {"messages": [reply]}
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, cast

from typing_extensions import TypedDict

from hone.graph import _context

__all__ = [
    "AnyUIMessage",
    "RemoveUIMessage",
    "UIMessage",
    "delete_ui_message",
    "push_ui_message",
    "ui_message_reducer",
]


class UIMessage(TypedDict):
    """A component to render: its ``name``, its ``props``, and ``metadata`` (the run, the
    message it belongs to, whether its props merge into an earlier push with the same id)."""

    type: Literal["ui"]
    id: str
    name: str
    props: dict[str, Any]
    metadata: dict[str, Any]


class RemoveUIMessage(TypedDict):
    """Removes the component pushed with ``id``."""

    type: Literal["remove-ui"]
    id: str


AnyUIMessage: TypeAlias = UIMessage | RemoveUIMessage


def _message_id(message: Any) -> Any:
    if isinstance(message, Mapping):
        return message.get("id")
    return getattr(message, "id", None)


def push_ui_message(
    name: str,
    props: dict[str, Any],
    *,
    id: str | None = None,
    metadata: dict[str, Any] | None = None,
    message: Any = None,
    state_key: str | None = "ui",
    merge: bool = False,
) -> UIMessage:
    """Send a UI component to the client now (``stream_mode="custom"``) and, unless
    ``state_key`` is None, write it to that state key (reduced by :func:`ui_message_reducer`).

    Args:
        name: the component's name, as the client registers it.
        props: what the component is given.
        id: the component's id (a new uuid4 by default); pushing an id again replaces it.
        metadata: more metadata for the client.
        message: the message (hone's, LangChain's, or a dict with an ``id``) the component
            belongs to; its id goes into the metadata as ``message_id``.
        state_key: the state key that keeps the thread's UI.
        merge: merge ``props`` into those of the earlier push with the same id instead of
            replacing them.

    Raises:
        GraphError: called outside a running graph node.
    """
    scope = _context.scope_or_raise("push_ui_message()")
    config = _context.get_config()
    message_id = None if message is None else _message_id(message)
    event: UIMessage = {
        "type": "ui",
        "id": id or str(uuid.uuid4()),
        "name": name,
        "props": props,
        "metadata": {
            "merge": merge,
            "run_id": config.get("run_id"),
            "tags": config.get("tags"),
            "name": config.get("run_name"),
            **(metadata or {}),
            **({"message_id": message_id} if message_id else {}),
        },
    }
    _context.get_stream_writer()(event)
    if state_key:
        scope.send([(state_key, event)])
    return event


def delete_ui_message(id: str, *, state_key: str = "ui") -> RemoveUIMessage:
    """Remove the component pushed with ``id``: sent to the client now and written to
    ``state_key``.

    Raises:
        GraphError: called outside a running graph node.
    """
    scope = _context.scope_or_raise("delete_ui_message()")
    event: RemoveUIMessage = {"type": "remove-ui", "id": id}
    _context.get_stream_writer()(event)
    scope.send([(state_key, event)])
    return event


def ui_message_reducer(
    left: list[AnyUIMessage] | AnyUIMessage, right: list[AnyUIMessage] | AnyUIMessage
) -> list[AnyUIMessage]:
    """The reducer of a UI state key: a push with a new id appends, one with a known id
    replaces it (merging props when its metadata says ``merge``), a removal deletes it.

    Raises:
        ValueError: a removal names an id that is not there.
    """
    merged = list(left) if isinstance(left, list) else [left]
    updates = right if isinstance(right, list) else [right]
    where = {m.get("id"): i for i, m in enumerate(merged)}
    removed: set[Any] = set()
    for update in updates:
        key = update.get("id")
        position = where.get(key)
        if position is None:
            if update.get("type") == "remove-ui":
                raise ValueError(
                    f"Attempting to delete an UI message with an ID that doesn't exist ('{key}')"
                )
            where[key] = len(merged)
            merged.append(update)
        elif update.get("type") == "remove-ui":
            removed.add(key)
        else:
            removed.discard(key)
            metadata: dict[str, Any] = update.get("metadata") or {}  # type: ignore[assignment]
            if metadata.get("merge", False):
                earlier = cast(UIMessage, merged[position])
                update = {**update, "props": {**earlier["props"], **update["props"]}}  # type: ignore[typeddict-item]
            merged[position] = update
    return [m for m in merged if m.get("id") not in removed]

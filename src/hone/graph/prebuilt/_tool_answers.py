"""What a tool may answer a ``ToolNode`` call with besides a value, and LangGraph's checks
on it: a ``Command`` (its update must answer the call with a ``ToolMessage``, in the shape of
the node's input), or a list of commands and messages answering it exactly once. Messages
answering the call are named after the tool."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hone.errors import ToolAnswerError
from hone.graph._messages import REMOVE_ALL_MESSAGES
from hone.graph._types import Command, Send
from hone.graph.prebuilt._tool_request import InputKind
from hone.interop._messages import is_langchain_message
from hone.messages import ToolCall, ToolMessage

__all__ = [
    "checked_command",
    "checked_list",
    "is_answer_list",
    "is_tool_message",
    "only_sends_to_parent",
]


def is_tool_message(value: Any) -> bool:
    return isinstance(value, ToolMessage) or (
        is_langchain_message(value) and getattr(value, "type", None) == "tool"
    )


def only_sends_to_parent(item: Any) -> bool:
    return (
        isinstance(item, Command)
        and item.graph == Command.PARENT
        and bool(item.goto_items())
        and all(isinstance(target, Send) for target in item.goto_items())
    )


def is_answer_list(value: Any) -> bool:
    """A tool's list of commands and tool messages (LangGraph's multi-part answer)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, Command) or is_tool_message(v) for v in value)
    )


def _answers_call(call: ToolCall, message: Any) -> bool:
    return is_tool_message(message) and getattr(message, "tool_call_id", None) == call.id


def _command_messages(command: Command[Any], key: str) -> list[Any]:
    update = command.update
    if not isinstance(update, Mapping | list):
        return []
    values = (update.get(key) if isinstance(update, Mapping) else update) or []
    return list(values) if isinstance(values, list | tuple) else [values]


def _removes_all(messages: list[Any]) -> bool:
    """``[RemoveMessage(id=REMOVE_ALL_MESSAGES)]``: the history is cleared, nothing to answer."""
    return len(messages) == 1 and getattr(messages[0], "id", None) == REMOVE_ALL_MESSAGES


def checked_command(
    call: ToolCall, command: Command[Any], key: str, kind: InputKind, *, answers: bool = True
) -> Command[Any]:
    """A tool's Command must answer its call (``answers``), or the model would see an
    unanswered call; its update has the shape of the node's input (LangGraph's checks).

    Raises:
        ToolAnswerError: no answer, or an update of the other shape.
    """
    if isinstance(command.update, list) and kind != "list":
        raise ToolAnswerError(
            f"tool {call.name!r} returned a Command whose update is a list of messages; a "
            f"ToolNode given a state needs a dict update ({{{key!r}: [ToolMessage(...)]}})"
        )
    if isinstance(command.update, Mapping) and kind == "list":
        raise ToolAnswerError(
            f"tool {call.name!r} returned a Command whose update is a dict; a ToolNode given "
            "a list of messages needs a list update ([ToolMessage(...)])"
        )
    values = _command_messages(command, key)
    if (
        answers
        and command.graph != Command.PARENT
        and isinstance(command.update, Mapping | list)
        and not any(_answers_call(call, m) for m in values)
        and not _removes_all(values)
    ):
        raise ToolAnswerError(
            f"tool {call.name!r} returned a Command whose update has no ToolMessage answering "
            f"call {call.id!r}; add ToolMessage(content=..., tool_call_id=ctx.call_id) to "
            f"update[{key!r}]"
        )
    return _named(call, command, key)


def _named(call: ToolCall, command: Command[Any], key: str) -> Command[Any]:
    """The command with the messages answering ``call`` named after its tool, as
    LangGraph's ``ToolNode`` names them (a copy: the tool's command is not changed)."""
    update = command.update
    values = update.get(key) if isinstance(update, Mapping) else update
    if not isinstance(values, list | tuple):
        return command
    named = [
        m.model_copy(update={"name": call.name})
        if _answers_call(call, m) and getattr(m, "name", None) is None
        else m
        for m in values
    ]
    if isinstance(update, Mapping):
        return dataclasses.replace(command, update={**update, key: named})
    return dataclasses.replace(command, update=named)  # a list-of-messages state


def checked_list(call: ToolCall, items: list[Any], key: str, kind: InputKind) -> list[Any]:
    """A tool's list of commands and messages must answer its call exactly once.

    Raises:
        ToolAnswerError: no answer, or more than one.
    """
    answers = sum(
        sum(_answers_call(call, m) for m in _command_messages(item, key))
        if isinstance(item, Command)
        else _answers_call(call, item)
        for item in items
    )
    if answers != 1:
        raise ToolAnswerError(
            f"tool {call.name!r} returned a list with {answers} messages bound to tool_call_id "
            f"{call.id!r}; expected exactly one terminating ToolMessage"
        )
    return [
        checked_command(call, i, key, kind, answers=False) if isinstance(i, Command) else i
        for i in items
    ]

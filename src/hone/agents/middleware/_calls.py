"""Tool calls and tool answers of either message family: the calls of a model reply, and a
tool message in the conversation's family."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hone.interop._messages import is_langchain_message
from hone.messages import ToolMessage

__all__ = ["Call", "is_langchain_conversation", "tool_answer", "tool_calls_of"]


@dataclass(frozen=True, slots=True)
class Call:
    """One tool call of a reply: its id, tool name and arguments."""

    id: str | None
    name: str
    args: Any


def tool_calls_of(message: Any) -> list[Call]:
    """The tool calls of a reply (LangChain's dicts or hone's :class:`~hone.messages.ToolCall`)."""
    out: list[Call] = []
    for call in getattr(message, "tool_calls", None) or ():
        if isinstance(call, Mapping):
            out.append(Call(call.get("id"), call["name"], call.get("args", {})))
        else:
            out.append(Call(call.id, call.name, call.arguments))
    return out


def is_langchain_conversation(state: Any) -> bool:
    """Whether the conversation in ``state`` (its ``messages``) is kept in LangChain's
    messages (its last message is LangChain's)."""
    messages = state.get("messages") if isinstance(state, Mapping) else None
    return isinstance(messages, list) and bool(messages) and is_langchain_message(messages[-1])


def tool_answer(
    content: Any, call_id: str | None, name: str | None, *, langchain: bool, error: bool = False
) -> Any:
    """A tool message answering call ``call_id``: LangChain's (``status="error"`` when
    ``error``) or hone's (``is_error``)."""
    if langchain:
        from langchain_core.messages import ToolMessage as LangChainToolMessage

        status = "error" if error else "success"
        return LangChainToolMessage(content=content, tool_call_id=call_id, name=name, status=status)
    return ToolMessage(content=content, tool_call_id=call_id or "", name=name, is_error=error)

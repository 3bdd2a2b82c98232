"""The tool calls of a model reply, whichever message family it is in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "tool_calls_of"]


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

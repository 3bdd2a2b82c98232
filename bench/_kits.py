"""hone and LangGraph behind one small interface, so each benchmark writes its graph once.

A :class:`Kit` carries a framework's graph builder, reducers, message constructors and
savers. Graph code written against a kit runs unchanged on both frameworks; only the imports
(and the message classes, which differ) change — which is what hone promises.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Kit:
    """One framework's building blocks."""

    name: str
    StateGraph: Any
    START: str
    END: str
    add_messages: Callable[..., Any]
    user: Callable[[str], Any]
    #: (text, call id, tool name, arguments) -> an assistant message asking for one tool call
    ai_call: Callable[[str, str, str, dict[str, Any]], Any]
    #: (text, call id) -> a tool result message
    tool: Callable[[str, str], Any]
    ai: Callable[[str], Any]
    memory_saver: Callable[[], Any]
    #: a saver on the SQLite file at a path (a new object each call)
    sqlite_saver: Callable[[Path], Any]
    #: invoke config extras (LangGraph's durability mode)
    invoke_kwargs: dict[str, Any]

    def tool_call_of(self, message: Any) -> tuple[str, dict[str, Any]] | None:
        """(call id, arguments) of the first tool call of an assistant message, if any."""
        calls = getattr(message, "tool_calls", None)
        if not calls:
            return None
        call = calls[0]
        if isinstance(call, dict):  # LangGraph: {"name", "args", "id"}
            return str(call["id"]), dict(call["args"])
        return str(call.id), dict(call.arguments)


def hone_kit(durability: str | None = None) -> Kit:
    """hone's graph runtime and savers; ``durability`` None keeps its default (``"async"``,
    as LangGraph's)."""
    from hone.checkpoint import InMemorySaver, SqliteSaver
    from hone.graph import END, START, StateGraph, add_messages
    from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage

    def ai_call(text: str, call_id: str, name: str, args: dict[str, Any]) -> Any:
        call = ToolCall(id=call_id, name=name, arguments=args)
        return AssistantMessage(content=text, tool_calls=(call,))

    return Kit(
        name="hone" if durability is None else f"hone-{durability}",
        StateGraph=StateGraph,
        START=START,
        END=END,
        add_messages=add_messages,
        user=lambda text: UserMessage(content=text),
        ai_call=ai_call,
        tool=lambda text, call_id: ToolMessage(content=text, tool_call_id=call_id),
        ai=lambda text: AssistantMessage(content=text),
        memory_saver=InMemorySaver,
        sqlite_saver=lambda path: SqliteSaver(path),
        invoke_kwargs={} if durability is None else {"durability": durability},
    )


def langgraph_kit(durability: str | None = None) -> Kit:
    """LangGraph 1.x with langchain-core messages; ``durability`` None keeps its default."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END, START, StateGraph, add_messages

    def ai_call(text: str, call_id: str, name: str, args: dict[str, Any]) -> Any:
        return AIMessage(content=text, tool_calls=[{"name": name, "args": args, "id": call_id}])

    def sqlite_saver(path: Path) -> Any:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        # hone's SqliteSaver runs WAL with synchronous=NORMAL; give LangGraph the same setting
        # so that the comparison is about the frameworks, not about fsync.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return SqliteSaver(conn)

    return Kit(
        name="langgraph" if durability is None else f"langgraph-{durability}",
        StateGraph=StateGraph,
        START=START,
        END=END,
        add_messages=add_messages,
        user=lambda text: HumanMessage(content=text),
        ai_call=ai_call,
        tool=lambda text, call_id: ToolMessage(content=text, tool_call_id=call_id),
        ai=lambda text: AIMessage(content=text),
        memory_saver=InMemorySaver,
        sqlite_saver=sqlite_saver,
        invoke_kwargs={} if durability is None else {"durability": durability},
    )


def close_saver(saver: Any) -> None:
    """Close a saver's database connection(s), whichever framework made it."""
    close = getattr(saver, "close", None)
    if callable(close):
        close()
        return
    conn = getattr(saver, "conn", None)
    if isinstance(conn, sqlite3.Connection):
        conn.close()

"""A long tool-using conversation, driven turn by turn on a SQLite saver (hone or LangGraph).

Each turn is one ``invoke`` with a user message; the graph (agent → tools → agent) adds an
assistant tool call, a tool result and an assistant answer: 4 messages and 4 checkpoints per
turn. Texts are 200–500 characters, generated from a fixed seed, so both frameworks store the
same conversation.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Annotated, Any, TypedDict

from bench._kits import Kit, close_saver

_VOCABULARY = (
    "the agent checks the order status and the shipping address before it answers the "
    "customer about a refund for the delayed parcel, then it looks up the warehouse stock "
    "levels, the carrier tracking number, the invoice total and the return policy"
)
_WORDS = tuple(_VOCABULARY.split())


def text(kind: str, turn: int) -> str:
    """Deterministic text of 200–500 characters for one message of one turn."""
    rng = random.Random(f"{kind}-{turn}")
    length = rng.randint(200, 500)
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return f"[{kind} {turn}] " + " ".join(words)[: length - len(kind) - 10]


def conversation_graph(kit: Kit, saver: Any) -> Any:
    """agent → tools → agent, with a scripted model, on a kit."""

    # Built with the functional syntax: the reducer is the kit's, known only at run time.
    State = TypedDict("State", {"messages": Annotated[list[Any], kit.add_messages]})  # noqa: UP013

    def agent(state: dict[str, Any]) -> dict[str, Any]:
        messages = state["messages"]
        turn = (len(messages) - 1) // 4
        if len(messages) % 4 == 1:  # after the user message
            call = kit.ai_call(
                text("call", turn), f"call_{turn}", "search", {"query": text("query", turn)[:80]}
            )
            return {"messages": [call]}
        return {"messages": [kit.ai(text("answer", turn))]}

    def tools(state: dict[str, Any]) -> dict[str, Any]:
        found = kit.tool_call_of(state["messages"][-1])
        if found is None:
            raise RuntimeError("tools ran without a tool call")
        call_id, _ = found
        turn = (len(state["messages"]) - 2) // 4
        return {"messages": [kit.tool(text("result", turn), call_id)]}

    def route(state: dict[str, Any]) -> str:
        return "tools" if kit.tool_call_of(state["messages"][-1]) is not None else "__end__"

    g = kit.StateGraph(State)
    g.add_node("agent", agent)
    g.add_node("tools", tools)
    g.add_edge(kit.START, "agent")
    g.add_conditional_edges("agent", route, {"tools": "tools", "__end__": kit.END})
    g.add_edge("tools", "agent")
    return g.compile(checkpointer=saver)


THREAD = {"configurable": {"thread_id": "conversation"}}


def run_turn(kit: Kit, graph: Any, turn: int) -> dict[str, Any]:
    """One user turn; returns the graph's output."""
    out: dict[str, Any] = graph.invoke(
        {"messages": [kit.user(text("user", turn))]}, THREAD, **kit.invoke_kwargs
    )
    return out


def extend(kit: Kit, path: Path, start: int, stop: int) -> None:
    """Play turns ``start..stop-1`` on the database at ``path`` (a fresh saver object)."""
    saver = kit.sqlite_saver(path)
    try:
        graph = conversation_graph(kit, saver)
        for turn in range(start, stop):
            out = run_turn(kit, graph, turn)
            if len(out["messages"]) != 4 * (turn + 1):
                raise RuntimeError(f"{kit.name}: {len(out['messages'])} messages after turn {turn}")
    finally:
        close_saver(saver)


def fresh_db(path: Path) -> Path:
    """Remove a database file and its WAL companions."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def compacted_size(path: Path) -> int:
    """File size in bytes after folding the WAL into the file and VACUUM (no free pages)."""
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path.stat().st_size

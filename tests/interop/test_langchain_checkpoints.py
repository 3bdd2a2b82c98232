"""LangChain messages in graph state survive every saver exactly (type, id, content blocks,
tool calls, additional_kwargs, metadata, artifacts), and so do hone messages carrying
LangChain's extra fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core import messages as lc

from hone.checkpoint import Checkpointer, InMemorySaver
from hone.graph import END, START, MessagesState, StateGraph
from hone.interop import from_langchain

Opener = Callable[[], Checkpointer]


def _written() -> list[Any]:
    return [
        lc.AIMessage(
            content=[{"type": "text", "text": "calling", "cache_control": {"type": "ephemeral"}}],
            id="a1",
            additional_kwargs={"reasoning_content": "plan", "refusal": None, "raw": b"\x00\x01"},
            response_metadata={"finish_reason": "tool_calls", "created": dt.datetime(2026, 1, 2)},
            tool_calls=[{"name": "search", "args": {"q": "x", "n": (1, 2)}, "id": "c1"}],
            invalid_tool_calls=[
                {
                    "name": "f",
                    "args": "{bad",
                    "id": "c2",
                    "error": "bad",
                    "type": "invalid_tool_call",
                }
            ],
            usage_metadata={"input_tokens": 3, "output_tokens": 5, "total_tokens": 8},
        ),
        lc.ToolMessage(
            content="found", tool_call_id="c1", name="search", artifact={"hits": {1, 2}}, id="t1"
        ),
        lc.ToolMessage(content="oops", tool_call_id="c2", status="error", id="t2"),
        lc.HumanMessage(content="thanks", id="h2", name="ada", custom_field="kept"),
    ]


def _hone_written() -> list[Any]:
    first, tool = _written()[:2]
    # hone keeps tool arguments as JSON (a model sends JSON): a list, not a tuple.
    first.tool_calls[0]["args"]["n"] = [1, 2]
    return [first, tool]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """A fresh saver object on the same storage at each call (durable savers are reopened)."""
    opened: list[Any] = []
    if request.param == "memory":
        shared = InMemorySaver()

        def open_saver() -> Checkpointer:
            return shared

    elif request.param == "sqlite":
        from hone.checkpoint import SqliteSaver

        def open_saver() -> Checkpointer:
            opened.append(SqliteSaver(tmp_path / "lc.db"))
            return opened[-1]

    else:
        from hone.checkpoint import PostgresSaver

        schema = request.getfixturevalue("pg_schemas")()
        dsn: str = request.getfixturevalue("pg_dsn")

        def open_saver() -> Checkpointer:
            opened.append(PostgresSaver(dsn, schema=schema))
            return opened[-1]

    yield open_saver
    for saver in opened:
        saver.close()


def _graph(saver: Checkpointer) -> Any:
    def write(state: MessagesState) -> dict[str, Any]:
        return {"messages": _written()}

    graph = StateGraph(MessagesState)
    graph.add_node("write", write)
    graph.add_edge(START, "write")
    graph.add_edge("write", END)
    return graph.compile(checkpointer=saver)


def test_langchain_messages_round_trip_through_every_saver(opener: Opener) -> None:
    config = {"configurable": {"thread_id": "lc"}}
    question = lc.HumanMessage(content="find x", id="h1")
    _graph(opener()).invoke({"messages": [question]}, config)
    _graph(opener()).invoke({"messages": [lc.HumanMessage(content="again", id="h3")]}, config)
    stored = _graph(opener()).get_state(config).values["messages"]
    # The second turn wrote the same ids again: replaced in place, not duplicated.
    expected = [question, *_written(), lc.HumanMessage(content="again", id="h3")]
    assert [type(m) for m in stored] == [type(m) for m in expected]
    assert stored == expected
    assert stored[1].tool_calls[0]["args"]["n"] == (1, 2)
    assert stored[2].artifact == {"hits": {1, 2}}
    assert stored[4].model_extra == {"custom_field": "kept"}


def test_hone_messages_carrying_langchain_fields_round_trip(opener: Opener) -> None:
    saver = opener()
    graph = StateGraph(MessagesState)

    def to_hone(state: MessagesState) -> dict[str, Any]:
        return {"messages": [from_langchain(m) for m in _hone_written()]}

    graph.add_node("n", to_hone)
    graph.add_edge(START, "n")
    graph.add_edge("n", END)
    config = {"configurable": {"thread_id": "h"}}
    graph.compile(checkpointer=saver).invoke({"messages": []}, config)
    stored = _graph(opener()).get_state(config).values["messages"]
    assert stored == [from_langchain(m) for m in _hone_written()]
    assert stored[1].extra == {"artifact": {"hits": {1, 2}}}

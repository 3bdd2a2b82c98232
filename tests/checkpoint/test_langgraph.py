"""hone's savers under LangGraph's own runtime (LangGraphSaver) and LangGraph's conformance
suite for checkpointers."""

from __future__ import annotations

import asyncio
import operator
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph.graph")

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph, add_messages
from langgraph.types import Command, Send, interrupt

from hone.checkpoint import InMemorySaver, Serializer, SqliteSaver
from hone.checkpoint.langgraph import LangGraphSaver
from hone.errors import ConfigError


class State(TypedDict):
    messages: Annotated[list[Any], add_messages]
    items: Annotated[list[int], operator.add]


def _graph(saver: BaseCheckpointSaver[Any]) -> Any:
    def fan(state: State) -> list[Send]:
        return [Send("work", {"i": i}) for i in range(3)]

    def work(arg: dict[str, int]) -> dict[str, list[int]]:
        return {"items": [arg["i"]]}

    def agent(state: State) -> dict[str, list[Any]]:
        answer = interrupt({"question": "approve?"})
        call = {"name": "search", "args": {"q": answer}, "id": "call_1", "type": "tool_call"}
        return {
            "messages": [
                AIMessage(content="", tool_calls=[call], additional_kwargs={"k": [1, {"x": None}]}),
                ToolMessage(content="found", tool_call_id="call_1", artifact={"rows": (1, 2)}),
                AIMessage(content=f"done: {answer}", response_metadata={"model": "m"}),
            ]
        }

    builder = StateGraph(State)
    builder.add_node("work", work)
    builder.add_node("agent", agent)
    builder.add_conditional_edges(START, fan)
    builder.add_edge("work", "agent")
    builder.add_edge("agent", END)
    return builder.compile(checkpointer=saver)


@contextmanager
def _savers(kind: str, tmp_path: Path, pg: Callable[[], Any] | None = None) -> Iterator[Any]:
    if kind == "memory":
        yield InMemorySaver()
    elif kind == "sqlite":
        with SqliteSaver.from_conn_string(str(tmp_path / "lg.db")) as saver:
            yield saver
    else:
        assert pg is not None
        with pg() as saver:
            yield saver


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_langgraph_runtime_runs_on_hone_savers(kind: str, tmp_path: Path) -> None:
    with _savers(kind, tmp_path) as hone_saver:
        graph = _graph(LangGraphSaver(hone_saver))
        config = {"configurable": {"thread_id": "t1"}}
        first = graph.invoke(
            {"messages": [HumanMessage(content="hi", id="h1")], "items": []}, config
        )
        assert first["items"] == [0, 1, 2]
        (pending,) = first["__interrupt__"]
        assert pending.value == {"question": "approve?"}
        state = graph.get_state(config)
        assert state.next == ("agent",) and state.tasks[0].interrupts[0].value == pending.value
        done = graph.invoke(Command(resume="yes"), config)
        assert [type(m).__name__ for m in done["messages"]] == [
            "HumanMessage",
            "AIMessage",
            "ToolMessage",
            "AIMessage",
        ]
        history = list(graph.get_state_history(config))
        assert [h.metadata["source"] for h in history][-1] == "input"
        # Read back in a fresh saver object: values round-trip exactly.
        reread = LangGraphSaver(hone_saver).get_tuple(config)
        assert reread is not None
        messages = reread.checkpoint["channel_values"]["messages"]
        assert messages == done["messages"]
        assert messages[1].tool_calls[0]["args"] == {"q": "yes"}
        assert messages[1].additional_kwargs == {"k": [1, {"x": None}]}
        assert messages[2].artifact == {"rows": (1, 2)}
        # Time travel: replay from before the interrupt interrupts again.
        before = next(h for h in history if h.next == ("agent",))
        again = graph.invoke(None, before.config)
        assert "__interrupt__" in again


def test_sends_and_interrupts_go_through_the_fallback_serializer() -> None:
    saver = InMemorySaver()
    adapter = LangGraphSaver(saver)
    assert saver.serde.fallback is adapter.serde
    value = [Send("node", {"a": (1, 2)}), Send("other", None)]
    # Exactly what LangGraph's own savers give back (its msgpack turns tuples into lists).
    own = [adapter.serde.loads_typed(adapter.serde.dumps_typed(v)) for v in value]
    assert saver.serde.loads(saver.serde.dumps(value)) == own
    assert own[0] == Send("node", {"a": [1, 2]})
    strict = Serializer()
    with pytest.raises(Exception, match="fallback"):
        strict.loads(saver.serde.dumps(value))
    custom = Serializer(fallback=adapter.serde)
    LangGraphSaver(InMemorySaver(serde=custom))
    assert custom.fallback is adapter.serde  # an existing fallback is kept


def test_only_hone_savers_are_wrapped() -> None:
    with pytest.raises(ConfigError, match="hone saver"):
        LangGraphSaver(object())  # type: ignore[arg-type]


def _items_stored(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        (items,) = conn.execute(
            "SELECT coalesce(sum(end_idx - start_idx), 0) FROM hone_segments"
        ).fetchone()
    return int(items)


def test_a_long_langgraph_conversation_stores_each_message_once(tmp_path: Path) -> None:
    class Chat(TypedDict):
        messages: Annotated[list[Any], add_messages]

    def reply(state: Chat) -> dict[str, list[Any]]:
        return {"messages": [AIMessage(content=f"answer {len(state['messages'])}")]}

    builder = StateGraph(Chat)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    with SqliteSaver(tmp_path / "chat.db") as saver:
        graph = builder.compile(checkpointer=LangGraphSaver(saver))
        config = {"configurable": {"thread_id": "long"}}
        for turn in range(40):
            graph.invoke({"messages": [HumanMessage(content=f"q{turn}")]}, config)
        assert len(graph.get_state(config).values["messages"]) == 80
    # LangGraph's own saver stores the whole list at every step (O(N^2)); here every
    # message is stored once (O(N)).
    assert _items_stored(tmp_path / "chat.db") == 80


async def test_async_langgraph_runtime_runs_on_hone_savers(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "async.db") as saver:
        graph = _graph(LangGraphSaver(saver))
        config = {"configurable": {"thread_id": "a1"}}
        first = await graph.ainvoke({"messages": [HumanMessage(content="hi")], "items": []}, config)
        assert "__interrupt__" in first
        done = await graph.ainvoke(Command(resume="ok"), config)
        assert done["messages"][-1].content == "done: ok"
        states = [s async for s in graph.aget_state_history(config)]
        assert states[0].values == done


# -- LangGraph's checkpointer conformance suite (langgraph-checkpoint-conformance) ----------


def _conformance(factory: Callable[[], AsyncIterator[BaseCheckpointSaver[Any]]]) -> Any:
    conformance = pytest.importorskip("langgraph.checkpoint.conformance")
    registered = conformance.checkpointer_test(name="hone")(factory)
    return asyncio.run(conformance.validate(registered))


def _assert_base_capabilities_pass(report: Any) -> None:
    base = ("put", "put_writes", "get_tuple", "list", "delete_thread")
    for name in base:
        result = report.results[name]
        assert result.passed, (name, result.failures)
        assert result.tests_failed == 0 and result.tests_passed > 0


def test_langgraph_conformance_in_memory() -> None:
    async def factory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        yield LangGraphSaver(InMemorySaver())

    _assert_base_capabilities_pass(_conformance(factory))


def test_langgraph_conformance_sqlite(tmp_path: Path) -> None:
    count = iter(range(1000))

    async def factory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        with SqliteSaver(tmp_path / f"c{next(count)}.db") as saver:
            yield LangGraphSaver(saver)

    _assert_base_capabilities_pass(_conformance(factory))


@pytest.mark.postgres
def test_langgraph_conformance_postgres(pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    from hone.checkpoint import PoolConfig, PostgresSaver

    async def factory() -> AsyncIterator[BaseCheckpointSaver[Any]]:
        saver = PostgresSaver(pg_dsn, schema=pg_schemas(), pool_config=PoolConfig(max_size=4))
        try:
            yield LangGraphSaver(saver)
        finally:
            saver.close()

    _assert_base_capabilities_pass(_conformance(factory))

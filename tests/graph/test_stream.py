import asyncio
import operator
from typing import Annotated, Any, TypedDict

from hone.graph import START, StateGraph, emit_message_delta, get_stream_writer
from hone.messages import AssistantMessage


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _graph() -> Any:
    def a(state: S) -> dict[str, Any]:
        get_stream_writer()({"progress": 1})
        emit_message_delta(AssistantMessage(content="he", id="m1"))
        return {"n": state["n"] + 1}

    inner = (
        StateGraph(S)
        .add_node("deep", lambda s: {"log": ["deep"]})
        .add_edge(START, "deep")
        .compile()
    )
    g = (
        StateGraph(S)
        .add_node("a", a)
        .add_node("sub", inner)
        .add_edge(START, "a")
        .add_edge("a", "sub")
    )
    return g.compile()


def test_values_and_updates() -> None:
    graph = _graph()
    values = list(graph.stream({"n": 0}))
    assert values[0] == {"n": 0, "log": []} and values[-1] == {"n": 1, "log": ["deep"]}
    assert list(graph.stream({"n": 0}, stream_mode="updates")) == [
        {"a": {"n": 1}},
        {"sub": {"n": 1, "log": ["deep"]}},
    ]


def test_multiple_modes_custom_and_messages() -> None:
    chunks = list(_graph().stream({"n": 0}, stream_mode=["custom", "messages"]))
    assert ("custom", {"progress": 1}) in chunks
    [(_mode, (msg, meta))] = [c for c in chunks if c[0] == "messages"]
    assert msg.text == "he" and meta["langgraph_node"] == "a"


def test_subgraph_namespaces() -> None:
    chunks = list(_graph().stream({"n": 0}, stream_mode="updates", subgraphs=True))
    namespaces = [ns for ns, _ in chunks]
    assert () in namespaces
    deep = [(ns, c) for ns, c in chunks if c == {"deep": {"log": ["deep"]}}]
    assert len(deep) == 1 and deep[0][0][0].startswith("sub:")


async def test_astream_matches_stream() -> None:
    graph = _graph()
    sync = await asyncio.to_thread(
        lambda: list(graph.stream({"n": 0}, stream_mode=["updates", "custom"]))
    )
    got = [c async for c in graph.astream({"n": 0}, stream_mode=["updates", "custom"])]
    assert got == sync


def test_debug_mode_has_checkpoints_and_tasks() -> None:
    kinds = {c["type"] for c in _graph().stream({"n": 0}, stream_mode="debug")}
    assert {"task", "task_result"} <= kinds

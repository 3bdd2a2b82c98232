import asyncio
import gc
import operator
import sys
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
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
    values = list(graph.stream({"n": 0}, stream_mode="values"))
    assert values == [{"n": 0, "log": []}, {"n": 1, "log": []}, {"n": 1, "log": ["deep"]}]
    updates = [{"a": {"n": 1}}, {"sub": {"n": 1, "log": ["deep"]}}]
    assert list(graph.stream({"n": 0}, stream_mode="updates")) == updates
    # LangGraph's default: "updates".
    assert list(graph.stream({"n": 0})) == updates


async def test_astream_defaults_to_updates() -> None:
    graph = _graph()
    assert [c async for c in graph.astream({"n": 0})] == [
        {"a": {"n": 1}},
        {"sub": {"n": 1, "log": ["deep"]}},
    ]


def test_a_stream_inside_a_node_defaults_to_values() -> None:
    """As in LangGraph: ``graph.stream()`` called inside a running node streams values."""
    inner = _graph()
    seen: list[Any] = []

    def outer_node(state: S) -> dict[str, Any]:
        seen.extend(inner.stream({"n": state["n"]}))
        return {"n": seen[-1]["n"]}

    outer = StateGraph(S).add_node("o", outer_node).add_edge(START, "o").compile()
    assert outer.invoke({"n": 10}) == {"n": 11, "log": []}
    assert seen == [{"n": 10, "log": []}, {"n": 11, "log": []}, {"n": 11, "log": ["deep"]}]


def test_leaving_a_stream_early_is_clean() -> None:
    """Breaking out of ``stream()`` (closing the generator) with chunks still queued."""

    def chatty(state: S) -> dict[str, Any]:
        writer = get_stream_writer()
        for i in range(3):
            writer(i)
        return {"n": 1}

    graph = StateGraph(S).add_node("a", chatty).add_edge(START, "a").compile()
    unraisable: list[Any] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        stream = graph.stream({"n": 0}, stream_mode="custom")
        assert next(stream) == 0
        stream.close()
        del stream
        gc.collect()
    finally:
        sys.unraisablehook = hook
    # Not "RuntimeError: generator ignored GeneratorExit" from the run's generator.
    assert [u.exc_value for u in unraisable] == []
    assert list(graph.stream({"n": 0}, stream_mode="custom")) == [0, 1, 2]


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


async def test_closing_an_astream_cancels_the_nodes_still_running() -> None:
    """A reader that stops reading (``aclosing``, a client gone) stops the run now: the
    step's nodes still running are cancelled before ``aclose`` returns."""
    import contextlib

    log: list[str] = []

    class State(TypedDict):
        value: int

    async def slow(state: State) -> dict[str, int]:
        log.append("slow started")
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            log.append("slow cancelled")
            raise
        return {"value": 0}

    async def quick(state: State) -> dict[str, int]:
        await asyncio.sleep(0.05)
        return {"value": 2}

    graph = (
        StateGraph(State)
        .add_node("slow", slow)
        .add_node("quick", quick)
        .add_edge(START, "slow")
        .add_edge(START, "quick")
        .compile()
    )
    async with contextlib.aclosing(graph.astream({"value": 1})) as stream:
        async for chunk in stream:
            assert chunk == {"quick": {"value": 2}}
            break
    assert log == ["slow started", "slow cancelled"]


def test_v2_chunks_and_invoke_carry_the_typed_state() -> None:
    """``version="v2"`` gives the run's own values as the graph's pydantic model or dataclass
    (subgraph chunks stay dicts), the state in checkpoint payloads likewise, and ``invoke``'s
    ``GraphOutput.value`` too; a value the schema rejects raises its validation error."""
    import dataclasses

    import pydantic

    from hone.graph._types import GraphOutput

    class Model(pydantic.BaseModel):
        value: str
        items: list[str] = []

    @dataclasses.dataclass
    class Data:
        value: str

    for schema in (Model, Data):
        g = StateGraph(schema)
        g.add_node("a", lambda s: {"value": s.value + "!"})
        g.add_edge(START, "a")
        app = g.compile(checkpointer=InMemorySaver())
        config = {"configurable": {"thread_id": schema.__name__}}
        parts = list(
            app.stream({"value": "x"}, config, stream_mode=["values", "checkpoints"], version="v2")
        )
        values = [p["data"] for p in parts if p["type"] == "values"]
        assert all(isinstance(v, schema) for v in values) and values[-1].value == "x!"
        saved = [p["data"]["values"] for p in parts if p["type"] == "checkpoints"]
        assert isinstance(saved[-1], schema) and isinstance(saved[0], dict)  # first: unset
        out = app.invoke({"value": "y"}, {"configurable": {"thread_id": "i"}}, version="v2")
        assert isinstance(out, GraphOutput) and out.value == schema(value="y!")
        # v1 keeps LangGraph's v1 shape: a dict.
        assert isinstance(app.invoke({"value": "z"}, {"configurable": {"thread_id": "j"}}), dict)
    bad = StateGraph(Model)
    bad.add_node("a", lambda s: {})
    bad.add_edge(START, "a")
    with pytest.raises(pydantic.ValidationError):
        list(bad.compile().stream({"value": [1, 2]}, stream_mode="values", version="v2"))

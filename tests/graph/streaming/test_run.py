"""v3 event streaming end to end: projections of real runs, side by side with LangGraph's
``stream_events(version="v3")`` where LangGraph is installed."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

import hone.graph as hg
from hone.checkpoint import InMemorySaver
from hone.graph.streaming import (
    AsyncGraphRunStream,
    AsyncSubgraphRunStream,
    CustomTransformer,
    GraphRunStream,
    StreamChannel,
    StreamTransformer,
    SubgraphRunStream,
    UpdatesTransformer,
)

lg_graph = pytest.importorskip("langgraph.graph")
lg_types = pytest.importorskip("langgraph.types")
lg_stream = pytest.importorskip("langgraph.stream")
lg_memory = pytest.importorskip("langgraph.checkpoint.memory")


class S(TypedDict):
    value: str
    items: Annotated[list[str], operator.add]


INPUT: dict[str, Any] = {"value": "x", "items": []}


def _nested(mod: Any, *, fail: bool = False) -> Any:
    def a(state: S) -> dict[str, Any]:
        if fail:
            raise ValueError("inner broke")
        return {"value": state["value"] + "_a", "items": ["a"]}

    def b(state: S) -> dict[str, Any]:
        return {"items": ["b"]}

    inner = mod.StateGraph(S)
    inner.add_node("a", a)
    inner.add_edge(mod.START, "a")
    outer = mod.StateGraph(S)
    outer.add_node("inner", inner.compile())
    outer.add_node("b", b)
    outer.add_edge(mod.START, "inner")
    outer.add_edge("inner", "b")
    return outer


def _shape(event: dict[str, Any]) -> tuple[Any, ...]:
    """An event without ids, timestamps and task ids in namespaces."""
    params = event["params"]
    data = params["data"]
    if event["method"] == "lifecycle":
        data = {k: v for k, v in data.items() if k not in ("namespace", "trigger_call_id")}
    ns = [segment.split(":")[0] for segment in params["namespace"]]
    return event["seq"], event["method"], ns, repr(data)


@pytest.mark.parametrize("mod", [lg_graph, hg], ids=["langgraph", "hone"])
def test_projections_of_a_nested_run(mod: Any) -> None:
    run = _nested(mod).compile().stream_events(INPUT, version="v3")
    handles = []
    for handle in run.subgraphs:
        handles.append((handle.graph_name, list(handle.values), handle.status))
    # The subgraph's first snapshot comes before its first task shows it: the handle starts
    # with what follows (in both frameworks).
    assert handles == [("inner", [{"value": "x_a", "items": ["a"]}], "completed")]
    assert run.output == {"value": "x_a", "items": ["a", "b"]}
    assert run.interrupted is False and run.interrupts == []


def test_event_log_matches_langgraph() -> None:
    ours = [_shape(e) for e in _nested(hg).compile().stream_events(INPUT, version="v3")]
    theirs = [_shape(e) for e in _nested(lg_graph).compile().stream_events(INPUT, version="v3")]
    assert ours == theirs
    assert [e[1] for e in ours].count("lifecycle") == 2


def test_extra_transformers_and_lifecycle_payloads_match_langgraph() -> None:
    def run_with(mod: Any, transformers: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
        run = _nested(mod).compile(transformers=transformers).stream_events(INPUT, version="v3")
        names = ("updates", "lifecycle", "values")
        got: dict[str, list[Any]] = {n: [] for n in names}
        for name, item in run.interleave(*names):
            if name == "lifecycle":
                item = (item["event"], item.get("graph_name"), len(item["namespace"]))
            got[name].append(item)
        return got["updates"], got["lifecycle"], got["values"]

    ours = run_with(hg, [UpdatesTransformer])
    theirs = run_with(lg_graph, [lg_stream.UpdatesTransformer])
    assert ours == theirs
    assert ours[1] == [("started", "inner", 1), ("completed", None, 1)]


def test_a_failing_subgraph_fails_its_handle_and_the_run() -> None:
    for mod in (hg, lg_graph):
        run = _nested(mod, fail=True).compile().stream_events(INPUT, version="v3")
        statuses = []
        with pytest.raises(ValueError, match="inner broke"):  # the run's own error
            for handle in run.subgraphs:
                with pytest.raises(RuntimeError, match="inner broke"):
                    list(handle.values)
                statuses.append((handle.status, handle.error))
        assert statuses == [("failed", "inner broke")]
        with pytest.raises(ValueError, match="inner broke"):
            _ = run.output


def test_interrupts_and_resume() -> None:
    def ask(state: S) -> dict[str, Any]:
        return {"value": hg.interrupt("name?")}

    g = hg.StateGraph(S)
    g.add_node("ask", ask)
    g.add_edge(hg.START, "ask")
    app = g.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    run = app.stream_events(INPUT, config, version="v3")
    assert run.interrupted is True
    assert [i.value for i in run.interrupts] == ["name?"]
    again = app.stream_events(hg.Command(resume="ada"), config, version="v3")
    assert again.output == {"value": "ada", "items": []}


def test_custom_projection_from_a_transformer() -> None:
    class Counter(StreamTransformer):
        """Counts the nodes that finished, on a named channel."""

        required_stream_modes = ("updates",)

        def __init__(self, scope: tuple[str, ...] = ()) -> None:
            super().__init__(scope)
            self.done: StreamChannel[str] = StreamChannel("done")

        def init(self) -> dict[str, Any]:
            return {"done": self.done}

        def process(self, event: Any) -> bool:
            if event["method"] == "updates" and not event["params"]["namespace"]:
                for node in event["params"]["data"]:
                    self.done.push(node)
            return True

    run = _nested(hg).compile().stream_events(INPUT, version="v3", transformers=[Counter])
    assert isinstance(run, GraphRunStream)
    assert list(run.extensions["done"]) == ["inner", "b"]
    log = [
        e["method"]
        for e in _nested(hg).compile().stream_events(INPUT, version="v3", transformers=[Counter])
    ]
    assert log.count("custom:done") == 2


def test_stream_writer_and_custom_projection() -> None:
    @hg.entrypoint()
    def flow(x: int, *, writer: Any) -> int:
        writer("hello")
        writer(42)
        return x

    run = flow.stream_events(1, version="v3", transformers=[CustomTransformer])
    assert list(run.custom) == ["hello", 42]
    assert run.output == 1


def test_abort_stops_the_run() -> None:
    ran: list[str] = []

    def slow(state: S) -> dict[str, Any]:
        ran.append("slow")
        return {}

    g = hg.StateGraph(S)
    g.add_node("first", lambda s: {"items": ["1"]})
    g.add_node("slow", slow)
    g.add_edge(hg.START, "first")
    g.add_edge("first", "slow")
    with g.compile().stream_events(INPUT, version="v3") as run:
        first = next(iter(run.values))
    assert first == INPUT and ran == []
    assert run._mux._events._closed  # every projection ended with the run


def test_async_run_with_concurrent_readers() -> None:
    async def main() -> tuple[list[Any], list[Any], Any]:
        run = (
            await _nested(hg)
            .compile(transformers=[UpdatesTransformer])
            .astream_events(INPUT, version="v3")
        )
        assert isinstance(run, AsyncGraphRunStream)

        async def read(channel: Any) -> list[Any]:
            return [item async for item in channel]

        values, updates = await asyncio.gather(read(run.values), read(run.updates))
        return values, updates, await run.output()

    values, updates, output = asyncio.run(main())
    assert values[-1] == output == {"value": "x_a", "items": ["a", "b"]}
    assert [next(iter(u)) for u in updates] == ["inner", "b"]


def test_async_subgraph_handles() -> None:
    async def main() -> list[Any]:
        run = await _nested(hg).compile().astream_events(INPUT, version="v3")
        seen = []
        async for handle in run.subgraphs:
            assert isinstance(handle, AsyncSubgraphRunStream)
            seen.append((handle.path[0].split(":")[0], [v async for v in handle.values]))
        return seen

    assert asyncio.run(main()) == [("inner", [{"value": "x_a", "items": ["a"]}])]


def test_sync_handles_are_sync() -> None:
    run = _nested(hg).compile().stream_events(INPUT, version="v3")
    assert all(isinstance(h, SubgraphRunStream) for h in run.subgraphs)


def test_bad_arguments_are_refused() -> None:
    app = _nested(hg).compile()
    with pytest.raises(TypeError, match="stream_mode"):
        app.stream_events(INPUT, version="v3", stream_mode="values")
    with pytest.raises(TypeError, match="pre-built instance UpdatesTransformer"):
        app.stream_events(INPUT, version="v3", transformers=[UpdatesTransformer()])
    with pytest.raises(TypeError, match="instance"):
        _nested(hg).compile(transformers=[UpdatesTransformer()])
    with pytest.raises(NotImplementedError, match="astream_events"):
        app.stream_events(INPUT, version="v2")
    with pytest.raises(ValueError, match="unknown stream_events version"):
        app.stream_events(INPUT, version="v9")
    run = app.stream_events(INPUT, version="v3")
    with pytest.raises(AttributeError, match=r"registered projections: .*values"):
        _ = run.nonexistent
    list(run.values)
    with pytest.raises(RuntimeError, match="already has a subscriber"):
        list(run.values)


def test_a_run_inside_a_node_sees_its_own_level() -> None:
    app = _nested(hg).compile()
    seen: list[Any] = []

    def node(state: S) -> dict[str, Any]:
        seen.extend(app.stream_events(state, version="v3").values)
        return {}

    outer = hg.StateGraph(S)
    outer.add_node("outer", node)
    outer.add_edge(hg.START, "outer")
    outer.compile().invoke(INPUT)
    assert seen[0] == INPUT and seen[-1] == {"value": "x_a", "items": ["a", "b"]}


def test_checkpoints_projection_with_a_saver() -> None:
    from hone.graph.streaming import CheckpointsTransformer

    app = _nested(hg).compile(checkpointer=InMemorySaver(), transformers=[CheckpointsTransformer])
    run = app.stream_events(INPUT, {"configurable": {"thread_id": "c"}}, version="v3")
    checkpoints = list(run.checkpoints)
    assert checkpoints and checkpoints[-1]["values"] == {"value": "x_a", "items": ["a", "b"]}
    assert lg_memory is not None


def test_v2_event_filters_are_refused_with_v3() -> None:
    with pytest.raises(TypeError, match="include_names"):
        _nested(hg).compile().astream_events(INPUT, version="v3", include_names=["x"])


def test_a_root_run_given_a_checkpoint_namespace_still_sees_its_events() -> None:
    app = _nested(hg).compile()
    config = {"configurable": {"checkpoint_ns": "outer:abc"}}
    assert app.stream_events(INPUT, config, version="v3").output == {
        "value": "x_a",
        "items": ["a", "b"],
    }


def test_a_run_of_its_own_inside_a_node_sees_its_events() -> None:
    app = _nested(hg).compile(checkpointer=InMemorySaver())
    seen: list[Any] = []

    def node(state: S) -> dict[str, Any]:
        run = app.stream_events(state, {"configurable": {"thread_id": "apart"}}, version="v3")
        seen.append(run.output)
        return {}

    outer = hg.StateGraph(S)
    outer.add_node("outer", node)
    outer.add_edge(hg.START, "outer")
    outer.compile().invoke(INPUT)
    assert seen == [{"value": "x_a", "items": ["a", "b"]}]

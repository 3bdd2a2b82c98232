"""Graph spans: a run span, one span per task, subgraphs and model calls nested correctly on
the sync shell's threads and the async shell's tasks."""

from __future__ import annotations

import operator
from typing import Annotated, Any, ClassVar, TypedDict

import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from hone.checkpoint import InMemorySaver
from hone.errors import GraphRecursionError
from hone.graph import (
    END,
    START,
    Command,
    GraphDrained,
    RunControl,
    StateGraph,
    entrypoint,
    interrupt,
    task,
)
from hone.models import ScriptedModel, make_request
from hone.models._protocol import complete_sync
from hone.observability._graph import start_run, task_span

from ._helpers import Spans, attrs


class Count(TypedDict):
    n: Annotated[int, operator.add]


def _chain() -> Any:
    builder = StateGraph(Count)
    builder.add_node("a", lambda s: {"n": 1})
    builder.add_node("b", lambda s: {"n": 10})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    return builder.compile(InMemorySaver(), name="chain")


def test_a_run_is_one_workflow_span_with_a_span_per_node(spans: Spans) -> None:
    out = _chain().invoke({"n": 0}, {"configurable": {"thread_id": "t-1"}})
    assert out == {"n": 11}
    run = spans.one("invoke_workflow chain")
    values = attrs(run)
    assert values.pop("hone.graph.steps") >= 2
    assert values == {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "chain",
        "gen_ai.conversation.id": "t-1",
        "hone.graph.nested": False,
        "hone.graph.status": "done",
    }
    a, b = spans.one("a"), spans.one("b")
    assert spans.parent_of(a) is run and spans.parent_of(b) is run
    assert attrs(a)["hone.graph.step"] < attrs(b)["hone.graph.step"]
    assert attrs(a)["hone.graph.node"] == "a" and attrs(a)["hone.graph.attempts"] == 1
    assert all(not s.name.startswith("__") for s in spans.all())  # hidden nodes: no spans
    assert a.context.trace_id == run.context.trace_id


def test_parallel_nodes_on_threads_nest_their_model_calls(spans: Spans) -> None:
    model = ScriptedModel(["ok"], when_exhausted="cycle")

    def worker(state: Count) -> dict[str, int]:
        complete_sync(model, make_request("hi"))
        return {"n": 1}

    builder = StateGraph(Count)
    for name in ("w1", "w2", "w3"):
        builder.add_node(name, worker)
        builder.add_edge(START, name)
        builder.add_edge(name, END)
    assert builder.compile(name="fan").invoke({"n": 0}) == {"n": 3}
    run = spans.one("invoke_workflow fan")
    chats = spans.named("chat scripted")
    assert len(chats) == 3
    for chat in chats:
        node = spans.parent_of(chat)
        assert node is not None and node.name in ("w1", "w2", "w3")
        assert spans.parent_of(node) is run


async def test_async_runs_nest_model_calls_and_subgraphs(spans: Spans) -> None:
    model = ScriptedModel(["inner reply"])

    async def think(state: Count) -> dict[str, int]:
        await model.complete(make_request("q"))
        return {"n": 2}

    inner_builder = StateGraph(Count)
    inner_builder.add_node("think", think)
    inner_builder.add_edge(START, "think")
    inner = inner_builder.compile(name="inner")

    outer_builder = StateGraph(Count)
    outer_builder.add_node("delegate", inner)
    outer_builder.add_edge(START, "delegate")
    outer = outer_builder.compile(name="outer")
    assert await outer.ainvoke({"n": 1}) == {"n": 4}

    outer_run, inner_run = spans.one("invoke_workflow outer"), spans.one("invoke_workflow inner")
    delegate, think_span = spans.one("delegate"), spans.one("think")
    chat = spans.one("chat scripted")
    assert spans.parent_of(delegate) is outer_run
    assert spans.parent_of(inner_run) is delegate
    assert attrs(inner_run)["hone.graph.nested"] is True
    assert spans.parent_of(think_span) is inner_run
    assert spans.parent_of(chat) is think_span


def test_a_failing_node_fails_its_span_and_the_run(spans: Spans) -> None:
    def broken(state: Count) -> dict[str, int]:
        raise ValueError("bad state")

    builder = StateGraph(Count)
    builder.add_node("broken", broken)
    builder.add_edge(START, "broken")
    with pytest.raises(ValueError, match="bad state"):
        builder.compile(name="g").invoke({"n": 0})
    node, run = spans.one("broken"), spans.one("invoke_workflow g")
    assert node.status.status_code is StatusCode.ERROR
    assert attrs(node)["error.type"] == "ValueError"
    assert run.status.status_code is StatusCode.ERROR


async def test_an_async_failing_node_fails_its_span_and_the_run(spans: Spans) -> None:
    async def broken(state: Count) -> dict[str, int]:
        raise KeyError("missing")

    builder = StateGraph(Count)
    builder.add_node("broken", broken)
    builder.add_edge(START, "broken")
    with pytest.raises(KeyError):
        await builder.compile(name="g").ainvoke({"n": 0})
    node, run = spans.one("broken"), spans.one("invoke_workflow g")
    assert node.status.status_code is StatusCode.ERROR
    assert attrs(node)["error.type"] == "KeyError"
    assert any(e.name == "exception" for e in node.events)
    assert run.status.status_code is StatusCode.ERROR
    assert attrs(run)["error.type"] == "KeyError"


def _endless() -> Any:
    builder = StateGraph(Count)
    builder.add_node("spin", lambda s: {"n": 1})
    builder.add_edge(START, "spin")
    builder.add_edge("spin", "spin")
    return builder.compile(name="endless")


def test_the_recursion_limit_fails_the_run(spans: Spans) -> None:
    with pytest.raises(GraphRecursionError):
        _endless().invoke({"n": 0}, {"recursion_limit": 3})
    run = spans.one("invoke_workflow endless")
    assert run.status.status_code is StatusCode.ERROR
    assert attrs(run)["error.type"] == "hone.errors.GraphRecursionError"
    assert attrs(run)["hone.graph.status"] == "out_of_steps"
    assert all(s.status.status_code is StatusCode.UNSET for s in spans.named("spin"))


async def test_the_recursion_limit_fails_an_async_run(spans: Spans) -> None:
    with pytest.raises(GraphRecursionError):
        await _endless().ainvoke({"n": 0}, {"recursion_limit": 3})
    run = spans.one("invoke_workflow endless")
    assert attrs(run)["error.type"] == "hone.errors.GraphRecursionError"


def test_a_drained_run_is_not_an_error(spans: Spans) -> None:
    """A server shutting down drains its runs (resumable later): a signal, not a failure."""
    control = RunControl()
    builder = StateGraph(Count)
    builder.add_node("a", lambda s: control.request_drain() or {"n": 1})
    builder.add_node("b", lambda s: {"n": 10})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    graph = builder.compile(InMemorySaver(), name="drained")
    with pytest.raises(GraphDrained):
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "d"}}, control=control)
    run = spans.one("invoke_workflow drained")
    assert run.status.status_code is StatusCode.UNSET
    assert attrs(run)["hone.graph.bubble_up"] == "GraphDrained"
    assert spans.named("b") == []


class _BrokenDisk(InMemorySaver):
    """A saver whose checkpoint writes fail."""

    def put(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_failed_final_checkpoint_fails_the_run(spans: Spans, mode: str) -> None:
    """With ``durability="exit"`` the checkpoint is written as the run ends: its failure
    reaches the caller, so the run's span records it."""
    builder = StateGraph(Count)
    builder.add_node("a", lambda s: {"n": 1})
    builder.add_edge(START, "a")
    graph = builder.compile(_BrokenDisk(), name="saved")
    config = {"configurable": {"thread_id": "d"}}
    with pytest.raises(OSError, match="disk full"):
        if mode == "sync":
            graph.invoke({"n": 0}, config, durability="exit")
        else:
            await graph.ainvoke({"n": 0}, config, durability="exit")
    run = spans.one("invoke_workflow saved")
    assert run.status.status_code is StatusCode.ERROR
    assert attrs(run)["error.type"] == "OSError"
    assert spans.one("a").status.status_code is StatusCode.UNSET


def test_an_interrupt_is_not_an_error(spans: Spans) -> None:
    def ask(state: Count) -> dict[str, int]:
        return {"n": interrupt("how many?")}

    builder = StateGraph(Count)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(InMemorySaver(), name="hitl")
    config = {"configurable": {"thread_id": "h"}}
    graph.invoke({"n": 0}, config)
    first = spans.one("ask")
    assert first.status.status_code is StatusCode.UNSET
    assert attrs(first)["hone.graph.bubble_up"] == "GraphInterrupt"
    assert spans.one("invoke_workflow hitl").status.status_code is StatusCode.UNSET

    spans.exporter.clear()
    assert graph.invoke(Command(resume=5), config) == {"n": 5}
    assert attrs(spans.one("ask")).get("hone.graph.bubble_up") is None
    assert attrs(spans.one("invoke_workflow hitl"))["hone.graph.status"] == "done"


def test_functional_calls_nest_under_the_task_that_starts_them(spans: Spans) -> None:
    @task
    def double(x: int) -> int:
        return x * 2

    @entrypoint()
    def flow(x: int) -> int:
        return double(x).result() + double(x + 1).result()

    assert flow.invoke(1) == 6
    entry = spans.one("flow")
    calls = spans.named("double")
    assert len(calls) == 2
    assert all(spans.parent_of(c) is entry for c in calls)
    assert all(attrs(c)["hone.graph.call"] is True for c in calls)


def test_the_stream_reader_never_runs_inside_the_run_span(spans: Spans) -> None:
    seen = []
    for _ in _chain().stream({"n": 0}, {"configurable": {"thread_id": "s"}}):
        seen.append(trace.get_current_span().get_span_context().is_valid)
    assert seen and not any(seen)
    spans.one("invoke_workflow chain")


def test_untraced_runs_take_the_shared_no_op() -> None:
    """With no provider there is no run trace, and every task gets the same no-op context
    manager: nothing is allocated per step."""
    graph = _chain()

    class _Loop:
        graph = None
        ns = ""
        thread_id = None
        is_nested = False
        status = "input"
        step = 0
        config: ClassVar[dict[str, Any]] = {}

    assert start_run(_Loop(), quiet=Exception) is None
    assert task_span(None, object()) is task_span(None, object())
    assert graph.invoke({"n": 0}, {"configurable": {"thread_id": "x"}}) == {"n": 11}

"""``add_node(..., trace_policy=TracePolicy(...))``: what a node's callback run records,
side by side with LangGraph's own ``TracePolicy``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers import BaseTracer, Run
from typing_extensions import TypedDict

import hone.graph as hg

lg_graph = pytest.importorskip("langgraph.graph")
lg_types = pytest.importorskip("langgraph.types")


class State(TypedDict):
    value: int


def _incr(state: State) -> dict[str, int]:
    return {"value": state["value"] + 1}


class Handler(BaseCallbackHandler):
    """A plain handler: each chain run's input and output as reported, by run name."""

    def __init__(self) -> None:
        self.names: dict[UUID, str] = {}
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self.names[run_id] = kw.get("name") or ""
        self.inputs.setdefault(self.names[run_id], inputs)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self.outputs.setdefault(self.names[run_id], outputs)


class Tracer(BaseTracer):
    """A tracer: what each chain run records, by run name, and the runs' parents."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.parents: dict[str, str | None] = {}

    def _persist_run(self, run: Run) -> None:
        pass

    def _on_chain_start(self, run: Run) -> None:
        self.inputs.setdefault(run.name, run.inputs)
        parent = self.run_map.get(str(run.parent_run_id)) if run.parent_run_id else None
        self.parents[run.name] = None if parent is None else parent.name

    def _on_chain_end(self, run: Run) -> None:
        self.outputs.setdefault(run.name, run.outputs)


def _graph(mod: Any, policy: Any) -> Any:
    builder = mod.StateGraph(State).add_node("n", _incr, trace_policy=policy)
    return builder.add_edge(mod.START, "n").add_edge("n", mod.END).compile()


def _recorded(mod: Any, policy: Any, value: int = 1, *, run_async: bool = False) -> Any:
    """(what a tracer records of node ``n`` and the graph, what a plain handler hears)."""
    tracer, handler = Tracer(), Handler()
    graph = _graph(mod, policy)
    config: Any = {"callbacks": [tracer, handler]}
    if run_async:
        out = asyncio.run(graph.ainvoke({"value": value}, config))
    else:
        out = graph.invoke({"value": value}, config)
    assert out == {"value": value + 1}  # the policy never changes what the node sees or returns
    heard = (handler.inputs["n"], handler.outputs["n"])
    return (tracer.inputs["n"], tracer.outputs["n"], tracer.inputs["LangGraph"]), heard, tracer


def _policies(types: Any) -> list[Any]:
    return [
        None,
        types.TracePolicy(process_inputs=lambda value: {"scrubbed_in": sorted(value)}),
        types.TracePolicy(process_outputs=lambda value: {"scrubbed_out": value["value"]}),
        types.TracePolicy(process_inputs=types.omit_payload, process_outputs=types.omit_payload),
    ]


@pytest.mark.parametrize("index", range(4))
@pytest.mark.parametrize("run_async", [False, True])
def test_a_policy_shapes_the_node_run_as_langgraphs_does(index: int, run_async: bool) -> None:
    recorded, heard, tracer = _recorded(hg, _policies(hg)[index], run_async=run_async)
    theirs, their_heard, _ = _recorded(lg_graph, _policies(lg_types)[index], run_async=run_async)
    assert (recorded, heard) == (theirs, their_heard)
    assert recorded[2] == {"value": 1}  # the graph's own run is not affected
    assert heard == ({"value": 1}, {"value": 2})  # handlers that are not tracers hear it all
    assert tracer.parents["n"] == "LangGraph"  # one run, under the graph's, for every handler


def test_processors_see_the_real_values() -> None:
    seen: dict[str, Any] = {}

    def keep(key: str) -> Any:
        def process(value: Any) -> Any:
            seen[key] = value
            return {"recorded": key}

        return process

    policy = hg.TracePolicy(process_inputs=keep("in"), process_outputs=keep("out"))
    assert _recorded(hg, policy, 5)[0][:2] == ({"recorded": "in"}, {"recorded": "out"})
    assert seen == {"in": {"value": 5}, "out": {"value": 6}}


def test_a_failing_processor_is_logged_and_the_value_recorded_as_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(value: Any) -> Any:
        raise RuntimeError("processor failed")

    policy = hg.TracePolicy(process_inputs=boom, process_outputs=boom)
    with caplog.at_level(logging.ERROR, logger="hone.graph._callbacks"):
        assert _recorded(hg, policy)[0][:2] == ({"value": 1}, {"value": 2})
    assert "trace_policy of node 'n' raised" in caplog.text
    # without callbacks nothing is recorded, so the processors do not run at all
    calls: list[Any] = []
    quiet = hg.TracePolicy(process_inputs=calls.append)
    assert _graph(hg, quiet).invoke({"value": 1}) == {"value": 2}
    assert calls == []


def test_the_node_keeps_its_policy_on_the_builder() -> None:
    policy = hg.TracePolicy(process_inputs=hg.omit_payload)
    builder = hg.StateGraph(State).add_node("n", _incr, trace_policy=policy)
    assert builder.nodes["n"].trace_policy is policy
    assert hg.omit_payload({"messages": ["a long history"]}) == {}

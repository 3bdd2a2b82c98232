"""Node error handlers: when a node fails (after its retries), its handler runs with the
node's input and a ``NodeError``; the handler's update (or ``Command``) replaces the node's.
A failure survives a crash of the handler, and the handler can ask a human."""

from __future__ import annotations

import operator
import warnings
from typing import Annotated, Any, Literal, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import GraphWarning
from hone.graph import END, START, Command, NodeError, RetryPolicy, StateGraph, interrupt


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _failing(calls: list[str], message: str = "bad input") -> Any:
    def boom(state: S) -> dict[str, Any]:
        calls.append("boom")
        raise ValueError(message)

    return boom


def test_handler_update_replaces_the_failed_node(driver: Any) -> None:
    calls: list[str] = []
    seen: list[Any] = []

    def handler(state: S, error: NodeError) -> dict[str, Any]:
        calls.append("handler")
        seen.append((state["n"], error.node, type(error.error), str(error.error)))
        return {"log": [f"recovered {error.node}"]}

    g = StateGraph(S).add_node("boom", _failing(calls), error_handler=handler)
    g.add_node("after", lambda s: {"log": ["after"]})
    g.add_edge(START, "boom").add_edge("boom", "after")
    graph = g.compile(checkpointer=InMemorySaver())
    # The handler stands in for the node, and the node's edges are not followed (as in
    # LangGraph): "after" does not run.
    assert driver.invoke(graph, {"n": 3}, _cfg()) == {"n": 3, "log": ["recovered boom"]}
    assert calls == ["boom", "handler"]
    assert seen == [(3, "boom", ValueError, "bad input")]
    assert [(h.metadata["step"], h.next) for h in graph.get_state_history(_cfg())] == [
        (1, ()),
        (0, ("boom",)),
        (-1, (START,)),
    ]


def test_handler_streams_under_its_own_name() -> None:
    def handler(state: S, error: NodeError) -> dict[str, Any]:
        return {"log": ["handled"]}

    g = StateGraph(S).add_node("boom", _failing([]), error_handler=handler)
    graph = g.add_edge(START, "boom").compile()
    assert list(graph.stream({"n": 0})) == [{"__error_handler__boom": {"log": ["handled"]}}]


def test_handler_command_routes_the_run() -> None:
    def handler(state: S, error: NodeError) -> Command[Literal["fallback"]]:
        return Command(update={"log": ["gave up"]}, goto="fallback")

    g = StateGraph(S).add_node("boom", _failing([]), error_handler=handler)
    g.add_node("fallback", lambda s: {"log": ["fallback"]}).add_edge(START, "boom")
    assert g.compile().invoke({"n": 0}) == {"n": 0, "log": ["gave up", "fallback"]}


def test_a_node_reached_only_from_a_handler_is_not_unreachable() -> None:
    def handler(state: S, error: NodeError) -> Command[Literal["fallback"]]:
        return Command(goto="fallback")

    g = StateGraph(S).add_node("boom", _failing([]), error_handler=handler)
    g.add_node("fallback", lambda s: {"log": ["fallback"]}).add_edge(START, "boom")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphWarning)
        graph = g.compile()
    assert graph.invoke({"n": 0})["log"] == ["fallback"]


def test_handler_failure_fails_the_run() -> None:
    def handler(state: S, error: NodeError) -> dict[str, Any]:
        raise KeyError("handler broke")

    g = StateGraph(S).add_node("boom", _failing([]), error_handler=handler)
    with pytest.raises(KeyError, match="handler broke"):
        g.add_edge(START, "boom").compile().invoke({"n": 0})


def test_retries_come_first() -> None:
    calls: list[str] = []

    def handler(state: S, error: NodeError) -> dict[str, Any]:
        calls.append("handler")
        return {"log": ["handled"]}

    retry = RetryPolicy(max_attempts=3, initial_interval=0.001, jitter=False, retry_on=ValueError)
    g = StateGraph(S).add_node("boom", _failing(calls), error_handler=handler, retry_policy=retry)
    assert g.add_edge(START, "boom").compile().invoke({"n": 0})["log"] == ["handled"]
    assert calls == ["boom", "boom", "boom", "handler"]


def test_default_handler_covers_every_node() -> None:
    def handler(state: S, error: NodeError) -> dict[str, Any]:
        return {"log": [f"handled {error.node}"]}

    g = StateGraph(S).set_node_defaults(error_handler=handler)
    g.add_node("boom", _failing([])).add_node("ok", lambda s: {"log": ["ok"]})
    g.add_edge(START, "boom").add_edge(START, "ok").add_edge("ok", END)
    assert g.compile().invoke({"n": 0})["log"] == ["handled boom", "ok"]


def test_a_crashed_handler_runs_again_on_resume_not_the_node() -> None:
    calls: list[str] = []
    handler_down = {"on": True}

    def handler(state: S, error: NodeError) -> dict[str, Any]:
        calls.append("handler")
        if handler_down["on"]:
            raise RuntimeError("handler down")
        # After a resume the saved failure comes back with its text (savers keep a repr).
        return {"log": [f"recovered {error.node}: {error.error}"]}

    g = StateGraph(S).add_node("boom", _failing(calls), error_handler=handler)
    graph = g.add_edge(START, "boom").compile(checkpointer=InMemorySaver())
    with pytest.raises(RuntimeError, match="handler down"):
        graph.invoke({"n": 0}, _cfg())
    [task] = graph.get_state(_cfg()).tasks
    assert task.name == "boom" and task.error == "ValueError('bad input')"
    handler_down["on"] = False
    out = graph.invoke(None, _cfg())
    assert out["log"] == ["recovered boom: ValueError('bad input')"]
    assert calls == ["boom", "handler", "handler"]


def test_a_handler_can_ask_a_human() -> None:
    calls: list[str] = []

    def ask(state: S, error: NodeError) -> dict[str, Any]:
        calls.append("ask")
        return {"log": [f"human says {interrupt(f'{error.node} failed: retry?')}"]}

    g = StateGraph(S).add_node("boom", _failing(calls), error_handler=ask)
    graph = g.add_edge(START, "boom").compile(checkpointer=InMemorySaver())
    out = graph.invoke({"n": 0}, _cfg())
    assert [i.value for i in out["__interrupt__"]] == ["boom failed: retry?"]
    assert graph.invoke(Command(resume="skip"), _cfg())["log"] == ["human says skip"]
    assert calls == ["boom", "ask", "ask"]

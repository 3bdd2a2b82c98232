"""get_state (with subgraphs), failed tasks, and checkpoints that do not exist."""

import operator
import threading
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import EmptyInputError
from hone.graph import START, StateGraph, StateSnapshot, interrupt


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg(tid: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": tid}}


def _asks_in_subgraph() -> Any:
    def ask(state: S) -> dict[str, Any]:
        return {"log": [f"got {interrupt('deep?')}"]}

    deep = StateGraph(S).add_node("ask", ask).add_edge(START, "ask").compile()
    mid = StateGraph(S).add_node("pre", lambda s: {"log": ["pre"]}).add_node("deep", deep)
    mid.add_edge(START, "pre").add_edge("pre", "deep")
    outer = StateGraph(S).add_node("mid", mid.compile()).add_edge(START, "mid")
    return outer.compile(checkpointer=InMemorySaver())


def test_get_state_subgraphs_gives_nested_snapshots(driver: Any) -> None:
    graph = _asks_in_subgraph()
    driver.invoke(graph, {"n": 0}, _cfg())
    plain = graph.get_state(_cfg())
    [task] = plain.tasks
    assert task.name == "mid" and isinstance(task.state, dict)
    mid_ns = task.state["configurable"]["checkpoint_ns"]
    assert mid_ns == f"mid:{task.id}"
    snap = graph.get_state(_cfg(), subgraphs=True)
    mid = snap.tasks[0].state
    assert isinstance(mid, StateSnapshot)
    assert mid.values["log"] == ["pre"] and mid.next == ("deep",)
    assert mid.config["configurable"]["checkpoint_ns"] == mid_ns
    deep = mid.tasks[0].state
    assert isinstance(deep, StateSnapshot) and deep.next == ("ask",)
    assert [i.value for i in deep.interrupts] == ["deep?"] == [i.value for i in snap.interrupts]
    # The config of a subgraph task reads that subgraph's checkpoints.
    assert graph.get_state(plain.tasks[0].state).values == mid.values


def test_failed_task_shows_its_error_and_rerun_retries_only_it(driver: Any) -> None:
    calls: list[str] = []
    fail = {"on": True}
    ok_done = threading.Event()

    def ok(state: S) -> dict[str, Any]:
        calls.append("ok")
        ok_done.set()
        return {"log": ["ok"]}

    def boom(state: S) -> dict[str, Any]:
        calls.append("boom")
        if fail["on"]:
            # Fail after the sibling finished (a failure cancels siblings not started yet).
            assert ok_done.wait(10)
            raise KeyError("no such tool")
        return {"log": ["boom"]}

    g = StateGraph(S).add_node("ok", ok).add_node("boom", boom)
    g.add_edge(START, "ok").add_edge(START, "boom")
    graph = g.compile(checkpointer=InMemorySaver())
    with pytest.raises(KeyError):
        driver.invoke(graph, {"n": 0}, _cfg())
    tasks = {t.name: t for t in graph.get_state(_cfg()).tasks}
    # The saver keeps a failure as its repr (LangGraph's savers do the same).
    assert tasks["boom"].error == "KeyError('no such tool')"
    assert tasks["ok"].error is None and tasks["ok"].result == {"log": ["ok"]}
    fail["on"] = False
    assert sorted(driver.invoke(graph, None, _cfg())["log"]) == ["boom", "ok"]
    assert calls.count("ok") == 1 and calls.count("boom") == 2
    assert graph.get_state(_cfg()).tasks == ()


def test_unknown_checkpoint_id_is_an_error_and_loses_nothing(driver: Any) -> None:
    graph = StateGraph(S).add_node("a", lambda s: {"n": s["n"] + 1}).add_edge(START, "a")
    graph = graph.compile(checkpointer=InMemorySaver())
    driver.invoke(graph, {"n": 1}, _cfg())
    good = graph.get_state(_cfg())
    before = [h.config for h in graph.get_state_history(_cfg())]
    bad = {"configurable": {"thread_id": "t", "checkpoint_id": "nope"}}
    # Nothing is saved under that id: resuming it has nothing to resume (LangGraph's error).
    with pytest.raises(EmptyInputError, match="Received no input for __start__"):
        driver.invoke(graph, None, bad)
    empty = graph.get_state(bad)
    assert empty.values == {} and empty.next == () and empty.metadata is None
    assert graph.get_state(_cfg()) == good
    # As in LangGraph, an update of it starts a new lineage; the old one stays readable.
    new = graph.update_state(bad, {"n": 9})
    snap = graph.get_state(new)
    assert snap.values == {"n": 9, "log": []} and snap.metadata["source"] == "update"
    assert snap.parent_config["configurable"]["checkpoint_id"] == "nope"
    assert graph.get_state(_cfg()).values["n"] == 9
    kept = graph.get_state(good.config)
    assert (kept.values, kept.metadata, kept.next) == (good.values, good.metadata, good.next)
    after = [h.config for h in graph.get_state_history(_cfg())]
    assert after[1:] == before

"""Interrupts and resumes, in subgraphs and after update_state, on the sync and async paths."""

import operator
from typing import Annotated, Any, TypedDict

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, Command, StateGraph, interrupt


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg(tid: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": tid}}


def _nested(calls: list[str]) -> Any:
    """outer: sub (pre -> nest(deep asks q1) -> ask2 asks q2) in parallel with side."""

    def rec(name: str) -> Any:
        def node(state: S) -> dict[str, Any]:
            calls.append(name)
            return {"log": [name]}

        return node

    def deep(state: S) -> dict[str, Any]:
        calls.append("deep")
        return {"log": [f"a={interrupt('q1')}"]}

    async def ask2(state: S) -> dict[str, Any]:
        calls.append("ask2")
        answer = interrupt("q2")
        return {"log": [f"b={answer}" if state["n"] == 0 else f"b={answer} n={state['n']}"]}

    inner2 = StateGraph(S).add_node("deep", deep).add_edge(START, "deep").compile()
    inner = StateGraph(S).add_node("pre", rec("pre")).add_node("nest", inner2)
    inner.add_node("ask2", ask2).add_edge(START, "pre").add_edge("pre", "nest")
    inner.add_edge("nest", "ask2")
    outer = StateGraph(S).add_node("sub", inner.compile()).add_node("side", rec("side"))
    outer.add_edge(START, "sub").add_edge(START, "side").add_edge("sub", END)
    return outer.compile(checkpointer=InMemorySaver())


def test_nested_subgraph_interrupts_resume_each_node_once(driver: Any) -> None:
    calls: list[str] = []
    graph = _nested(calls)
    out = driver.invoke(graph, {"n": 0}, _cfg())
    assert [i.value for i in out["__interrupt__"]] == ["q1"]
    out = driver.invoke(graph, Command(resume="X"), _cfg())
    assert [i.value for i in out["__interrupt__"]] == ["q2"]
    out = driver.invoke(graph, Command(resume="Y"), _cfg())
    # A subgraph's output is its whole state, folded into the parent's by the reducer
    # (as in LangGraph), hence "pre" twice.
    assert out["log"] == ["side", "pre", "pre", "a=X", "b=Y"]
    # Finished nodes never rerun; an interrupted node reruns once per answer.
    assert calls == ["side", "pre", "deep", "deep", "ask2", "ask2"]
    # With nothing pending, a resume is ignored (as in LangGraph): nothing runs again.
    done = graph.get_state(_cfg())
    assert driver.invoke(graph, Command(resume="Z"), _cfg())["log"] == out["log"]
    assert calls == ["side", "pre", "deep", "deep", "ask2", "ask2"]
    assert graph.get_state(_cfg()).config == done.config


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def test_parallel_subgraph_interrupts_take_a_map(driver: Any) -> None:
    def ask(state: Log) -> dict[str, Any]:
        return {"log": [f"got {interrupt('q')}"]}

    def sub() -> Any:
        return StateGraph(Log).add_node("ask", ask).add_edge(START, "ask").compile()

    g = StateGraph(Log).add_node("x", sub()).add_node("y", sub())
    g.add_edge(START, "x").add_edge(START, "y")
    graph = g.compile(checkpointer=InMemorySaver())
    out = driver.invoke(graph, {"log": []}, _cfg())
    ids = [i.id for i in out["__interrupt__"]]
    assert len(set(ids)) == 2
    out = driver.invoke(graph, Command(resume={ids[0]: 1, ids[1]: 2}), _cfg())
    assert sorted(out["log"]) == ["got 1", "got 2"]


async def test_sync_invoke_inside_event_loop_sees_task_scope() -> None:
    async def ask(state: S) -> dict[str, Any]:
        return {"log": [f"got {interrupt('q')}"]}

    g = StateGraph(S).add_node("ask", ask).add_edge(START, "ask")
    graph = g.compile(checkpointer=InMemorySaver())
    # The async node runs on a helper thread here; interrupt() must still find its task.
    assert graph.invoke({"n": 0}, _cfg())["__interrupt__"][0].value == "q"
    assert graph.invoke(Command(resume=1), _cfg())["log"] == ["got 1"]


# ------------------------------------------------------------------ update_state


def _review(calls: list[str]) -> Any:
    def draft(state: S) -> dict[str, Any]:
        calls.append("draft")
        return {"n": 1}

    def review(state: S) -> dict[str, Any]:
        calls.append("review")
        verdict = interrupt({"n": state["n"]})
        return {"log": [f"n={state['n']} verdict={verdict}"]}

    g = StateGraph(S).add_node("draft", draft).add_node("review", review)
    g.add_edge(START, "draft").add_edge("draft", "review").add_edge("review", END)
    return g.compile(checkpointer=InMemorySaver())


def test_update_state_as_other_node_asks_again_about_the_edited_state(driver: Any) -> None:
    """An update is a new step, as if ``as_node`` ran again: the question pending on the
    old checkpoint is not pending any more; the next run of the node asks again, about the
    edited state, under a new id (LangGraph's semantics)."""
    calls: list[str] = []
    graph = _review(calls)
    [pending] = driver.invoke(graph, {"n": 0}, _cfg())["__interrupt__"]
    assert pending.value == {"n": 1}
    graph.update_state(_cfg(), {"n": 7}, as_node="draft")
    snap = graph.get_state(_cfg())
    assert snap.next == ("review",) and snap.values["n"] == 7
    assert snap.interrupts == () and snap.metadata["source"] == "update"
    graph.update_state(_cfg(), {"n": 8}, as_node="draft")  # twice
    assert graph.get_state(_cfg()).values["n"] == 8
    # The old id answers nothing: review runs and asks about n=8.
    out = driver.invoke(graph, Command(resume={pending.id: "stale"}), _cfg())
    [again] = out["__interrupt__"]
    assert again.value == {"n": 8} and again.id != pending.id
    out = driver.invoke(graph, Command(resume={again.id: "ok"}), _cfg())
    assert out["log"] == ["n=8 verdict=ok"]
    assert calls == ["draft", "review", "review", "review"]


def test_update_state_as_interrupted_node_drops_the_interrupt(driver: Any) -> None:
    calls: list[str] = []
    graph = _review(calls)
    driver.invoke(graph, {"n": 0}, _cfg())
    graph.update_state(_cfg(), {"log": ["by hand"]}, as_node="review")
    snap = graph.get_state(_cfg())
    assert snap.next == () and snap.interrupts == ()
    # A late answer has nothing to answer: ignored, nothing runs.
    assert driver.invoke(graph, Command(resume="late"), _cfg()) == {"n": 1, "log": ["by hand"]}
    assert graph.get_state(_cfg()).values["log"] == ["by hand"]
    assert calls == ["draft", "review"]


def test_update_state_of_a_waiting_subgraph_keeps_its_progress(driver: Any) -> None:
    calls: list[str] = []
    graph = _nested(calls)
    driver.invoke(graph, {"n": 0}, _cfg())
    driver.invoke(graph, Command(resume="X"), _cfg())  # now waiting on q2
    sub = graph.get_state(_cfg(), subgraphs=True).tasks[0].state
    assert sub.next == ("ask2",) and sub.values["log"] == ["pre", "pre", "a=X"]
    [pending] = sub.interrupts
    # Edit the subgraph's own state (its config names its namespace and checkpoint).
    edited = graph.update_state(sub.config, {"n": 5}, as_node="nest")
    assert edited["configurable"]["checkpoint_ns"] == sub.config["configurable"]["checkpoint_ns"]
    assert graph.get_state(_cfg()).interrupts == (pending,)
    sub = graph.get_state(_cfg(), subgraphs=True).tasks[0].state
    assert sub.values["n"] == 5 and sub.next == ("ask2",)
    out = driver.invoke(graph, Command(resume="Y"), _cfg())
    # The subgraph continues from its edited state; finished nodes do not rerun.
    assert out["log"] == ["side", "pre", "pre", "a=X", "b=Y n=5"] and out["n"] == 5
    assert calls == ["side", "pre", "deep", "deep", "ask2", "ask2"]


def test_update_state_of_the_parent_ends_the_interrupted_step(driver: Any) -> None:
    """An update as another node of the parent is a new step: the interrupted step's
    pending writes and questions (the subgraph's too) are dropped, as in LangGraph."""
    calls: list[str] = []
    graph = _nested(calls)
    driver.invoke(graph, {"n": 0}, _cfg())
    graph.update_state(_cfg(), {"n": 5}, as_node="side")
    snap = graph.get_state(_cfg())
    assert snap.interrupts == () and snap.next == ()
    assert snap.values == {"n": 5, "log": []}
    assert driver.invoke(graph, Command(resume="Y"), _cfg()) == {"n": 5, "log": []}
    assert calls == ["side", "pre", "deep"]

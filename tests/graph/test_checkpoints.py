import operator
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import ResumeError
from hone.graph import END, START, Command, RunConfig, StateGraph, interrupt


class Counter(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg(tid: str = "t1") -> dict[str, Any]:
    return {"configurable": {"thread_id": tid}}


def _two_step(saver: InMemorySaver, **kw: Any) -> Any:
    g = StateGraph(Counter)
    g.add_node("a", lambda s: {"n": s["n"] + 1, "log": ["a"]})
    g.add_node("b", lambda s: {"n": s["n"] * 10, "log": ["b"]})
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)
    return g.compile(checkpointer=saver, **kw)


def test_threads_are_independent_and_continue() -> None:
    graph = _two_step(InMemorySaver())
    assert graph.invoke({"n": 1}, _cfg("x"))["n"] == 20
    assert graph.invoke({"n": 2}, RunConfig(thread_id="y"))["n"] == 30
    out = graph.invoke({"n": 3}, _cfg("x"))
    assert out["log"] == ["a", "b", "a", "b"]
    assert graph.get_state(_cfg("y")).values == {"n": 30, "log": ["a", "b"]}


def test_history_and_time_travel() -> None:
    graph = _two_step(InMemorySaver())
    graph.invoke({"n": 1}, _cfg())
    history = list(graph.get_state_history(_cfg()))
    assert [h.metadata["source"] for h in history] == ["loop", "loop", "input"]
    assert [h.next for h in history] == [(), ("b",), ("a",)]
    after_a = history[1]
    assert after_a.values["n"] == 2 and after_a.parent_config is not None
    out = graph.invoke(None, after_a.config)
    assert out["n"] == 20
    latest = graph.get_state(_cfg())
    assert latest.parent_config is not None
    assert latest.parent_config.checkpoint_id == after_a.config.checkpoint_id


def test_update_state_as_node_and_fork() -> None:
    graph = _two_step(InMemorySaver(), interrupt_before=["b"])
    assert graph.invoke({"n": 1}, _cfg()) == {"n": 2, "log": ["a"]}
    assert graph.get_state(_cfg()).next == ("b",)
    new = graph.update_state(_cfg(), {"n": 5})
    assert graph.get_state(new).values["n"] == 5
    assert graph.invoke(None, _cfg())["n"] == 50
    # as_node="b": pretend b ran; nothing is left to run.
    cfg2 = _cfg("t2")
    graph.invoke({"n": 1}, cfg2)
    graph.update_state(cfg2, {"n": 9}, as_node="b")
    snap = graph.get_state(cfg2)
    assert snap.next == () and snap.values["n"] == 9
    first = list(graph.get_state_history(cfg2))[-1]
    forked = graph.update_state(first.config, {"n": 100})
    assert graph.get_state(forked).metadata["source"] == "fork"


def test_crash_resume_reruns_only_unfinished_tasks() -> None:
    calls: list[str] = []
    fail = {"on": True}

    def ok(state: Counter) -> dict[str, Any]:
        calls.append("ok")
        return {"log": ["ok"]}

    def boom(state: Counter) -> dict[str, Any]:
        calls.append("boom")
        if fail["on"]:
            raise RuntimeError("crash")
        return {"log": ["boom"]}

    g = StateGraph(Counter).add_node("ok", ok).add_node("boom", boom)
    g.add_edge(START, "ok").add_edge(START, "boom")
    graph = g.compile(checkpointer=InMemorySaver())
    with pytest.raises(RuntimeError):
        graph.invoke({"n": 0}, _cfg())
    fail["on"] = False
    assert sorted(graph.invoke(None, _cfg())["log"]) == ["boom", "ok"]
    assert calls.count("ok") == 1 and calls.count("boom") == 2


def _ask_twice(state: Counter) -> dict[str, Any]:
    first = interrupt("first?")
    second = interrupt("second?")
    return {"log": [f"{first}+{second}"]}


def test_single_interrupt_and_sequential_resumes() -> None:
    g = StateGraph(Counter).add_node("ask", _ask_twice).add_edge(START, "ask")
    graph = g.compile(checkpointer=InMemorySaver())
    out = graph.invoke({"n": 0}, _cfg())
    [pending] = out["__interrupt__"]
    assert pending.value == "first?"
    snap = graph.get_state(_cfg())
    assert snap.next == ("ask",) and snap.interrupts == (pending,)
    out = graph.invoke(Command(resume="A"), _cfg())
    assert out["__interrupt__"][0].value == "second?"
    assert graph.invoke(Command(resume="B"), _cfg())["log"] == ["A+B"]
    with pytest.raises(ResumeError, match="t1"):
        graph.invoke(Command(resume="C"), _cfg())


def test_parallel_interrupts_have_distinct_ids_and_take_a_map() -> None:
    def ask(tag: str) -> Any:
        def node(state: Counter) -> dict[str, Any]:
            return {"log": [f"{tag}={interrupt(tag)}"]}

        return node

    g = StateGraph(Counter).add_node("x", ask("x")).add_node("y", ask("y"))
    g.add_edge(START, "x").add_edge(START, "y")
    graph = g.compile(checkpointer=InMemorySaver())
    out = graph.invoke({"n": 0}, _cfg())
    ids = {i.value: i.id for i in out["__interrupt__"]}
    assert len(set(ids.values())) == 2
    with pytest.raises(ResumeError, match="map"):
        graph.invoke(Command(resume="both"), _cfg())
    with pytest.raises(ResumeError, match="0" * 32):
        graph.invoke(Command(resume={"0" * 32: 1}), _cfg())
    out = graph.invoke(Command(resume={ids["x"]: 1, ids["y"]: 2}), _cfg())
    assert sorted(out["log"]) == ["x=1", "y=2"]


def test_static_breakpoints_per_call() -> None:
    graph = _two_step(InMemorySaver())
    out = graph.invoke({"n": 1}, _cfg(), interrupt_after=["a"])
    assert out == {"n": 2, "log": ["a"]}
    assert graph.invoke(None, _cfg())["n"] == 20


def test_resume_without_checkpoint_is_an_error() -> None:
    graph = _two_step(InMemorySaver())
    with pytest.raises(ResumeError, match="nope"):
        graph.invoke(None, _cfg("nope"))


class _MeetingSaver(InMemorySaver):
    """An in-memory saver whose first save of each thread waits for another thread's."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=10)
        self.met: set[str] = set()

    def put(self, checkpoint: Any, *, new_versions: Any) -> None:
        if checkpoint.thread_id not in self.met:
            self.met.add(checkpoint.thread_id)
            self.barrier.wait()  # BrokenBarrierError if the other invocation cannot save now
        super().put(checkpoint, new_versions=new_versions)


def test_separate_invocations_save_at_the_same_time() -> None:
    """Saves of one invocation are serialised; two invocations never wait for each other."""
    graph = _two_step(_MeetingSaver())
    with ThreadPoolExecutor(max_workers=2) as pool:
        outs = list(pool.map(lambda i: graph.invoke({"n": i}, _cfg(f"m{i}")), (1, 2)))
    assert [o["n"] for o in outs] == [20, 30]

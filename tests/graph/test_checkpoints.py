import itertools
import operator
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import EmptyInputError, ResumeError
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
    # The input checkpoint (step -1), START's step (0), then one per node.
    assert [(h.metadata["source"], h.metadata["step"]) for h in history] == [
        ("loop", 2),
        ("loop", 1),
        ("loop", 0),
        ("input", -1),
    ]
    assert [h.next for h in history] == [(), ("b",), ("a",), (START,)]
    assert history[-1].parent_config is None
    for newer, older in itertools.pairwise(history):
        assert newer.parent_config == older.config
    after_a = history[1]
    assert after_a.values["n"] == 2 and isinstance(after_a.config, dict)
    out = graph.invoke(None, after_a.config)
    assert out["n"] == 20
    # Replaying from a past checkpoint forks it, then runs only what was next there.
    latest = graph.get_state(_cfg())
    assert latest.values == {"n": 20, "log": ["a", "b"]}
    fork = graph.get_state(latest.parent_config)
    assert fork.metadata["source"] == "fork" and fork.next == ("b",)
    assert (
        fork.parent_config["configurable"]["checkpoint_id"]
        == (after_a.config["configurable"]["checkpoint_id"])
    )
    assert len(list(graph.get_state_history(_cfg()))) == 6


def test_update_state_as_node_and_fork() -> None:
    graph = _two_step(InMemorySaver(), interrupt_before=["b"])
    assert graph.invoke({"n": 1}, _cfg()) == {"n": 2, "log": ["a"]}
    assert graph.get_state(_cfg()).next == ("b",)
    new = graph.update_state(_cfg(), {"n": 5})
    updated = graph.get_state(new)
    assert updated.values["n"] == 5 and updated.metadata["source"] == "update"
    assert updated.next == ("b",)
    assert graph.invoke(None, _cfg())["n"] == 50
    # as_node="b": pretend b ran; nothing is left to run.
    cfg2 = _cfg("t2")
    graph.invoke({"n": 1}, cfg2)
    graph.update_state(cfg2, {"n": 9}, as_node="b")
    snap = graph.get_state(cfg2)
    assert snap.next == () and snap.values["n"] == 9
    first = list(graph.get_state_history(cfg2))[-1]
    assert first.metadata["source"] == "input"
    # An update of an old checkpoint is an "update" branching off it ...
    branched = graph.update_state(first.config, {"n": 100})
    branch = graph.get_state(branched)
    assert branch.metadata == {"source": "update", "step": 0, "parents": {}}
    assert branch.parent_config == first.config and branch.values["n"] == 100
    # ... and as_node="__copy__" copies it unchanged: a "fork".
    copied = graph.update_state(first.config, None, as_node="__copy__")
    copy = graph.get_state(copied)
    assert copy.metadata["source"] == "fork" and copy.next == first.next
    assert copy.values == first.values
    # The latest checkpoint of the thread is the copy: resuming runs from there.
    assert graph.invoke(None, cfg2) == {"n": 2, "log": ["a"]}


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
    [second] = out["__interrupt__"]
    assert second.value == "second?"
    assert graph.get_state(_cfg()).interrupts == (second,)
    assert graph.invoke(Command(resume="B"), _cfg())["log"] == ["A+B"]
    done = graph.get_state(_cfg())
    assert done.next == () and done.interrupts == ()
    # A resume with nothing pending is ignored, as in LangGraph: nothing runs again.
    assert graph.invoke(Command(resume="C"), _cfg()) == {"n": 0, "log": ["A+B"]}
    assert graph.get_state(_cfg()).config == done.config


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
    with pytest.raises(ResumeError, match="must specify the interrupt id"):
        graph.invoke(Command(resume="both"), _cfg())
    # An id no interrupt has answers nothing (LangGraph ignores it): both still wait.
    out = graph.invoke(Command(resume={"0" * 32: 1}), _cfg())
    assert {i.id for i in out["__interrupt__"]} == set(ids.values())
    out = graph.invoke(Command(resume={ids["x"]: 1}), _cfg())
    assert out["log"] == ["x=1"] and [i.id for i in out["__interrupt__"]] == [ids["y"]]
    out = graph.invoke(Command(resume={ids["y"]: 2}), _cfg())
    assert sorted(out["log"]) == ["x=1", "y=2"] and "__interrupt__" not in out


def test_parallel_interrupts_resumed_at_once_by_a_map() -> None:
    calls: list[str] = []

    def ask(tag: str) -> Any:
        def node(state: Counter) -> dict[str, Any]:
            calls.append(tag)
            return {"log": [f"{tag}={interrupt(tag)}"]}

        return node

    g = StateGraph(Counter).add_node("x", ask("x")).add_node("y", ask("y"))
    g.add_edge(START, "x").add_edge(START, "y")
    graph = g.compile(checkpointer=InMemorySaver())
    out = graph.invoke({"n": 0}, _cfg())
    ids = {i.value: i.id for i in out["__interrupt__"]}
    out = graph.invoke(Command(resume={ids["x"]: 1, ids["y"]: 2}), _cfg())
    assert sorted(out["log"]) == ["x=1", "y=2"] and "__interrupt__" not in out
    assert sorted(calls) == ["x", "x", "y", "y"]


def test_static_breakpoints_per_call() -> None:
    graph = _two_step(InMemorySaver())
    out = graph.invoke({"n": 1}, _cfg(), interrupt_after=["a"])
    assert out == {"n": 2, "log": ["a"]}
    assert graph.invoke(None, _cfg())["n"] == 20


def test_resume_without_checkpoint_is_an_error() -> None:
    graph = _two_step(InMemorySaver())
    with pytest.raises(EmptyInputError, match="Received no input for __start__"):
        graph.invoke(None, _cfg("nope"))
    assert graph.get_state(_cfg("nope")).values == {}
    assert list(graph.get_state_history(_cfg("nope"))) == []


class _MeetingSaver(InMemorySaver):
    """An in-memory saver whose first save of each thread waits for another thread's."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=10)
        self.met: set[str] = set()

    def put(
        self,
        config: Any,
        checkpoint: Any,
        metadata: Any,
        new_versions: Any,
        *,
        writes: Any = (),
    ) -> Any:
        thread_id = config["configurable"]["thread_id"]
        if thread_id not in self.met:
            self.met.add(thread_id)
            self.barrier.wait()  # BrokenBarrierError if the other invocation cannot save now
        return super().put(config, checkpoint, metadata, new_versions, writes=writes)


def test_separate_invocations_save_at_the_same_time() -> None:
    """Saves of one invocation are serialised; two invocations never wait for each other."""
    graph = _two_step(_MeetingSaver())
    with ThreadPoolExecutor(max_workers=2) as pool:
        outs = list(
            pool.map(lambda i: graph.invoke({"n": i}, _cfg(f"m{i}"), durability="sync"), (1, 2))
        )
    assert [o["n"] for o in outs] == [20, 30]
    assert graph.checkpointer.met == {"m1", "m2"}

"""What the runtime asks a saver to store, and when: one transaction per single-task step
(``put(..., writes=...)``), a saver without that keyword, and the three durability modes
(the crash behaviour of each is in ``test_durability.py``)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import Checkpointer, CheckpointTuple, InMemorySaver, TaskWrites
from hone.graph import START, Command, StateGraph, interrupt

Opener = Callable[[], Checkpointer]


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


class Counting:
    """Delegates to a saver and records each write call: ``("put", step, [task paths of
    the writes saved with it])`` or ``("put_writes", task path, [channels])``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, Any, list[str]]] = []

    def put(
        self,
        config: Mapping[str, Any],
        checkpoint: Any,
        metadata: Any,
        new_versions: Mapping[str, Any],
        *,
        writes: Sequence[TaskWrites] = (),
    ) -> Any:
        self.calls.append(("put", metadata["step"], [w[1] for w in writes]))
        return self.inner.put(config, checkpoint, metadata, new_versions, writes=writes)

    def put_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.calls.append(("put_writes", task_path, [c for c, _ in writes]))
        self.inner.put_writes(config, writes, task_id, task_path)

    def get_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        return self.inner.get_tuple(config)  # type: ignore[no-any-return]

    def list(self, config: Mapping[str, Any] | None, **kwargs: Any) -> Iterator[CheckpointTuple]:
        return self.inner.list(config, **kwargs)  # type: ignore[no-any-return]

    def get_next_version(self, current: Any, channel: None = None) -> Any:
        return self.inner.get_next_version(current, channel)


class WithoutWritesKeyword(Counting):
    """A saver written against LangGraph's ``put`` (no ``writes=``)."""

    def put(  # type: ignore[override]
        self, config: Mapping[str, Any], checkpoint: Any, metadata: Any, new_versions: Any
    ) -> Any:
        return super().put(config, checkpoint, metadata, new_versions)


def _chain(saver: Any) -> Any:
    g = StateGraph(S)
    for name in "abc":
        g.add_node(name, lambda s, name=name: {"log": [name]})
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c")
    return g.compile(checkpointer=saver)


def _path(node: str) -> str:
    return f"~__pregel_pull, {node}"


@pytest.mark.parametrize("durability", ["sync", "async"])
def test_a_single_task_step_costs_one_put(opener: Opener, durability: str) -> None:
    saver = Counting(opener())
    assert _chain(saver).invoke({"n": 0}, _cfg(), durability=durability)["log"] == ["a", "b", "c"]
    assert saver.calls == [
        ("put", -1, []),
        ("put", 0, [_path(START)]),
        ("put", 1, [_path("a")]),
        ("put", 2, [_path("b")]),
        ("put", 3, [_path("c")]),
    ]
    # The writes went in with the checkpoint after them, against the one before: each
    # checkpoint holds the writes of the task that ran on it.
    reader = opener()
    stored = []
    for snapshot in _chain(reader).get_state_history(_cfg()):
        saved = reader.get_tuple(snapshot.config)
        assert saved is not None
        stored.append(sorted({channel for _, channel, _ in saved.pending_writes or []}))
    assert stored == [
        [],
        ["log"],
        ["branch:to:c", "log"],
        ["branch:to:b", "log"],
        ["branch:to:a", "n"],
    ]


def test_a_parallel_step_saves_all_but_its_last_task_on_their_own() -> None:
    saver = Counting(InMemorySaver())
    g = StateGraph(S)
    for name in "abc":
        g.add_node(name, lambda s, name=name: {"log": [name]})
    g.add_edge(START, "a").add_edge(START, "b").add_edge(["a", "b"], "c")
    assert g.compile(checkpointer=saver).invoke({"n": 0}, _cfg(), durability="sync")["log"] == [
        "a",
        "b",
        "c",
    ]
    kinds = [(kind, len(paths)) for kind, _, paths in saver.calls]
    assert kinds == [("put", 0), ("put", 1), ("put_writes", 2), ("put", 1), ("put", 1)]
    first, deferred = saver.calls[2][1], saver.calls[3][2][0]
    assert {first, deferred} == {_path("a"), _path("b")}


def test_a_saver_without_the_writes_keyword_gets_put_writes() -> None:
    saver = WithoutWritesKeyword(InMemorySaver())
    assert _chain(saver).invoke({"n": 0}, _cfg(), durability="sync")["log"] == ["a", "b", "c"]
    assert [kind for kind, _, _ in saver.calls] == [
        "put",
        "put_writes",
        "put",
        "put_writes",
        "put",
        "put_writes",
        "put",
        "put_writes",
        "put",
    ]
    assert all(paths == [] for kind, _, paths in saver.calls if kind == "put")


def test_interrupts_and_failures_are_saved_at_once() -> None:
    """Writes that end a step (an interrupt, an error) never wait for a checkpoint."""

    def ask(state: S) -> dict[str, Any]:
        return {"log": [str(interrupt("q"))]}

    saver = Counting(InMemorySaver())
    g = StateGraph(S).add_node("a", lambda s: {"n": 1}).add_node("ask", ask)
    graph = g.add_edge(START, "a").add_edge("a", "ask").compile(checkpointer=saver)
    graph.invoke({"n": 0}, _cfg(), durability="sync")
    assert saver.calls[-1] == ("put_writes", _path("ask"), ["__interrupt__"])
    saver.calls.clear()
    assert graph.invoke(Command(resume="x"), _cfg(), durability="sync")["log"] == ["x"]
    assert saver.calls == [("put_writes", "", ["__resume__"]), ("put", 2, [_path("ask")])]


def test_exit_durability_saves_once_at_the_end() -> None:
    saver = Counting(InMemorySaver())
    graph = _chain(saver)
    assert graph.invoke({"n": 0}, _cfg(), durability="exit")["log"] == ["a", "b", "c"]
    assert saver.calls == [("put", 3, [])]
    [only] = graph.get_state_history(_cfg())
    assert only.values == {"n": 0, "log": ["a", "b", "c"]} and only.next == ()


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_each_mode_keeps_a_failure_and_an_interrupt(durability: str) -> None:
    def b(state: S) -> dict[str, Any]:
        if state["n"] > 100:
            raise ValueError("too big")
        return {"n": state["n"] * 10, "log": ["b"]}

    def ask(state: S) -> dict[str, Any]:
        return {"log": [f"c{interrupt('ok?')}"]}

    g = StateGraph(S).add_node("a", lambda s: {"n": s["n"] + 1, "log": ["a"]})
    g.add_node("b", b).add_node("c", ask)
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c")
    graph = g.compile(checkpointer=InMemorySaver())
    every_step = durability != "exit"

    out = graph.invoke({"n": 1}, _cfg("i"), durability=durability)
    assert [i.value for i in out["__interrupt__"]] == ["ok?"]
    steps = [h.metadata["step"] for h in graph.get_state_history(_cfg("i"))]
    assert steps == ([2, 1, 0, -1] if every_step else [2])
    out = graph.invoke(Command(resume="y"), _cfg("i"), durability=durability)
    assert out == {"n": 20, "log": ["a", "b", "cy"]}
    steps = [h.metadata["step"] for h in graph.get_state_history(_cfg("i"))]
    assert steps == ([3, 2, 1, 0, -1] if every_step else [3, 2])

    with pytest.raises(ValueError, match="too big"):
        graph.invoke({"n": 200}, _cfg("f"), durability=durability)
    snap = graph.get_state(_cfg("f"))
    assert snap.values == {"n": 201, "log": ["a"]} and snap.next == ("b",)
    assert [(t.name, t.error) for t in snap.tasks] == [("b", "ValueError('too big')")]
    steps = [h.metadata["step"] for h in graph.get_state_history(_cfg("f"))]
    assert steps == ([1, 0, -1] if every_step else [1])


def test_unknown_durability_is_refused() -> None:
    with pytest.raises(ValueError, match="durability must be 'sync', 'async' or 'exit'"):
        _chain(InMemorySaver()).invoke({"n": 0}, _cfg(), durability="never")
    with pytest.warns(UserWarning, match="`durability` has no effect when no checkpointer"):
        _chain(None).invoke({"n": 0}, durability="sync")

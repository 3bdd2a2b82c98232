"""The same graph programs on every saver: InMemorySaver, SqliteSaver and PostgresSaver.

Each program returns a summary of what it saw; it must be the same on every saver (and equal
to the values written here). Durable savers are reopened — a new saver object on the same
file or schema — before resuming, so the programs check what was stored, not a cache.
PostgreSQL tests skip when the server is unreachable, unless ``HONE_REQUIRE_POSTGRES`` is set
(the ``opener`` fixture is in this folder's conftest).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypedDict

from hone.checkpoint import Checkpointer, InMemorySaver
from hone.graph import END, START, Command, CompiledGraph, StateGraph, interrupt

Opener = Callable[[], Checkpointer]


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _node(tag: str, fn: Callable[[int], int]) -> Callable[[S], dict[str, Any]]:
    def node(state: S) -> dict[str, Any]:
        return {"n": fn(state["n"]), "log": [tag]}

    return node


def _chain(saver: Checkpointer, **compile_kw: Any) -> CompiledGraph:
    g = StateGraph(S)
    g.add_node("a", _node("a", lambda n: n + 1))
    g.add_node("b", _node("b", lambda n: n * 10))
    g.add_node("c", _node("c", lambda n: n - 3))
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c").add_edge("c", END)
    return g.compile(checkpointer=saver, **compile_kw)


# ------------------------------------------------------------------ programs


def interrupt_and_resume(open_saver: Opener) -> list[Any]:
    """Two interrupts in one node, each answered from a freshly opened saver."""

    def ask(state: S) -> dict[str, Any]:
        first = interrupt({"question": "first?"})
        second = interrupt("second?")
        return {"n": state["n"] + len(first) + len(second), "log": [f"{first}+{second}"]}

    def build(saver: Checkpointer) -> CompiledGraph:
        g = StateGraph(S).add_node("a", _node("a", lambda n: n + 1)).add_node("ask", ask)
        g.add_edge(START, "a").add_edge("a", "ask").add_edge("ask", END)
        return g.compile(checkpointer=saver)

    seen: list[Any] = []
    out = build(open_saver()).invoke({"n": 0, "log": []}, _cfg("t"))
    seen.append([i.value for i in out["__interrupt__"]])
    graph = build(open_saver())
    snap = graph.get_state(_cfg("t"))
    seen.append((snap.next, [i.value for i in snap.interrupts], snap.values))
    out = graph.invoke(Command(resume="yes"), _cfg("t"))
    seen.append([i.value for i in out["__interrupt__"]])
    out = build(open_saver()).invoke(Command(resume="sure"), _cfg("t"))
    seen.append(out)
    seen.append(build(open_saver()).get_state(_cfg("t")).next)
    return seen


def fork_and_time_travel(open_saver: Opener) -> list[Any]:
    """Replay from an older checkpoint, then fork it with update_state."""
    graph = _chain(open_saver())
    graph.invoke({"n": 1, "log": []}, _cfg("t"))
    graph = _chain(open_saver())
    history = list(graph.get_state_history(_cfg("t")))
    seen: list[Any] = [[(h.next, h.values.get("n"), h.metadata["source"]) for h in history]]
    after_a = next(h for h in history if h.next == ("b",))
    seen.append(graph.invoke(None, after_a.config))  # replay b and c
    updated = graph.update_state(after_a.config, {"n": 100})
    seen.append(graph.get_state(updated).metadata["source"])
    seen.append(_chain(open_saver()).invoke(None, updated))
    latest = _chain(open_saver()).get_state(_cfg("t"))
    seen.append((latest.values, latest.next))
    copied = _chain(open_saver()).update_state(after_a.config, None, as_node="__copy__")
    copy = _chain(open_saver()).get_state(copied)
    seen.append((copy.metadata["source"], copy.values, copy.next))
    seen.append(_chain(open_saver()).invoke(None, copied))
    history = list(_chain(open_saver()).get_state_history(_cfg("t")))
    seen.append([(h.metadata["source"], h.metadata["step"]) for h in history])
    return seen


def subgraph_interrupt(open_saver: Opener) -> list[Any]:
    """An interrupt inside a subgraph; the subgraph's finished node does not run again."""
    calls: list[str] = []

    def first(state: S) -> dict[str, Any]:
        calls.append("first")
        return {"log": ["first"]}

    def ask(state: S) -> dict[str, Any]:
        calls.append("ask")
        return {"log": [f"answer={interrupt('ok?')}"]}

    def build(saver: Checkpointer) -> CompiledGraph:
        inner = StateGraph(S).add_node("first", first).add_node("ask", ask)
        inner.add_edge(START, "first").add_edge("first", "ask")
        outer = StateGraph(S).add_node("sub", inner.compile()).add_node("after", _after)
        outer.add_edge(START, "sub").add_edge("sub", "after").add_edge("after", END)
        return outer.compile(checkpointer=saver)

    out = build(open_saver()).invoke({"n": 0, "log": []}, _cfg("t"))
    seen: list[Any] = [[i.value for i in out["__interrupt__"]]]
    graph = build(open_saver())
    snap = graph.get_state(_cfg("t"))
    seen.append((snap.next, [i.value for i in snap.interrupts]))
    seen.append(graph.invoke(Command(resume="yes"), _cfg("t")))
    seen.append(calls)
    return seen


def _after(state: S) -> dict[str, Any]:
    return {"n": state["n"] + 1, "log": ["after"]}


def two_threads(open_saver: Opener) -> list[Any]:
    """Two threads advanced in turns, with breakpoints, stay independent."""
    seen: list[Any] = []
    graph = _chain(open_saver(), interrupt_after=["a", "b"])
    seen.append(graph.invoke({"n": 1, "log": []}, _cfg("x")))
    seen.append(graph.invoke({"n": 2, "log": []}, _cfg("y")))
    graph = _chain(open_saver(), interrupt_after=["a", "b"])
    seen.append(graph.invoke(None, _cfg("x")))
    seen.append(graph.invoke(None, _cfg("x")))
    seen.append(graph.invoke(None, _cfg("y")))
    seen.append(graph.invoke({"n": 5, "log": []}, _cfg("x")))
    graph = _chain(open_saver())
    seen.append((graph.get_state(_cfg("x")).values, graph.get_state(_cfg("y")).values))
    return seen


# ------------------------------------------------------------------ tests


def _reference() -> Opener:
    """An opener on one InMemorySaver: the reference every saver is compared with."""
    shared = InMemorySaver()
    return lambda: shared


def test_interrupt_and_resume(opener: Opener) -> None:
    seen = interrupt_and_resume(opener)
    assert seen == interrupt_and_resume(_reference())
    assert seen[0] == [{"question": "first?"}]
    assert seen[2] == ["second?"]
    assert seen[3] == {"n": 1 + 3 + 4, "log": ["a", "yes+sure"]}
    assert seen[4] == ()


def test_fork_and_time_travel(opener: Opener) -> None:
    seen = fork_and_time_travel(opener)
    assert seen == fork_and_time_travel(_reference())
    assert seen[0] == [
        ((), 17, "loop"),
        (("c",), 20, "loop"),
        (("b",), 2, "loop"),
        (("a",), 1, "loop"),
        ((START,), None, "input"),
    ]
    assert seen[1] == {"n": 17, "log": ["a", "b", "c"]}
    assert seen[2] == "update"
    assert seen[3] == {"n": 997, "log": ["a", "b", "c"]}
    assert seen[4] == ({"n": 997, "log": ["a", "b", "c"]}, ())
    assert seen[5] == ("fork", {"n": 2, "log": ["a"]}, ("b",))
    assert seen[6] == {"n": 17, "log": ["a", "b", "c"]}
    # Newest first: copy + replay, update + run, replay (a fork first), the first run.
    assert seen[7] == [
        ("loop", 4),
        ("loop", 3),
        ("fork", 2),
        ("loop", 4),
        ("loop", 3),
        ("update", 2),
        ("loop", 4),
        ("loop", 3),
        ("fork", 2),
        ("loop", 3),
        ("loop", 2),
        ("loop", 1),
        ("loop", 0),
        ("input", -1),
    ]


def test_subgraph_interrupt_resume(opener: Opener) -> None:
    seen = subgraph_interrupt(opener)
    assert seen == subgraph_interrupt(_reference())
    assert seen[0] == ["ok?"]
    assert seen[1] == (("sub",), ["ok?"])
    assert seen[2] == {"n": 1, "log": ["first", "answer=yes", "after"]}
    assert seen[3] == ["first", "ask", "ask"]


def test_two_threads(opener: Opener) -> None:
    seen = two_threads(opener)
    assert seen == two_threads(_reference())
    assert seen[-1] == (
        {"n": 6, "log": ["a", "b", "c", "a"]},
        {"n": 30, "log": ["a", "b"]},
    )


def test_fifty_concurrent_threads_lose_nothing(opener: Opener) -> None:
    saver = opener()
    graph = _chain(saver)

    def one(i: int) -> dict[str, Any]:
        graph.invoke({"n": i, "log": []}, _cfg(f"c{i}"))
        return graph.invoke({"n": i, "log": []}, _cfg(f"c{i}"))

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, range(50)))
    assert results == [{"n": (i + 1) * 10 - 3, "log": ["a", "b", "c"] * 2} for i in range(50)]
    fresh = _chain(opener())
    for i in range(50):
        snap = fresh.get_state(_cfg(f"c{i}"))
        assert snap.values == results[i] and snap.next == ()
        # Each run: its input checkpoint, START's step, then a, b, c.
        assert len(list(fresh.get_state_history(_cfg(f"c{i}")))) == 10
    list_threads = getattr(fresh.checkpointer, "list_threads", None)
    if list_threads is not None:
        assert {f"c{i}" for i in range(50)} <= set(list_threads())


def _vm_steps_of_one_more_step(conn: Any, graph: CompiledGraph, thread: str) -> int:
    """SQLite VM instructions (in units of 100) spent by one more 3-step run on a thread."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    conn.set_progress_handler(count, 100)
    try:
        graph.invoke({"n": 1, "log": []}, _cfg(thread))
    finally:
        conn.set_progress_handler(None, 100)
    return counted[0]


def test_sqlite_put_cost_does_not_grow_with_thread_length() -> None:
    import sqlite3

    from hone.checkpoint import SqliteSaver

    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    graph = _chain(SqliteSaver(conn))
    graph.invoke({"n": 1, "log": []}, _cfg("short"))
    for _ in range(100):
        graph.invoke({"n": 1, "log": []}, _cfg("long"))
    short = _vm_steps_of_one_more_step(conn, graph, "short")
    long = _vm_steps_of_one_more_step(conn, graph, "long")
    # The log grows, so values grow a little; a scan of all blobs grows ~100×.
    assert long < 3 * short, (short, long)

import asyncio
import operator
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import pytest
from pydantic import BaseModel

from hone.checkpoint import InMemorySaver, SqliteSaver
from hone.errors import GraphRecursionError, GraphWarning, InvalidUpdateError
from hone.graph import (
    END,
    START,
    Command,
    RetryPolicy,
    RunConfig,
    Send,
    StateGraph,
    get_config,
    get_task_id,
    interrupt,
)


class Counter(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _append(name: str) -> Any:
    def node(state: Counter) -> dict[str, Any]:
        return {"log": [name]}

    return node


def test_sequence_and_plain_key() -> None:
    g = StateGraph(Counter)
    g.add_sequence([("a", lambda s: {"n": s["n"] + 1}), ("b", lambda s: {"n": s["n"] * 10})])
    g.add_edge(START, "a")
    assert g.compile().invoke({"n": 1}) == {"n": 20, "log": []}


def test_parallel_branches_and_join_wait_for_all() -> None:
    g = StateGraph(Counter)
    for name in ("a", "b", "b2", "c"):
        g.add_node(name, _append(name))
    g.add_edge(START, "a").add_edge(START, "b").add_edge("b", "b2")
    g.add_edge(["a", "b2"], "c").add_edge("c", END)
    assert g.compile().invoke({"n": 0})["log"] == ["a", "b", "b2", "c"]


def test_writes_are_visible_next_step_only() -> None:
    seen: list[int] = []

    def reader(state: Counter) -> None:
        seen.append(state["n"])

    g = StateGraph(Counter).add_node("w", lambda s: {"n": 5}).add_node("r", reader)
    g.add_edge(START, "w").add_edge(START, "r")
    assert g.compile().invoke({"n": 1})["n"] == 5
    assert seen == [1]


def test_two_writes_to_plain_key_in_one_step() -> None:
    g = StateGraph(Counter).add_node("a", lambda s: {"n": 1}).add_node("b", lambda s: {"n": 2})
    g.add_edge(START, "a").add_edge(START, "b")
    with pytest.raises(InvalidUpdateError, match=r"'n'.*'a', 'b'"):
        g.compile().invoke({"n": 0})


def test_unknown_key_in_update() -> None:
    """LangGraph ignores a key the schema lacks; hone warns, naming it, and ignores it."""
    g = StateGraph(Counter).add_node("a", lambda s: {"zzz": 1, "n": 4}).add_edge(START, "a")
    with pytest.warns(GraphWarning, match=r"node 'a' wrote 'zzz', not in the state schema"):
        out = g.compile().invoke({"n": 0})
    assert out == {"n": 4, "log": []}


def test_conditional_edges_and_bad_router_value() -> None:
    g = StateGraph(Counter).add_node("inc", lambda s: {"n": s["n"] + 1}).add_edge(START, "inc")
    g.add_conditional_edges(
        "inc", lambda s: "again" if s["n"] < 3 else "stop", {"again": "inc", "stop": END}
    )
    assert g.compile().invoke({"n": 0})["n"] == 3
    g2 = StateGraph(Counter).add_node("inc", lambda s: {"n": 1}).add_edge(START, "inc")
    g2.add_conditional_edges("inc", lambda s: "nope", {"again": "inc", "stop": END})
    with pytest.raises(InvalidUpdateError, match=r"'nope'.*path_map"):
        g2.compile().invoke({"n": 0})


def test_send_map_reduce() -> None:
    class S(TypedDict):
        items: list[int]
        out: Annotated[list[int], operator.add]

    g = StateGraph(S).add_node("square", lambda x: {"out": [x * x]})
    g.add_conditional_edges(START, lambda s: [Send("square", i) for i in s["items"]])
    assert g.compile().invoke({"items": [1, 2, 3]})["out"] == [1, 4, 9]


def test_command_goto_and_update() -> None:
    def a(state: Counter) -> Command[Any]:
        return Command(update={"n": 7}, goto="b")

    g = StateGraph(Counter).add_node("a", a).add_node("b", _append("b")).add_edge(START, "a")
    assert g.compile().invoke({"n": 0}) == {"n": 7, "log": ["b"]}


def test_recursion_limit() -> None:
    g = StateGraph(Counter).add_node("a", lambda s: {"n": s["n"] + 1}).add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "a" if s["n"] < 100 else END)
    graph = g.compile()
    with pytest.raises(GraphRecursionError, match="Recursion limit of 25 reached"):
        graph.invoke({"n": 0})
    with pytest.raises(RecursionError):  # GraphRecursionError is also Python's
        graph.invoke({"n": 0}, {"recursion_limit": 5})
    assert graph.invoke({"n": 0}, {"recursion_limit": 200})["n"] == 100


def test_retry_policy() -> None:
    calls: list[int] = []

    def flaky(state: Counter) -> dict[str, Any]:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return {"n": len(calls)}

    policy = RetryPolicy(initial_interval=0.001, jitter=False, max_attempts=3)
    g = StateGraph(Counter).add_node("f", flaky, retry_policy=policy).add_edge(START, "f")
    assert g.compile().invoke({"n": 0})["n"] == 3
    calls.clear()
    g2 = (
        StateGraph(Counter)
        .add_node("f", flaky, retry_policy=RetryPolicy(max_attempts=1))
        .add_edge(START, "f")
    )
    with pytest.raises(ConnectionError):
        g2.compile().invoke({"n": 0})


def test_config_and_task_id_inside_nodes() -> None:
    got: dict[str, Any] = {}

    def node(state: Counter, config) -> None:  # type: ignore[no-untyped-def]
        got["user"] = config["configurable"]["user"]
        got["task"] = get_task_id()
        got["limit"] = get_config()["recursion_limit"]
        got["config_task"] = config["configurable"]["checkpoint_ns"]

    g = StateGraph(Counter).add_node("a", node).add_edge(START, "a")
    g.compile().invoke({"n": 0}, {"configurable": {"user": "u1"}, "recursion_limit": 9})
    assert got["user"] == "u1" and got["limit"] == 9
    assert str(uuid.UUID(got["task"])) == got["task"]
    assert got["config_task"] == f"a:{got['task']}"


def test_config_parameter_typed_otherwise_is_not_filled_in() -> None:
    """LangGraph's rule: only an untyped or ``RunnableConfig`` parameter gets the config."""

    def node(state: Counter, config: Any) -> None:
        return None

    with pytest.warns(UserWarning, match="'config' parameter should be typed"):
        g = StateGraph(Counter).add_node("a", node).add_edge(START, "a")
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'config'"):
        g.compile().invoke({"n": 0})


def test_config_parameter_typed_as_hones_run_config_is_filled_in() -> None:
    got: list[Any] = []

    def node(state: Counter, config: RunConfig) -> None:
        got.append(config["configurable"]["user"])

    def maybe(state: Counter, config: RunConfig | None = None) -> None:
        got.append(config["configurable"]["user"] if config else None)

    g = StateGraph(Counter).add_node("a", node).add_node("b", maybe)
    g.add_edge(START, "a").add_edge("a", "b").compile().invoke(
        {"n": 0}, {"configurable": {"user": "u"}}
    )
    assert got == ["u", "u"]


def test_parallel_nodes_run_concurrently() -> None:
    def slow(state: Counter) -> None:
        time.sleep(0.2)

    g = StateGraph(Counter).add_node("a", slow).add_node("b", slow)
    g.add_edge(START, "a").add_edge(START, "b")
    start = time.perf_counter()
    g.compile().invoke({"n": 0})
    assert time.perf_counter() - start < 0.35


@dataclass
class DState:
    n: int = 0
    tag: str = ""


class PState(BaseModel):
    n: int = 0
    tag: str = ""


@pytest.mark.parametrize("schema", [DState, PState])
def test_dataclass_and_pydantic_states(schema: type) -> None:
    def a(state: Any) -> dict[str, Any]:
        return {"n": state.n + 1, "tag": type(state).__name__}

    g = StateGraph(schema).add_node("a", a).add_edge(START, "a")
    assert g.compile().invoke({"n": 1}) == {"n": 2, "tag": schema.__name__}


def test_input_and_output_schemas() -> None:
    class In(TypedDict):
        question: str

    class Out(TypedDict):
        answer: str

    class All(In, Out):
        scratch: str

    g = StateGraph(All, input_schema=In, output_schema=Out)
    g.add_node("a", lambda s: {"scratch": s["question"] + "?"})
    g.add_node("b", lambda s: {"answer": s["scratch"] + "!"})
    g.add_edge(START, "a").add_edge("a", "b")
    assert g.compile().invoke({"question": "q"}) == {"answer": "q?!"}


def _chain_graph() -> Any:
    async def a(state: Counter) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"log": ["a"]}

    g = StateGraph(Counter).add_node("a", a).add_node("b", _append("b")).add_node("c", _append("c"))
    g.add_edge(START, "a").add_edge(START, "b").add_edge(["a", "b"], "c")
    g.add_conditional_edges("c", lambda s: [Send("b", s)] if len(s["log"]) < 5 else END)
    return g.compile()


async def test_sync_and_async_give_the_same_result() -> None:
    graph = _chain_graph()
    sync = await asyncio.to_thread(graph.invoke, {"n": 0})
    assert await graph.ainvoke({"n": 0}) == sync
    # The sent "b" re-fills only half of the join, so "c" does not run again.
    assert sync["log"] == ["a", "b", "c", "b"]


def test_parallel_tasks_finishing_together_keep_every_pending_write() -> None:
    """The tasks of a parallel step record their writes from pool threads at the same time;
    none may be lost (they are what a resume uses to skip finished tasks)."""
    width = 24
    together = threading.Barrier(width - 1, timeout=10)

    def fan(state: Counter) -> list[Send]:
        return [Send("work", {"n": i, "log": []}) for i in range(width)]

    def work(state: Counter) -> dict[str, Any]:
        if state["n"] == 0:
            interrupt("stop here")
        together.wait()  # the others finish at the same moment
        return {"log": [f"w{state['n']}"]}

    g = StateGraph(Counter)
    g.add_node("work", work)
    g.add_conditional_edges(START, fan)
    app = g.compile(checkpointer=InMemorySaver())
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for attempt in range(5):
            config: RunConfig = {
                "configurable": {"thread_id": f"t{attempt}"},
                "max_concurrency": width,
            }
            app.invoke({"n": 0, "log": []}, config)
            tasks = app.get_state(config).tasks
            done = sorted(t.result["log"][0] for t in tasks if t.result is not None)
            assert done == sorted(f"w{i}" for i in range(1, width)), f"attempt {attempt}"
    finally:
        sys.setswitchinterval(before)


def test_parallel_tasks_save_their_writes_one_at_a_time(tmp_path: Any) -> None:
    """With ``durability="sync"`` each finished task saves its writes from its own pool
    thread; the saves take turns instead of contending for the database's write lock (a
    saver with a 1 ms busy timeout would otherwise fail with "database is locked", and a
    normal one sleeps in SQLite's busy handler)."""
    width = 10
    together = threading.Barrier(width, timeout=10)

    def fan(state: Counter) -> list[Send]:
        return [Send("work", {"n": i, "log": []}) for i in range(width)]

    def work(state: Counter) -> dict[str, Any]:
        together.wait()
        return {"log": [f"w{state['n']}"]}

    g = StateGraph(Counter)
    g.add_node("work", work)
    g.add_conditional_edges(START, fan)
    with SqliteSaver(tmp_path / "c.db", timeout=0.001) as saver:
        app = g.compile(checkpointer=saver)
        for attempt in range(25):
            config: RunConfig = {
                "configurable": {"thread_id": f"t{attempt}"},
                "max_concurrency": width,
            }
            out = app.invoke({"n": 0, "log": []}, config, durability="sync")
            assert sorted(out["log"]) == sorted(f"w{i}" for i in range(width))

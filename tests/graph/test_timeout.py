"""``TimeoutPolicy`` on async nodes: a run limit, an idle limit refreshed by progress, retries
of timed-out attempts, per-``Send`` overrides; sync nodes cannot have one."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import NodeTimeoutError
from hone.graph import (
    START,
    RetryPolicy,
    Runtime,
    Send,
    StateGraph,
    TimeoutPolicy,
    get_stream_writer,
)


class S(TypedDict):
    log: Annotated[list[str], operator.add]


def _one(node: Any, timeout: Any, **kw: Any) -> Any:
    g = StateGraph(S).add_node("n", node, timeout=timeout, **kw).add_edge(START, "n")
    return g.compile(checkpointer=InMemorySaver())


def _cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t"}}


async def _sleepy(state: S) -> dict[str, Any]:
    await asyncio.sleep(2)
    return {"log": ["woke"]}


async def test_run_timeout_fails_the_node_and_is_saved_on_its_task() -> None:
    graph = _one(_sleepy, 0.05)
    with pytest.raises(
        NodeTimeoutError, match=r"^Node 'n' exceeded its run timeout of 0\.050s"
    ) as e:
        await graph.ainvoke({"log": []}, _cfg())
    assert (e.value.node, e.value.kind, e.value.run_timeout) == ("n", "run", 0.05)
    assert e.value.elapsed >= 0.05
    [task] = (await graph.aget_state(_cfg())).tasks
    assert "NodeTimeoutError" in str(task.error)


async def test_a_node_within_its_limit_finishes() -> None:
    async def quick(state: S) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"log": ["done"]}

    assert await _one(quick, 1.0).ainvoke({"log": []}, _cfg()) == {"log": ["done"]}


async def test_idle_timeout_is_refreshed_by_heartbeats() -> None:
    async def beating(state: S, runtime: Runtime) -> dict[str, Any]:
        for _ in range(6):
            await asyncio.sleep(0.03)
            runtime.heartbeat()
        return {"log": ["beat"]}

    policy = TimeoutPolicy(idle_timeout=0.15, refresh_on="heartbeat")
    assert await _one(beating, policy).ainvoke({"log": []}, _cfg()) == {"log": ["beat"]}

    async def silent(state: S, runtime: Runtime) -> dict[str, Any]:
        await asyncio.sleep(0.3)
        return {"log": ["late"]}

    with pytest.raises(NodeTimeoutError, match=r"idle timeout of 0\.150s without making progress"):
        await _one(silent, policy).ainvoke({"log": []}, _cfg())


async def _chatty(state: S) -> dict[str, Any]:
    write = get_stream_writer()
    for i in range(6):
        await asyncio.sleep(0.03)
        write(i)
    return {"log": ["chatty"]}


async def test_with_refresh_on_heartbeat_stream_output_is_not_progress() -> None:
    policy = TimeoutPolicy(idle_timeout=0.1, refresh_on="heartbeat")
    with pytest.raises(NodeTimeoutError, match="idle timeout"):
        await _one(_chatty, policy).ainvoke({"log": []}, _cfg())


async def test_idle_timeout_is_refreshed_by_stream_output() -> None:
    """``refresh_on="auto"`` (the default): a chunk the node streams is progress (as in
    LangGraph), whether or not the caller streams ``custom`` mode."""
    policy = TimeoutPolicy(idle_timeout=0.15)
    graph = _one(_chatty, policy)
    chunks = [c async for c in graph.astream({"log": []}, _cfg(), stream_mode="custom")]
    assert chunks == [0, 1, 2, 3, 4, 5]
    assert await graph.ainvoke({"log": []}, {"configurable": {"thread_id": "u"}}) == {
        "log": ["chatty"]
    }


async def test_run_timeout_holds_even_with_progress() -> None:
    policy = TimeoutPolicy(idle_timeout=1.0, run_timeout=0.1)
    with pytest.raises(NodeTimeoutError, match=r"run timeout of 0\.100s"):
        await _one(_chatty, policy).ainvoke({"log": []}, _cfg())


async def test_a_timed_out_attempt_is_retried() -> None:
    attempts: list[int] = []

    async def slow_once(state: S) -> dict[str, Any]:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            await asyncio.sleep(2)
        return {"log": ["ok"]}

    # NodeTimeoutError is not a built-in TimeoutError: the default policy retries it.
    retry = RetryPolicy(max_attempts=2, initial_interval=0.001, jitter=False)
    graph = _one(slow_once, 0.05, retry_policy=retry)
    assert await graph.ainvoke({"log": []}, _cfg()) == {"log": ["ok"]}
    assert attempts == [0, 1]


async def test_send_overrides_the_node_timeout() -> None:
    async def wait(arg: dict[str, float]) -> dict[str, Any]:
        await asyncio.sleep(arg["s"])
        return {"log": [f"slept {arg['s']}"]}

    g = StateGraph(S).add_node("wait", wait, timeout=1.0)
    g.add_conditional_edges(
        START, lambda s: [Send("wait", {"s": 0.01}), Send("wait", {"s": 0.3}, timeout=0.05)]
    )
    graph = g.compile(checkpointer=InMemorySaver())
    with pytest.raises(NodeTimeoutError, match=r"run timeout of 0\.050s"):
        await graph.ainvoke({"log": []}, _cfg())
    tasks = (await graph.aget_state(_cfg())).tasks
    assert [t.result for t in tasks] == [{"log": ["slept 0.01"]}, None]
    assert tasks[0].error is None and "NodeTimeoutError" in str(tasks[1].error)


def test_sync_nodes_and_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match=r"only supported for async nodes.*Node 'n' is sync"):
        _one(lambda s: None, 1.0)
    with pytest.raises(ValueError, match="run_timeout must be greater than 0"):
        _one(_sleepy, -1)
    with pytest.raises(ValueError, match="refresh_on must be 'auto' or 'heartbeat'"):
        _one(_sleepy, TimeoutPolicy(idle_timeout=1, refresh_on="never"))  # type: ignore[arg-type]
    assert TimeoutPolicy.coerce(None) is None and TimeoutPolicy.coerce(TimeoutPolicy()) is None

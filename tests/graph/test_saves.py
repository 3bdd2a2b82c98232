"""Background saves (``durability="async"``): runs reuse save threads, each run's saves keep
their order, and a failed save is raised when the run ends."""

from __future__ import annotations

import threading
import time
from typing import Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, StateGraph
from hone.graph._saves import SaveQueue


class S(TypedDict):
    n: int


def _inc(state: S) -> dict[str, Any]:
    return {"n": state["n"] + 1}


def _loop_graph(saver: Any, steps: int = 3) -> Any:
    g = StateGraph(S)
    g.add_node("a", _inc)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "a" if s["n"] < steps else END)
    return g.compile(checkpointer=saver)


class _ThreadRecordingSaver(InMemorySaver):
    """Keeps the thread of each put (the objects, so that no id is reused)."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def put(self, *args: Any, **kw: Any) -> Any:
        self.threads.append(threading.current_thread())
        return super().put(*args, **kw)


def test_runs_reuse_save_threads() -> None:
    saver = _ThreadRecordingSaver()
    graph = _loop_graph(saver)
    for i in range(30):
        out = graph.invoke({"n": 0}, {"configurable": {"thread_id": f"t{i}"}})
        assert out == {"n": 3}
    assert len(saver.threads) == 30 * 5  # input + 4 steps per run
    # One save thread, borrowed and given back by each run in turn (no thread per run).
    assert len({id(t) for t in saver.threads}) == 1
    assert saver.threads[0] is not threading.current_thread()


class _SlowSaver(InMemorySaver):
    """Records the order of its puts; the first ones are slow, so later calls queue up."""

    def __init__(self) -> None:
        super().__init__()
        self.order: list[int] = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any, **kw: Any) -> Any:
        if len(self.order) < 3:
            time.sleep(0.02)
        self.order.append(metadata["step"])
        return super().put(config, checkpoint, metadata, new_versions, **kw)


def test_a_runs_saves_keep_their_order_and_all_land() -> None:
    saver = _SlowSaver()
    graph = _loop_graph(saver, steps=8)
    config = {"configurable": {"thread_id": "ordered"}}
    assert graph.invoke({"n": 0}, config) == {"n": 8}
    assert saver.order == sorted(saver.order)
    assert saver.order[-1] == graph.get_state(config).metadata["step"]
    assert len(list(saver.list(config))) == len(saver.order)


class _FailingSaver(InMemorySaver):
    def put(self, *args: Any, **kw: Any) -> Any:
        raise OSError("disk full")


def test_a_failed_background_save_is_raised_at_the_end_and_the_lane_survives() -> None:
    graph = _loop_graph(_FailingSaver())
    with pytest.raises(OSError, match="disk full"):
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "f"}})
    ok = _loop_graph(InMemorySaver())
    assert ok.invoke({"n": 0}, {"configurable": {"thread_id": "g"}}) == {"n": 3}


def test_save_queue_runs_jobs_in_order_on_one_thread() -> None:
    queue = SaveQueue()
    seen: list[tuple[int, int | None]] = []

    def job(i: int) -> int:
        seen.append((i, threading.get_ident()))
        return i * 2

    futures = [queue.submit(job, i) for i in range(20)]
    assert [f.result(timeout=10) for f in futures] == [i * 2 for i in range(20)]
    queue.close()
    assert [i for i, _ in seen] == list(range(20))
    assert len({ident for _, ident in seen}) == 1
    assert threading.get_ident() not in {ident for _, ident in seen}

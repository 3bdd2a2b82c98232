"""The functional API (``entrypoint`` and ``task``) on every saver: tasks run in parallel as
tasks of one super-step, their results are saved so a resumed workflow never runs a finished
task again, interrupts pause the workflow, ``previous`` carries a thread's last result."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from hone.checkpoint import Checkpointer
from hone.graph import (
    CachePolicy,
    Command,
    InMemoryCache,
    RetryPolicy,
    entrypoint,
    interrupt,
    task,
)

Opener = Callable[[], Checkpointer]


def _cfg(thread: str = "w") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def _review_workflow(saver: Checkpointer, calls: list[Any]) -> Any:
    """Doubles numbers in parallel tasks, then asks a human about their sum."""

    @task
    def double(x: int) -> int:
        calls.append(("double", x))
        return 2 * x

    @task
    def ask(total: int) -> str:
        calls.append(("ask", total))
        return str(interrupt(f"ok {total}?"))

    @entrypoint(checkpointer=saver)
    def review(numbers: list[int]) -> dict[str, Any]:
        doubled = [future.result() for future in [double(n) for n in numbers]]
        return {"doubled": doubled, "answer": ask(sum(doubled)).result()}

    return review


def test_workflow_interrupt_and_resume_on_every_saver(opener: Opener) -> None:
    calls: list[Any] = []
    out = _review_workflow(opener(), calls).invoke([1, 2, 3], _cfg())
    [question] = out["__interrupt__"]
    assert question.value == "ok 12?" and set(out) == {"__interrupt__"}
    # A fresh saver object on the same storage: the finished tasks' results were stored.
    workflow = _review_workflow(opener(), calls)
    snap = workflow.get_state(_cfg())
    assert snap.next == ("review",) and snap.interrupts == (question,)
    out = workflow.invoke(Command(resume="yes"), _cfg())
    assert out == {"doubled": [2, 4, 6], "answer": "yes"}
    # Each double ran once; only the interrupted task ran again.
    assert sorted(c for c in calls if c[0] == "double") == [
        ("double", 1),
        ("double", 2),
        ("double", 3),
    ]
    assert calls.count(("ask", 12)) == 2
    history = list(_review_workflow(opener(), calls).get_state_history(_cfg()))
    assert [(h.metadata["source"], h.metadata["step"], h.next) for h in history] == [
        ("loop", 0, ()),
        ("input", -1, ("review",)),
    ]


def test_a_failed_task_is_retried_alone_on_every_saver(opener: Opener) -> None:
    calls: list[Any] = []
    fail = {"on": True}

    @task
    def first(x: int) -> int:
        calls.append("first")
        return x + 1

    @task
    def fragile(x: int) -> int:
        calls.append("fragile")
        if fail["on"]:
            raise RuntimeError("crash")
        return x * 10

    def build(saver: Checkpointer) -> Any:
        @entrypoint(checkpointer=saver)
        def workflow(x: int) -> list[int]:
            a = first(x).result()
            return [a, fragile(a).result()]

        return workflow

    with pytest.raises(RuntimeError, match="crash"):
        build(opener()).invoke(1, _cfg())
    fail["on"] = False
    assert build(opener()).invoke(None, _cfg()) == [2, 20]
    assert calls == ["first", "fragile", "fragile"]


def test_stream_updates_name_each_task() -> None:
    from hone.checkpoint import InMemorySaver

    workflow = _review_workflow(InMemorySaver(), [])
    chunks = list(workflow.stream([5], _cfg("s")))
    assert chunks[0] == {"double": 10}
    assert [i.value for i in chunks[1]["__interrupt__"]] == ["ok 10?"]
    assert list(workflow.stream(Command(resume="no"), _cfg("s"))) == [
        {"ask": "no"},
        {"review": {"doubled": [10], "answer": "no"}},
    ]


def test_tasks_of_one_step_run_in_parallel() -> None:
    barrier = threading.Barrier(3, timeout=5)

    @task
    def meet(x: int) -> int:
        barrier.wait()  # BrokenBarrierError unless all three run at once
        return x

    @entrypoint()
    def workflow(xs: list[int]) -> list[int]:
        return [f.result() for f in [meet(x) for x in xs]]

    assert workflow.invoke([1, 2, 3]) == [1, 2, 3]


def test_previous_and_final() -> None:
    from hone.checkpoint import InMemorySaver

    @entrypoint(checkpointer=InMemorySaver())
    def running_total(n: int, *, previous: Any = None) -> entrypoint.final[int, int]:
        total = (previous or 0) + n
        return entrypoint.final(value=total * 10, save=total)

    cfg = _cfg("p")
    assert [running_total.invoke(n, cfg) for n in (1, 2, 3)] == [10, 30, 60]
    assert running_total.invoke(1, _cfg("other")) == 10


def test_task_retry_policy_and_cache() -> None:
    attempts: list[int] = []

    @task(
        retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.001, retry_on=ConnectionError)
    )
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) < 3:
            raise ConnectionError("down")
        return x

    @entrypoint()
    def retrying(x: int) -> int:
        return int(flaky(x).result())

    assert retrying.invoke(7) == 7 and attempts == [7, 7, 7]

    computed: list[int] = []

    @task(cache_policy=CachePolicy())
    def plus_one(x: int) -> int:
        computed.append(x)
        return x + 1

    cache = InMemoryCache()

    @entrypoint(cache=cache)
    def cached(x: int) -> int:
        return int(plus_one(x).result())

    assert [cached.invoke(1), cached.invoke(1), cached.invoke(2)] == [2, 2, 3]
    assert computed == [1, 2]
    plus_one.clear_cache(cache)
    assert cached.invoke(1) == 2 and computed == [1, 2, 1]


async def test_async_workflow_gathers_async_tasks() -> None:
    from hone.checkpoint import InMemorySaver

    running = 0
    peak = 0

    @task
    async def adouble(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return 2 * x

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(xs: list[int]) -> int:
        return sum(await asyncio.gather(*[adouble(x) for x in xs]))

    assert await workflow.ainvoke([1, 2, 3], _cfg("a")) == 12
    assert peak == 3


def test_misuse() -> None:
    @task
    def double(x: int) -> int:
        return 2 * x

    with pytest.raises(RuntimeError, match="outside of a runnable context"):
        double(3)
    with pytest.raises(ValueError, match="at least one parameter"):
        entrypoint()(lambda: None)

    def generator(x: int) -> Any:
        yield x

    with pytest.raises(NotImplementedError, match="Generators"):
        entrypoint()(generator)
    with pytest.raises(ValueError, match="only supported for async nodes"):
        task(timeout=1)(lambda x: x)

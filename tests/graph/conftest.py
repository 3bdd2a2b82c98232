"""Shared helpers for graph tests."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import Checkpointer, InMemorySaver


class Counter(TypedDict):
    """A small state: a plain key and an appending key."""

    n: int
    log: Annotated[list[str], operator.add]


@pytest.fixture
def saver() -> InMemorySaver:
    return InMemorySaver()


def thread(tid: str = "t1") -> dict[str, dict[str, str]]:
    return {"configurable": {"thread_id": tid}}


class Driver:
    """Runs a compiled graph through its sync or async entry points, so a test covers both."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def invoke(self, graph: Any, value: Any, config: Any = None, **kw: Any) -> Any:
        """``invoke`` or ``ainvoke`` (or the last state after ``astream``)."""
        if self.mode == "sync":
            return graph.invoke(value, config, **kw)
        if self.mode == "async":
            return asyncio.run(graph.ainvoke(value, config, **kw))
        return asyncio.run(self._astream(graph, value, config, **kw))

    @staticmethod
    async def _astream(graph: Any, value: Any, config: Any, **kw: Any) -> Any:
        # What invoke() returns: the last root values, plus the interrupts the root's
        # "updates" chunks announced (one chunk per interrupted task).
        last: Any = None
        interrupts: list[Any] = []
        async for ns, mode, payload in graph.astream(
            value, config, stream_mode=["values", "updates"], subgraphs=True, **kw
        ):
            if ns != ():
                continue
            if mode == "updates" and isinstance(payload, dict) and "__interrupt__" in payload:
                interrupts.extend(payload["__interrupt__"])
            elif mode == "values":
                last = payload
        if interrupts:
            base = dict(last) if isinstance(last, dict) else {}
            return {**base, "__interrupt__": interrupts}
        return last


@pytest.fixture(params=["sync", "async", "astream"])
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each test using it runs with invoke, ainvoke and astream(subgraphs=True)."""
    return Driver(request.param)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Checkpointer]]:
    """Opens a saver on one storage; each call gives a fresh saver object on the same data."""
    kind: str = request.param
    opened: list[Checkpointer] = []
    if kind == "memory":
        shared = InMemorySaver()

        def open_saver() -> Checkpointer:
            return shared

    elif kind == "sqlite":
        from hone.checkpoint import SqliteSaver

        def open_saver() -> Checkpointer:
            opened.append(SqliteSaver(tmp_path / "checkpoints.db"))
            return opened[-1]

    else:
        from hone.checkpoint import PoolConfig, PostgresSaver

        # Skips (or fails under HONE_REQUIRE_POSTGRES) when PostgreSQL is unreachable; the
        # schema is dropped after this fixture has closed its savers.
        schema = request.getfixturevalue("pg_schemas")()
        dsn: str = request.getfixturevalue("pg_dsn")

        def open_saver() -> Checkpointer:
            opened.append(PostgresSaver(dsn, schema=schema, pool_config=PoolConfig(max_size=8)))
            return opened[-1]

    yield open_saver
    for saver in opened:
        close = getattr(saver, "close", None)
        if close is not None:
            close()

"""Shared helpers for graph tests."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver


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
        last: Any = None
        async for ns, mode, payload in graph.astream(
            value, config, stream_mode=["values", "updates"], subgraphs=True, **kw
        ):
            if mode == "values" and ns == ():
                last = dict(payload)
                if "__interrupt__" in last:
                    last["__interrupt__"] = list(last["__interrupt__"])
        return last


@pytest.fixture(params=["sync", "async", "astream"])
def driver(request: pytest.FixtureRequest) -> Driver:
    """Each test using it runs with invoke, ainvoke and astream(subgraphs=True)."""
    return Driver(request.param)

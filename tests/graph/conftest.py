"""Shared helpers for graph tests."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

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

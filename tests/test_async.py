"""``is_async_callable``: the one check of whether calling something gives a coroutine."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from hone._async import is_async_callable


async def coro(x: int) -> int:
    return x


def plain(x: int) -> int:
    return x


class AsyncCall:
    async def __call__(self, x: int) -> int:
        return x

    async def method(self) -> None:
        return None

    def sync_method(self) -> None:
        return None


class SyncCall:
    def __call__(self, x: int) -> int:
        return x


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (coro, True),
        (plain, False),
        (functools.partial(coro, 1), True),
        (functools.partial(functools.partial(coro), 1), True),
        (functools.partial(plain, 1), False),
        (AsyncCall(), True),
        (SyncCall(), False),
        (AsyncCall().method, True),
        (AsyncCall().sync_method, False),
        (functools.partial(AsyncCall(), 1), True),
        (AsyncCall, False),  # calling the class makes an instance
        (lambda: coro(1), False),  # returns a coroutine, but is not declared async
        (len, False),
    ],
)
def test_is_async_callable(fn: Any, expected: bool) -> None:
    assert is_async_callable(fn) is expected


def test_one_helper_serves_tools_and_graph_nodes() -> None:
    import hone.graph._nodes as nodes
    import hone.tools._tool as tools

    assert nodes.is_async_callable is is_async_callable
    assert tools.is_async_callable is is_async_callable

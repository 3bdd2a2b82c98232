"""The thin sync shell over hone's async cores."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


class _SharedPool(concurrent.futures.ThreadPoolExecutor):
    """The default executor of every loop :func:`run_sync` makes: its worker threads outlive
    the loop (a loop shuts its executor down when it closes; this one ignores that), so
    ``to_thread`` calls in short sync runs do not start a thread each."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Kept running: loops come and go, the pool stays (its threads end with the
        interpreter)."""


_POOL = _SharedPool(thread_name_prefix="hone-sync")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` with the shared pool as the loop's default executor (closed without
    ``shutdown_default_executor``, which starts a thread to wait for a pool that stays)."""
    loop = asyncio.new_event_loop()
    loop.set_default_executor(_POOL)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            _cancel_pending(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks ``coro`` left running and wait for them, as ``asyncio.run`` does."""
    pending = asyncio.all_tasks(loop)
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for task in pending:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during run_sync() shutdown",
                    "task": task,
                    "exception": task.exception(),
                }
            )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code.

    Outside an event loop this is ``asyncio.run`` (its blocking work, ``to_thread``, on a
    pool shared by every such run). Inside one (a notebook, a graph node run by an async
    shell) the coroutine runs on a fresh loop in a worker thread, with the caller's context
    variables, so sync APIs stay usable everywhere.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(coro)
    ctx = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(ctx.run, _run, coro).result()

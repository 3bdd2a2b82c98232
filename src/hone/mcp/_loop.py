"""The event loop MCP sessions live on.

An MCP session is bound to the event loop it was opened on (its streams, task groups and
subprocess pipes are), but hone calls tools from many loops: an async program's own,
the fresh loop ``run_sync`` starts in a worker thread for every sync shell (``run_agent``,
``execute_tool_calls``, a graph's ``invoke``). So every session lives on one long-lived
loop in a daemon thread, and callers hop to it: :func:`call` from any coroutine (cancelling
the caller cancels the work there, which cancels the MCP request), :func:`call_sync` from
plain code. The thread starts on first use and is shared by every client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["call", "call_sync", "get_loop", "on_loop"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The sessions' loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            thread = threading.Thread(target=run, name="hone-mcp", daemon=True)
            thread.start()
            started.wait()
            _loop, _thread = loop, thread
        return _loop


def on_loop() -> bool:
    """Whether the caller runs on the sessions' loop."""
    return _thread is not None and threading.current_thread() is _thread


async def call(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the sessions' loop from any loop; cancelling the caller cancels it."""
    if on_loop():
        return await coro
    future = asyncio.run_coroutine_threadsafe(coro, get_loop())
    return await asyncio.wrap_future(future)


def call_sync(coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
    """Run ``coro`` on the sessions' loop and wait for its result from plain code.

    Raises:
        RuntimeError: called from the sessions' loop itself (it would wait on itself).
        TimeoutError: ``timeout`` seconds passed; the work is cancelled.
    """
    if on_loop():
        coro.close()
        raise RuntimeError("a sync MCP call cannot run on the MCP loop itself; await it")
    future = asyncio.run_coroutine_threadsafe(coro, get_loop())
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise
    except BaseException:
        # A KeyboardInterrupt while waiting: stop the work too.
        future.cancel()
        raise

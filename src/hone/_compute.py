"""One thread for hone's torch compute: local generation and training steps run on it.

On CPU, torch's OpenMP runtime keeps a team of worker threads per calling OS thread. Once two
OS threads have both run parallel torch ops, every later op on either runs about twice as
slowly (the teams compete for the same cores), even when one thread has gone idle. An RL
loop that generates in a worker thread (to keep the event loop free) and trains on the main
thread hits exactly that. So :class:`~hone.models.TransformersModel` and
:class:`~hone.train.Trainer` send their compute here: one long-lived thread, one OpenMP team.
Work already on this thread runs inline, so nested calls cannot deadlock.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["acall", "call", "compute_bound", "on_compute_thread", "submit"]

P = ParamSpec("P")
T = TypeVar("T")

_local = threading.local()


def _mark() -> None:
    _local.compute = True


_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hone-compute", initializer=_mark)


def on_compute_thread() -> bool:
    """Whether the calling thread is hone's compute thread."""
    return bool(getattr(_local, "compute", False))


def _as_caller(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Callable[[], T]:
    """``fn(*args, **kwargs)`` to run on the compute thread with the caller's torch thread
    count (``torch.set_num_threads`` on the caller does not reach other threads)."""
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None

    def run() -> T:
        if torch is not None and threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return fn(*args, **kwargs)

    return run


def call(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn`` on the compute thread and wait for its result (inline when already there)."""
    if on_compute_thread():
        return fn(*args, **kwargs)
    return _EXECUTOR.submit(_as_caller(fn, *args, **kwargs)).result()


async def acall(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Await ``fn`` run on the compute thread (the event loop stays free meanwhile)."""
    if on_compute_thread():
        return fn(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_EXECUTOR, _as_caller(fn, *args, **kwargs))


def submit(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """Queue ``fn`` on the compute thread without waiting (streaming generation)."""
    return _EXECUTOR.submit(_as_caller(fn, *args, **kwargs))


def compute_bound(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorate a function so that it always runs on the compute thread.

    Put it outermost: thread-local settings such as ``torch.no_grad()`` must be entered on
    the compute thread, inside it.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return call(fn, *args, **kwargs)

    return wrapper

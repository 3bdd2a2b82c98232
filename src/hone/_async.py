"""The one check of whether calling something gives a coroutine.

Tools, graph nodes, rollout programs and prompt wrappers all accept sync and async callables
and must tell them apart before calling: a sync one runs in a worker thread, an async one is
awaited on the event loop.
"""

from __future__ import annotations

import functools
import inspect

__all__ = ["is_async_callable"]


def is_async_callable(fn: object) -> bool:
    """Whether calling ``fn`` returns a coroutine: an ``async def`` function or bound method,
    a ``functools.partial`` of one (nested partials too), or an object whose ``__call__`` is
    ``async def``. A class is never async (calling it makes an instance)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isclass(fn):
        return False
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn):
        return False
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - looking up __call__ on purpose
    return call is not None and inspect.iscoroutinefunction(call)

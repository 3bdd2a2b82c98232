"""Calling generators: sync or async, with an optional timeout, failures as values.

A tree-search generator follows TreeQuest's contract, ``generate(parent_state | None) ->
(state, score)`` with the score in [0, 1]; hone also accepts ``(state, score, usage)`` where
``usage`` is a :class:`hone.models.Usage`, so searches can budget tokens, or a
:class:`hone.search.Cost` (a Usage that also counts the call's model calls; anything else
counts as one), so they can budget model calls. Anything else — an
exception, a timeout, a score outside [0, 1] or NaN, a None state — becomes a :class:`Failure`
the search records before going on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from hone._async import is_async_callable
from hone._sync import run_sync
from hone.models import Usage

__all__ = [
    "Failure",
    "GenerateFn",
    "Generated",
    "acall_generator",
    "call_generator",
    "check_result",
]

#: A tree-search generator: ``(parent_state | None) -> (state, score)``, sync or async.
GenerateFn: TypeAlias = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Generated:
    """A valid generator result."""

    state: Any
    score: float
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a generator call produced no node."""

    error: str


def check_result(result: object) -> Generated | Failure:
    """Validate what a generator returned (or what ``tell`` was given)."""
    if not isinstance(result, tuple) or len(result) not in (2, 3):
        return Failure(
            f"the generator returned {type(result).__name__}, not a (state, score) tuple"
        )
    state, score = result[0], result[1]
    usage = result[2] if len(result) == 3 else None
    if usage is not None and not isinstance(usage, Usage):
        return Failure(f"the third item must be a hone.models.Usage, got {type(usage).__name__}")
    if state is None:
        return Failure("the generator returned None as the state (None stands for the root)")
    if isinstance(score, bool) or not isinstance(score, int | float):
        return Failure(f"the score is {type(score).__name__}, not a number")
    value = float(score)
    if math.isnan(value):
        return Failure("the score is NaN")
    if not 0.0 <= value <= 1.0:
        return Failure(f"the score {value!r} is outside [0, 1]")
    return Generated(state=state, score=value, usage=usage)


def _describe(exc: BaseException) -> str:
    return f"the generator raised {type(exc).__name__}: {exc}"


def call_generator(fn: GenerateFn, parent: Any, *, timeout: float | None) -> Generated | Failure:
    """Call a generator from sync code. A sync one runs in this thread (in a worker thread
    when there is a timeout: on timeout it is abandoned, still running); an async one runs to
    completion through hone's sync shell."""
    if is_async_callable(fn):
        return run_sync(acall_generator(fn, parent, timeout=timeout))
    try:
        if timeout is None:
            return check_result(_sync_value(fn(parent)))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            future = pool.submit(fn, parent)
            return check_result(_sync_value(future.result(timeout=timeout)))
        finally:
            pool.shutdown(wait=False)
    except concurrent.futures.TimeoutError:
        return Failure(f"the generator timed out after {timeout}s")
    except Exception as exc:
        return Failure(_describe(exc))


def _sync_value(value: Any) -> Any:
    """A sync callable that returned an awaitable (a lambda around a coroutine) is awaited."""
    if inspect.isawaitable(value):
        return run_sync(_await(value))
    return value


async def _await(value: Awaitable[Any]) -> Any:
    return await value


async def acall_generator(
    fn: GenerateFn, parent: Any, *, timeout: float | None, in_thread: bool = True
) -> Generated | Failure:
    """Call a generator from async code: an async one is awaited, a sync one runs in a
    worker thread (or inline when ``in_thread`` is False and there is no timeout)."""
    try:
        if is_async_callable(fn):
            value = await asyncio.wait_for(fn(parent), timeout)
        elif in_thread or timeout is not None:
            value = await asyncio.wait_for(asyncio.to_thread(fn, parent), timeout)
        else:
            value = fn(parent)
        if inspect.isawaitable(value):
            value = await asyncio.wait_for(_await(value), timeout)
    except TimeoutError:
        return Failure(f"the generator timed out after {timeout}s")
    except Exception as exc:
        return Failure(_describe(exc))
    return check_result(value)

"""The thin shells around :meth:`Run.steps`: run each batch of tasks (inline, on a thread pool,
or with asyncio) and pass stream events on, live when tokens or custom chunks are streamed."""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from hone.errors import ConfigError
from hone.graph._task import Task, run_task_async, run_task_sync
from hone.graph._types import STREAM_MODES

if TYPE_CHECKING:
    from hone.graph._loop import Run

__all__ = [
    "AsyncEvents",
    "Event",
    "EventSink",
    "SyncEvents",
    "debug_event",
    "drive_async",
    "drive_sync",
    "format_event",
    "stream_modes",
]

#: (namespace path, mode, payload)
Event: TypeAlias = tuple[tuple[str, ...], str, Any]
_DONE: Any = object()


class EventSink(Protocol):
    """Where a run puts its stream events (thread-safe)."""

    def put(self, event: Event) -> None:
        """Queue one event."""
        ...


class SyncEvents:
    """Events for the sync shell: a thread-safe queue."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def put(self, event: Event) -> None:
        """Queue one event (from any thread)."""
        self.queue.put(event)

    def drain(self) -> Iterator[Event]:
        """The queued events, without waiting."""
        while True:
            try:
                yield self.queue.get_nowait()
            except queue.Empty:
                return


class AsyncEvents:
    """Events for the async shell: an asyncio queue fed safely from worker threads."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()

    def put(self, event: Event) -> None:
        """Queue one event (from the loop's thread or any other)."""
        if threading.get_ident() == self.thread:
            self.queue.put_nowait(event)
        else:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    def drain(self) -> Iterator[Event]:
        """The queued events, without waiting."""
        while not self.queue.empty():
            yield self.queue.get_nowait()


def debug_event(kind: str, step: int, payload: Any) -> dict[str, Any]:
    """A ``stream_mode="debug"`` chunk."""
    return {"type": kind, "timestamp": time.time(), "step": step, "payload": payload}


def stream_modes(stream_mode: str | Sequence[str]) -> tuple[list[str], bool]:
    """The requested modes, and whether chunks are tagged with their mode."""
    modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    for mode in modes:
        if mode not in STREAM_MODES:
            raise ConfigError(
                f"unknown stream_mode {mode!r}; expected one of {sorted(STREAM_MODES)}"
            )
    return modes, not isinstance(stream_mode, str)


def format_event(event: Event, multi: bool, subgraphs: bool) -> Any:
    """A stream chunk as LangGraph shapes it."""
    ns, mode, payload = event
    if subgraphs:
        return (ns, mode, payload) if multi else (ns, payload)
    return (mode, payload) if multi else payload


def _signal_done(run: Run, task: Task, events: SyncEvents) -> None:
    try:
        run_task_sync(run, task)
    finally:
        events.queue.put(_DONE)


def drive_sync(run: Run, events: SyncEvents | None, live: bool) -> Iterator[Event]:
    """Run all super-steps from sync code, yielding events (live ones as they come)."""
    pool: ThreadPoolExecutor | None = None
    try:
        for batch in run.steps():
            if events is not None:
                yield from events.drain()
            if len(batch) == 1 and not live:
                run_task_sync(run, batch[0])
                continue
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=run.config.max_concurrency or 16)
            if live and events is not None:
                for task in batch:
                    pool.submit(contextvars.copy_context().run, _signal_done, run, task, events)
                remaining = len(batch)
                while remaining:
                    event = events.queue.get()
                    if event is _DONE:
                        remaining -= 1
                    else:
                        yield event
            else:
                futures = [
                    pool.submit(contextvars.copy_context().run, run_task_sync, run, t)
                    for t in batch
                ]
                wait_futures(futures)
        if events is not None:
            yield from events.drain()
    finally:
        if pool is not None:
            pool.shutdown(wait=False)


async def _gather(run: Run, batch: list[Task]) -> list[asyncio.Future[None]]:
    limit = run.config.max_concurrency
    if limit is None:
        return [asyncio.ensure_future(run_task_async(run, t, True)) for t in batch]
    gate = asyncio.Semaphore(limit)

    async def gated(task: Task) -> None:
        async with gate:
            await run_task_async(run, task, True)

    return [asyncio.ensure_future(gated(t)) for t in batch]


async def drive_async(run: Run, events: AsyncEvents | None, live: bool) -> AsyncIterator[Event]:
    """Run all super-steps from async code, yielding events (live ones as they come)."""
    for batch in run.steps():
        if events is not None:
            for event in events.drain():
                yield event
        if len(batch) == 1 and not live:
            await run_task_async(run, batch[0], True)
            continue
        pending: set[asyncio.Future[Any]] = set(await _gather(run, batch))
        if not live or events is None:
            await asyncio.gather(*pending)
            continue
        getter: asyncio.Future[Event] | None = None
        while pending:
            getter = getter or asyncio.ensure_future(events.queue.get())
            done, _ = await asyncio.wait(pending | {getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                getter = None
            pending -= done
        if getter is not None:
            getter.cancel()
    if events is not None:
        for event in events.drain():
            yield event

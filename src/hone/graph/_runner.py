"""The thin shells that drive a :class:`~hone.graph._loop.Loop`: run each super-step's
tasks (inline, on a thread pool, or as asyncio tasks), record how each ended, and pass stream
events on — live, as they happen, when tokens, custom chunks or subgraphs are streamed.

Only ``SyncRunner`` and ``AsyncRunner`` differ; how a finished or failed task is recorded
(:meth:`Runner.commit`) is shared.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import queue
import time
from collections.abc import AsyncGenerator, Iterator
from typing import TYPE_CHECKING, Any

from hone.errors import GraphRecursionError
from hone.graph._algo import Task
from hone.graph._callbacks import (
    aend_graph_run,
    aresume_graph_run,
    astart_graph_run,
    end_graph_run,
    resume_graph_run,
    start_graph_run,
)
from hone.graph._constants import ERROR, ERROR_SOURCE, INTERRUPT, KEPT, NO_WRITES, RESUME, RETURN
from hone.graph._execute import arun_task, run_task
from hone.graph._interrupt import KEYED_RESUME, GraphBubbleUp, GraphInterrupt
from hone.graph._stream import AsyncEvents, Event, SyncEvents
from hone.observability._graph import end_run, start_run, task_span

if TYPE_CHECKING:
    from hone.graph._loop import Loop

__all__ = ["AsyncRunner", "GraphDrained", "SyncRunner", "drive_async", "drive_sync"]


class GraphDrained(GraphBubbleUp):
    """A run stopped at a super-step boundary because its ``RunControl`` asked it to drain
    (its state is saved; resume it with ``invoke(None, config)``)."""

    def __init__(self, reason: str = "shutdown") -> None:
        super().__init__(reason)
        self.reason = reason


class Runner:
    """Records how tasks ended; the shared half of the sync and async runners."""

    def __init__(self, loop: Loop) -> None:
        self.loop = loop
        self.handled: set[int] = set()
        self.trace = start_run(loop, quiet=GraphBubbleUp)  # None unless tracing is on

    def routes_error(self, task: Task) -> bool:
        """Whether a failure of ``task`` goes to an error-handler node."""
        node = task.node
        return node is not None and node.error_handler is not None and not node.is_error_handler

    def _handler(self, task: Task, exc: BaseException | None) -> Task | None:
        """The error-handler task for a failure routed to one, else None."""
        if exc is None or isinstance(exc, GraphBubbleUp) or not self.routes_error(task):
            return None
        return self.loop.error_handler_task(task, exc)

    def _handlers(self, done: list[tuple[Task, BaseException | None]]) -> list[Task]:
        return [h for t, e in done if (h := self._handler(t, e)) is not None]

    def commit(self, task: Task, exc: BaseException | None) -> None:
        """Record a task's writes, interrupt or failure as pending writes."""
        loop = self.loop
        if isinstance(exc, asyncio.CancelledError | concurrent.futures.CancelledError):
            task.writes.append((ERROR, exc))
            loop.put_writes(task.id, task.writes)
        elif isinstance(exc, GraphInterrupt):
            if exc.interrupts:
                writes: list[tuple[str, Any]] = [(INTERRUPT, exc.interrupts)]
                writes.extend(w for w in task.writes if w[0] in (RESUME, KEYED_RESUME))
                if task.kept:
                    writes.append((KEPT, dict(task.kept)))
                loop.put_writes(task.id, writes)
        elif isinstance(exc, GraphBubbleUp):
            pass
        elif exc is not None:
            task.writes.append((ERROR, exc))
            if self.routes_error(task):
                task.writes.append((ERROR_SOURCE, task.name))
                self.handled.add(id(exc))
            loop.put_writes(task.id, task.writes)
        else:
            if not task.writes:
                task.writes.append((NO_WRITES, None))
            loop.put_writes(task.id, task.writes)


def _settle_future(done: asyncio.Future[Any], result: concurrent.futures.Future[Any]) -> None:
    """Pass an asyncio task's outcome to the thread waiting on ``result``."""
    if result.done():  # the waiting side gave up (cancelled its future)
        return
    if done.cancelled():
        result.cancel()
    elif (exc := done.exception()) is not None:
        result.set_exception(exc)
    else:
        result.set_result(done.result())


def _return_of(task: Task) -> Any:
    return next((v for c, v in task.writes if c == RETURN), None)


def _settle(done: list[tuple[Task, BaseException | None]], handled: set[int]) -> None:
    """After a step: raise the first real failure, else the combined interrupts."""
    interrupts = []
    for _, exc in done:
        if exc is None or id(exc) in handled:
            continue
        if isinstance(exc, GraphInterrupt):
            interrupts.append(exc)
        elif isinstance(exc, BaseException):
            raise exc
    if interrupts:
        raise GraphInterrupt(tuple(i for exc in interrupts for i in exc.interrupts))


def _is_failure(exc: BaseException | None, handled: set[int]) -> bool:
    return exc is not None and not isinstance(exc, GraphBubbleUp) and id(exc) not in handled


class SyncRunner(Runner):
    """Runs a step's tasks from sync code: one task inline, several on a thread pool."""

    def __init__(self, loop: Loop, events: SyncEvents | None, live: bool) -> None:
        super().__init__(loop)
        self.events = events
        self.live = live
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pending: dict[concurrent.futures.Future[Any], Task] = {}
        #: Functional-API calls started during the step.
        self._scheduled: list[concurrent.futures.Future[Any]] = []

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self.pool is None:
            limit = self.loop.config.get("max_concurrency") or None
            self.pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=limit, thread_name_prefix="hone-node"
            )
        return self.pool

    def close(self) -> None:
        """Release the thread pool."""
        if self.pool is not None:
            self.pool.shutdown(wait=False)

    def _run(self, task: Task) -> BaseException | None:
        try:
            if self.trace is None:  # tracing is off: no span (not even a no-op one) per task
                run_task(self.loop, task)
            else:
                with task_span(self.trace, task):
                    run_task(self.loop, task)
        except BaseException as exc:
            self.commit(task, exc)
            return exc
        self.commit(task, None)
        return None

    def schedule(self, task: Task) -> concurrent.futures.Future[Any]:
        """Start a task (a functional-API call) now; the returned future gives its return
        value, or raises its exception (in the caller, not at the end of the step)."""
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def job() -> None:
            exc = self._run(task)
            if exc is None:
                result.set_result(_return_of(task))
            else:
                result.set_exception(exc)

        self._scheduled.append(self._pool().submit(contextvars.copy_context().run, job))
        return result

    def _wait_scheduled(self) -> None:
        while self._scheduled:
            self._scheduled.pop(0).result()

    def step(self, tasks: list[Task]) -> Iterator[Event]:
        """Run the tasks of one super-step; yield stream events as they come."""
        events = self.events
        if not tasks:
            return
        if len(tasks) == 1 and not self.live and not self.loop.graph.step_timeout:
            task = tasks[0]
            exc = self._run(task)
            done = [(task, exc)]
            handler = self._handler(task, exc)
            if handler is not None:
                yield from self._parallel([handler], done)
            self._wait_scheduled()
            _settle(done, self.handled)
            return
        done = []
        yield from self._parallel(tasks, done)
        self._wait_scheduled()
        _settle(done, self.handled)
        if events is not None:
            yield from events.drain()

    def _parallel(
        self, tasks: list[Task], done: list[tuple[Task, BaseException | None]]
    ) -> Iterator[Event]:
        pool = self._pool()
        # Finished futures come through the inbox too (not tuples, so event drains skip them).
        inbox: Any = self.events.queue if self.events is not None else queue.SimpleQueue()
        for task in tasks:
            self._submit(pool, task, inbox)
        limit = self.loop.graph.step_timeout
        deadline = time.monotonic() + limit if limit else None
        failed = False
        while self._pending:
            wait = None if deadline is None else deadline - time.monotonic()
            try:
                if wait is not None and wait <= 0:
                    raise queue.Empty
                item = inbox.get(timeout=wait)
            except queue.Empty:
                for fut in self._pending:
                    fut.cancel()
                self._pending.clear()
                raise TimeoutError("Timed out") from None
            if not isinstance(item, concurrent.futures.Future):
                yield item
                continue
            fut = item
            if fut not in self._pending:  # cancelled after a failure, or of an earlier step
                continue
            task = self._pending.pop(fut)
            exc = fut.result() if not fut.cancelled() else concurrent.futures.CancelledError()
            done.append((task, exc))
            handler = self._handler(task, exc)
            if handler is not None:
                self._submit(pool, handler, inbox)
            elif _is_failure(exc, self.handled) and not failed:
                # A failure ends the step: tasks not started yet never start; running
                # ones (threads cannot be stopped) finish and are recorded.
                failed = True
                for other, queued in list(self._pending.items()):
                    handles = queued.node is not None and queued.node.is_error_handler
                    if not handles and other.cancel():
                        del self._pending[other]
        self._pending.clear()

    def _submit(self, pool: concurrent.futures.ThreadPoolExecutor, task: Task, inbox: Any) -> None:
        fut = pool.submit(contextvars.copy_context().run, self._run, task)
        self._pending[fut] = task
        fut.add_done_callback(inbox.put)


class AsyncRunner(Runner):
    """Runs a step's tasks as asyncio tasks."""

    def __init__(self, loop: Loop, events: AsyncEvents | None, live: bool) -> None:
        super().__init__(loop)
        self.events = events
        self.live = live
        self._pending: dict[asyncio.Future[Any], Task] = {}
        self._scheduled: list[asyncio.Future[Any]] = []
        limit = loop.config.get("max_concurrency")
        self.gate = asyncio.Semaphore(limit) if limit else None
        self.event_loop = asyncio.get_running_loop()

    async def _run(self, task: Task) -> BaseException | None:
        try:
            if self.gate is not None:
                async with self.gate:
                    with task_span(self.trace, task):
                        await arun_task(self.loop, task)
            else:
                with task_span(self.trace, task):
                    await arun_task(self.loop, task)
        except BaseException as exc:
            self.commit(task, exc)
            return exc
        self.commit(task, None)
        return None

    def in_loop_thread(self) -> bool:
        """Whether the caller runs on this runner's event loop (not in a worker thread)."""
        try:
            return asyncio.get_running_loop() is self.event_loop
        except RuntimeError:
            return False

    def schedule(self, task: Task) -> Any:
        """Start a task (a functional-API call) now; the returned future gives its return
        value, or raises its exception (in the caller). From a sync node in a worker thread
        the future is a ``concurrent.futures.Future``."""

        async def job() -> Any:
            exc = await self._run(task)
            if exc is not None:
                raise exc
            return _return_of(task)

        if self.in_loop_thread():
            fut = asyncio.ensure_future(job())
            self._scheduled.append(fut)
            return fut
        # From a worker thread: the call runs on the event loop in the caller's context (as
        # a call from async code does), so what the caller's context carries (its tracing
        # span, its LangChain run) is the call's parent.
        caller = contextvars.copy_context()
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def start() -> None:
            started = self.event_loop.create_task(job(), context=caller)
            self._scheduled.append(started)
            started.add_done_callback(lambda done: _settle_future(done, result))

        self.event_loop.call_soon_threadsafe(start)
        return result

    async def _wait_scheduled(self) -> None:
        while self._scheduled:
            fut = self._scheduled.pop(0)
            with contextlib.suppress(BaseException):
                await fut

    async def step(self, tasks: list[Task]) -> AsyncGenerator[Event, None]:
        """Run the tasks of one super-step; yield stream events as they come."""
        if not tasks:
            return
        done: list[tuple[Task, BaseException | None]] = []
        if len(tasks) == 1 and not self.live and not self.loop.graph.step_timeout:
            done.append((tasks[0], await self._run(tasks[0])))
            handlers = self._handlers(done)
            if handlers:
                async with contextlib.aclosing(self._parallel(handlers, done)) as running:
                    async for event in running:
                        yield event
            await self._wait_scheduled()
            _settle(done, self.handled)
            return
        # Closed with the step: a reader that stops reading cancels the step's running tasks
        # now, not when the generator is collected.
        async with contextlib.aclosing(self._parallel(tasks, done)) as running:
            async for event in running:
                yield event
        await self._wait_scheduled()
        _settle(done, self.handled)
        if self.events is not None:
            for event in self.events.drain():
                yield event

    async def _parallel(
        self, tasks: list[Task], done: list[tuple[Task, BaseException | None]]
    ) -> AsyncGenerator[Event, None]:
        for task in tasks:
            self._pending[asyncio.ensure_future(self._run(task))] = task
        events = self.events
        getter: asyncio.Future[Any] | None = None
        failed = False
        limit = self.loop.graph.step_timeout
        deadline = time.monotonic() + limit if limit else None
        try:
            while self._pending and not failed:
                waits: set[asyncio.Future[Any]] = set(self._pending)
                if events is not None:
                    getter = getter or asyncio.ensure_future(events.queue.get())
                    waits.add(getter)
                wait = None if deadline is None else max(deadline - time.monotonic(), 0)
                finished, _ = await asyncio.wait(
                    waits, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                if not finished:
                    raise TimeoutError("Timed out")
                if getter is not None and getter in finished:
                    yield getter.result()
                    getter = None
                for fut in finished:
                    if fut not in self._pending:
                        continue
                    task = self._pending.pop(fut)
                    exc = asyncio.CancelledError() if fut.cancelled() else fut.result()
                    done.append((task, exc))
                    handler = self._handler(task, exc)
                    if handler is not None:
                        self._pending[asyncio.ensure_future(self._run(handler))] = handler
                    elif _is_failure(exc, self.handled):
                        failed = True
        finally:
            if getter is not None:
                getter.cancel()
            if failed or self._pending:
                for fut in self._pending:
                    fut.cancel()
                if self._pending:
                    await asyncio.gather(*self._pending, return_exceptions=True)
                self._pending.clear()
        if events is not None:
            for event in events.drain():
                yield event


def _stopped_early(loop: Loop) -> Exception | None:
    """The error a run that stopped before its end raises: the recursion limit, or a drain."""
    if loop.status == "out_of_steps":
        limit = loop.config.get("recursion_limit", 25)
        return GraphRecursionError(
            f"Recursion limit of {limit} reached without hitting a stop condition. You can "
            f"increase the limit by setting the `recursion_limit` config key."
        )
    if loop.status == "draining":
        reason = loop.control.drain_reason if loop.control is not None else None
        return GraphDrained(reason or "shutdown")
    return None


def drive_sync(loop: Loop, events: SyncEvents | None, live: bool) -> Iterator[Event]:
    """Run a loop from sync code, yielding stream events."""
    runner = SyncRunner(loop, events, live)
    loop.runner = runner
    error: BaseException | None = None
    try:
        loop.callbacks = start_graph_run(loop)
        loop.enter()
        if loop.callbacks is not None:
            resume_graph_run(loop)
        if events is not None:
            yield from events.drain()
        while loop.tick():
            if events is not None:
                yield from events.drain()
            yield from runner.step([t for t in loop.tasks.values() if not t.writes])
            loop.after_tick()
            if events is not None:
                yield from events.drain()
    except BaseException as exc:
        error = exc
    finally:
        runner.close()
    try:
        suppressed = loop.exit(error)
    except BaseException as exc:
        end_run(runner.trace, loop, exc)
        end_graph_run(loop, exc)
        raise
    failure = error if error is not None and not suppressed else _stopped_early(loop)
    end_run(runner.trace, loop, failure)
    try:
        if isinstance(error, GeneratorExit):  # the caller stopped reading: yield nothing more
            raise error
        if events is not None:
            yield from events.drain()
    except BaseException as exc:
        end_graph_run(loop, exc)
        raise
    end_graph_run(loop, failure)
    if failure is not None:
        raise failure


async def drive_async(
    loop: Loop, events: AsyncEvents | None, live: bool
) -> AsyncGenerator[Event, None]:
    """Run a loop from async code, yielding stream events."""
    runner = AsyncRunner(loop, events, live)
    loop.runner = runner
    error: BaseException | None = None
    try:
        loop.callbacks = await astart_graph_run(loop)
        loop.enter()
        if loop.callbacks is not None:
            await aresume_graph_run(loop)
        if events is not None:
            for event in events.drain():
                yield event
        while loop.tick():
            if events is not None:
                for event in events.drain():
                    yield event
            stepping = runner.step([t for t in loop.tasks.values() if not t.writes])
            async with contextlib.aclosing(stepping):
                async for event in stepping:
                    yield event
            loop.after_tick()
            if events is not None:
                for event in events.drain():
                    yield event
    except BaseException as exc:
        error = exc
    try:
        suppressed = (
            await asyncio.to_thread(loop.exit, error) if loop.has_saver else loop.exit(error)
        )
    except BaseException as exc:
        end_run(runner.trace, loop, exc)
        await aend_graph_run(loop, exc)
        raise
    failure = error if error is not None and not suppressed else _stopped_early(loop)
    end_run(runner.trace, loop, failure)
    try:
        if isinstance(error, GeneratorExit):  # the caller stopped reading: yield nothing more
            raise error
        if events is not None:
            for event in events.drain():
                yield event
    except BaseException as exc:
        await aend_graph_run(loop, exc)
        raise
    await aend_graph_run(loop, failure)
    if failure is not None:
        raise failure

"""Executing runs: one at a time per thread (the rest wait, ``pending``), a bounded number at
once overall, each streaming into its :class:`~hone.server._events.EventLog`.

A run's record moves ``pending`` → ``running`` → ``success`` / ``error`` / ``interrupted``
(cancelled). A run that stops at an ``interrupt()`` is a ``success``; its thread becomes
``interrupted`` until a run resumes it.

Crashes: a run's checkpoints are saved as it goes, so when a server stops with runs still
``running`` (killed, or drained at shutdown), :meth:`RunManager.recover` at the next start
resumes each from the thread's last checkpoint — when that checkpoint is the run's own —
or starts it again from its input, and starts the ``pending`` ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from hone.graph import Command, GraphDrained, RunControl, Send
from hone.graph.streaming import (
    CheckpointsTransformer,
    CustomTransformer,
    TasksTransformer,
    ToolCallTransformer,
    UpdatesTransformer,
)
from hone.server._db import Database
from hone.server._events import EventConverter, EventLog, EventLogs, graph_chunks
from hone.server._graphs import GraphRegistry
from hone.server._json import jsonable
from hone.server._records import RunRecord, RunStatus, ThreadRecord
from hone.server._state import interrupts_by_task, run_output
from hone.server._thread_events import ThreadEventLogs
from hone.server._wire import WireShaper

__all__ = ["CancelAction", "RunHandle", "RunManager"]

logger = logging.getLogger(__name__)

CancelAction = Literal["interrupt", "rollback"]


@dataclass(slots=True)
class RunHandle:
    """A run this process knows of: its task and how it ended."""

    run_id: str
    thread_id: str
    done: asyncio.Event = field(default_factory=asyncio.Event)
    status: RunStatus = "pending"
    output: Any = None
    task: asyncio.Task[None] | None = None
    control: RunControl | None = None
    cancel_action: CancelAction | None = None
    #: An event-streaming run's wire shaper (None: the run streams the API's run events).
    shaper: WireShaper | None = None
    #: The run ended at an interrupt or a breakpoint, waiting for input.
    paused: bool = False
    error: str | None = None


#: What an event-streaming run streams besides the built-in projections' modes (values,
#: messages, subgraphs): every channel a client may subscribe to.
_WIRE_TRANSFORMERS = (
    UpdatesTransformer,
    CustomTransformer,
    CheckpointsTransformer,
    TasksTransformer,
    ToolCallTransformer,
)


class _Drained(Exception):
    """The run stopped at a step boundary because the server is shutting down."""


def _command(spec: dict[str, Any]) -> Command[Any]:
    def target(goto: Any) -> Any:
        return Send(goto["node"], goto.get("input")) if isinstance(goto, dict) else goto

    kwargs: dict[str, Any] = {}
    if "resume" in spec:
        kwargs["resume"] = spec["resume"]
    update = spec.get("update")
    if update is not None:
        kwargs["update"] = (
            [tuple(pair) for pair in update] if isinstance(update, list) else dict(update)
        )
    goto = spec.get("goto")
    if goto is not None:
        kwargs["goto"] = [target(g) for g in goto] if isinstance(goto, list) else target(goto)
    return Command(**kwargs)


class RunManager:
    """Starts, follows, cancels and recovers runs."""

    def __init__(
        self,
        *,
        db: Database,
        graphs: GraphRegistry,
        checkpointer: Any,
        logs: EventLogs,
        max_concurrent: int,
    ) -> None:
        self.db = db
        self.graphs = graphs
        self.checkpointer = checkpointer
        self.logs = logs
        #: Each thread's wire event stream (event-streaming runs publish there).
        self.thread_events = ThreadEventLogs()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._handles: dict[str, RunHandle] = {}
        #: thread id -> the run executing on it
        self._running: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._closing = False
        self._background: set[asyncio.Task[Any]] = set()

    # ----------------------------------------------------------------------- queries

    def thread_lock(self, thread_id: str) -> asyncio.Lock:
        """The lock that serialises creating runs on one thread."""
        lock = self._locks.get(thread_id)
        if lock is None:
            lock = self._locks[thread_id] = asyncio.Lock()
        return lock

    async def settled(self, thread_id: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the run executing on the thread to end (its
        record and the thread's status written); whether none executes now."""
        run_id = self._running.get(thread_id)
        handle = None if run_id is None else self._handles.get(run_id)
        if handle is None:
            return True
        try:
            await asyncio.wait_for(handle.done.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def handle(self, run_id: str) -> RunHandle | None:
        """The run's handle, while this process knows it."""
        return self._handles.get(run_id)

    def _handle(self, run: RunRecord) -> RunHandle:
        handle = self._handles.get(run.run_id)
        if handle is None:
            handle = self._handles[run.run_id] = RunHandle(run.run_id, run.thread_id)
        return handle

    # ----------------------------------------------------------------------- starting

    async def submit(self, run: RunRecord) -> RunHandle:
        """Queue a stored ``pending`` run; it starts when its thread is free."""
        handle = self._handle(run)
        self.logs.open(run.run_id)
        await self._advance(run.thread_id)
        return handle

    async def _advance(self, thread_id: str) -> None:
        """Start the thread's oldest pending run if nothing runs on the thread."""
        if self._closing or thread_id in self._running:
            return
        pending = [r for r in await self.db.active_runs(thread_id) if r.status == "pending"]
        if pending and thread_id not in self._running and not self._closing:
            self._start(pending[0], resume=False)

    def _start(self, run: RunRecord, *, resume: bool) -> None:
        self._running[run.thread_id] = run.run_id
        handle = self._handle(run)
        if resume or self.logs.get(run.run_id) is None:
            self.logs.open(run.run_id)
        handle.task = asyncio.create_task(self._execute(run, handle, resume=resume))

    def _forget_later(self, run_id: str) -> None:
        """Drop a finished run's handle once readers have had time to collect its output."""
        loop = asyncio.get_running_loop()
        loop.call_later(self.logs.retention, self._handles.pop, run_id, None)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _execute(self, run: RunRecord, handle: RunHandle, *, resume: bool) -> None:
        try:
            async with self._slots:
                await self._run(run, handle, resume=resume)
        except asyncio.CancelledError:
            if handle.cancel_action is None:
                raise  # the server is stopping: the record stays as it is, for recover()
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            await self._cancelled(run, handle)
        except _Drained:
            logger.info("run %s drained at shutdown; it resumes at the next start", run.run_id)
        except Exception as exc:
            logger.exception("run %s failed outside its graph", run.run_id)
            await self._failed(run, handle, exc)
        finally:
            if self._running.get(run.thread_id) == run.run_id:
                del self._running[run.thread_id]
            self._end_wire(run, handle)
            handle.done.set()
            self.logs.close(run.run_id)
            self._forget_later(run.run_id)
            if not self._closing:
                self._spawn(self._advance(run.thread_id))

    def _end_wire(self, run: RunRecord, handle: RunHandle) -> None:
        """An event-streaming run's last wire event: its root lifecycle, once it has ended
        (completed, paused for input, failed, or cancelled)."""
        shaper, handle.shaper = handle.shaper, None
        if shaper is None or handle.status in ("pending", "running"):
            return  # not event streaming, or drained at shutdown (it resumes at the next start)
        log = self.thread_events.get(run.thread_id)
        if handle.status == "error":
            events = shaper.finish(error=handle.error or "the run failed")
        else:
            events = shaper.finish(interrupted=handle.paused or handle.status == "interrupted")
        for event in events:
            log.publish(event)

    async def _failed(self, run: RunRecord, handle: RunHandle, exc: Exception) -> None:
        """A run the server itself failed (its output could not be read or stored, say):
        the run and its thread end ``error``, and its readers are told so."""
        message = f"the server failed to finish the run: {type(exc).__name__}: {exc}"[:2000]
        handle.status, handle.error = "error", message
        handle.output = {"__error__": {"error": "InternalError", "message": message}}
        log = self.logs.get(run.run_id)
        if log is not None:
            log.publish("error", {"error": "InternalError", "message": message})
        with contextlib.suppress(Exception):
            await self.db.save_run(run.with_(status="error", output=handle.output, error=message))
            thread = await self.db.get_thread(run.thread_id)
            if thread is not None:
                await self.db.save_thread(thread.with_(status="error", error=message))

    def _config(self, run: RunRecord, *, resume: bool) -> dict[str, Any]:
        kw = run.kwargs
        config = dict(kw.get("config") or {})
        configurable = dict(config.get("configurable") or {})
        configurable.update(
            thread_id=run.thread_id,
            run_id=run.run_id,
            assistant_id=run.assistant_id,
            graph_id=run.graph_id,
            langgraph_auth_user_id=run.owner,
        )
        if kw.get("checkpoint_id") and not resume:
            configurable["checkpoint_id"] = kw["checkpoint_id"]
            configurable["checkpoint_ns"] = kw.get("checkpoint_ns", "")
        else:
            configurable.pop("checkpoint_id", None)
        config["configurable"] = configurable
        config["metadata"] = {**(config.get("metadata") or {}), **run.metadata}
        config["run_id"] = uuid.UUID(run.run_id)  # the graph's run, for tracers and events
        return config

    async def _run(self, run: RunRecord, handle: RunHandle, *, resume: bool) -> None:
        kw = run.kwargs
        if kw.get("protocol"):
            # An event-streaming run reports from here on, so every way it ends is told.
            handle.shaper = WireShaper(run.graph_id)
            for event in handle.shaper.start():
                self.thread_events.get(run.thread_id).publish(event)
        delay = kw.get("after_seconds")
        if delay and not resume and run.attempt == 1:
            await asyncio.sleep(float(delay))
        thread = await self.db.get_thread(run.thread_id)
        if thread is None:  # deleted while the run waited
            handle.status, handle.error = "error", "the thread was deleted"
            return
        if not resume and "start_checkpoint_id" not in kw:
            # Where a rollback returns to: the thread's state before this run.
            kw = {**kw, "start_checkpoint_id": await self._latest_checkpoint(run.thread_id)}
        run = run.with_(status="running", kwargs=kw)
        handle.status = "running"
        await self.db.save_run(run)
        log = self.logs.get(run.run_id) or self.logs.open(run.run_id)
        log.publish("metadata", {"run_id": run.run_id, "attempt": run.attempt})
        command = kw.get("command")
        if command and "resume" in command and not resume and not await self._waiting(run):
            problem = f"thread {run.thread_id!r} has no interrupt to resume"
            await self._finish(run, handle, thread, error=("ThreadNotInterrupted", problem))
            return
        await self.db.save_thread(thread.with_(status="busy", graph_id=run.graph_id))
        error = await self._stream(run, handle, log, resume=resume)
        await self._finish(run, handle, thread, error=error)

    async def _latest_checkpoint(self, thread_id: str) -> str | None:
        latest = await self.checkpointer.aget_tuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        )
        return None if latest is None else str(latest.config["configurable"]["checkpoint_id"])

    async def _stream(
        self, run: RunRecord, handle: RunHandle, log: EventLog, *, resume: bool
    ) -> tuple[str, str] | None:
        """Execute the run's graph, publishing its events; the graph's error, if it failed.

        Raises:
            _Drained: the server is shutting down; the run stopped at a step boundary.
        """
        kw = run.kwargs
        config = self._config(run, resume=resume)
        command = kw.get("command")
        try:
            graph = await self.graphs.for_run(run.graph_id, config)
            inp = None if resume else (_command(command) if command else kw.get("input"))
            if handle.shaper is not None:
                await self._stream_wire(run, handle, handle.shaper, graph, inp, config)
                return None
            modes = list(kw.get("stream_mode") or ["values"])
            converter = EventConverter(modes)
            handle.control = RunControl()
            async for ns, mode, payload in graph_chunks(
                graph,
                inp,
                config,
                modes,
                subgraphs=bool(kw.get("stream_subgraphs")),
                context=kw.get("context") or None,
                interrupt_before=kw.get("interrupt_before"),
                interrupt_after=kw.get("interrupt_after"),
                durability=kw.get("durability"),
                control=handle.control,
            ):
                for event, data in converter.convert(ns, mode, payload):
                    log.publish(event, data)
        except GraphDrained as exc:
            raise _Drained from exc
        except Exception as exc:
            logger.info("run %s failed: %s: %s", run.run_id, type(exc).__name__, exc)
            return (type(exc).__name__, str(exc))
        return None

    async def _stream_wire(
        self,
        run: RunRecord,
        handle: RunHandle,
        shaper: WireShaper,
        graph: Any,
        inp: Any,
        config: dict[str, Any],
    ) -> None:
        """Execute an event-streaming run (``run.start``): its v3 events, shaped for the wire,
        go to the thread's event stream."""
        kw = run.kwargs
        log = self.thread_events.get(run.thread_id)
        handle.control = RunControl()
        stream = await graph.astream_events(
            inp,
            config,
            version="v3",
            transformers=_WIRE_TRANSFORMERS,
            context=kw.get("context") or None,
            durability=kw.get("durability"),
            control=handle.control,
        )
        async with stream:
            async for local in stream:
                for event in shaper.shape(local):
                    log.publish(event)

    async def _waiting(self, run: RunRecord) -> bool:
        """Whether the thread stopped at an interrupt (or before a node) and can resume."""
        snapshot = await self._snapshot(run)
        return snapshot is not None and bool(snapshot.interrupts or snapshot.next)

    async def _snapshot(self, run: RunRecord) -> Any:
        try:
            graph = self.graphs.graph(run.graph_id)
            return await graph.aget_state({"configurable": {"thread_id": run.thread_id}})
        except Exception:
            logger.exception("reading the state of thread %s failed", run.thread_id)
            return None

    async def _finish(
        self,
        run: RunRecord,
        handle: RunHandle,
        thread: ThreadRecord,
        *,
        error: tuple[str, str] | None,
    ) -> None:
        snapshot = await self._snapshot(run)
        values = jsonable(snapshot.values) if snapshot is not None else thread.values
        if error is not None:
            handle.error = f"{error[0]}: {error[1]}"
            output: Any = {"__error__": {"error": error[0], "message": error[1]}}
            log = self.logs.get(run.run_id)
            if log is not None:
                log.publish("error", {"error": error[0], "message": error[1]})
            status: RunStatus = "error"
            thread_changes: dict[str, Any] = {"status": "error", "error": error[1]}
        else:
            output = run_output(snapshot) if snapshot is not None else {}
            status = "success"
            pending = snapshot is not None and bool(snapshot.interrupts or snapshot.next)
            handle.paused = pending
            thread_changes = {"status": "interrupted" if pending else "idle", "error": None}
        interrupts = interrupts_by_task(snapshot) if snapshot is not None else {}
        handle.output, handle.status = output, status
        await self.db.save_run(
            run.with_(status=status, output=output, error=None if error is None else error[1])
        )
        await self._settle_thread(run, thread, values, interrupts, thread_changes)

    async def _settle_thread(
        self,
        run: RunRecord,
        thread: ThreadRecord,
        values: Any,
        interrupts: dict[str, list[Any]],
        changes: dict[str, Any],
    ) -> None:
        if run.stateless and run.kwargs.get("on_completion", "delete") == "delete":
            await self.db.delete_thread(run.thread_id)
            await self.checkpointer.adelete_thread(run.thread_id)
            return
        current = await self.db.get_thread(run.thread_id) or thread
        others = [r for r in await self.db.active_runs(run.thread_id) if r.run_id != run.run_id]
        if others:
            changes = {**changes, "status": "busy"}
        await self.db.save_thread(
            current.with_(values=values, interrupts=interrupts, graph_id=run.graph_id, **changes)
        )

    async def _cancelled(self, run: RunRecord, handle: RunHandle) -> None:
        handle.status = "interrupted"
        run = await self.db.get_run(run.run_id) or run  # with where it started from
        if handle.cancel_action == "rollback":
            await self.db.delete_run(run.run_id)
            self.logs.drop(run.run_id)
            await self._roll_back(run)
        else:
            await self.db.save_run(
                run.with_(status="interrupted", cancel_reason="cancelled by request")
            )
        thread = await self.db.get_thread(run.thread_id)
        if thread is None:
            return
        snapshot = await self._snapshot(run)
        values = jsonable(snapshot.values) if snapshot is not None else thread.values
        interrupts = interrupts_by_task(snapshot) if snapshot is not None else {}
        await self._settle_thread(run, thread, values, interrupts, {"status": "idle"})

    async def _roll_back(self, run: RunRecord) -> None:
        """Return the thread to its state before ``run`` (which started, and was cancelled):
        a copy of that checkpoint becomes the latest, or the thread's checkpoints go if it
        had none. The run's own checkpoints stay in the history, as forks do."""
        if "start_checkpoint_id" not in run.kwargs:
            return  # it never started: it wrote nothing
        start = run.kwargs["start_checkpoint_id"]
        if start is None:
            await self.checkpointer.adelete_thread(run.thread_id)
            return
        config = {"configurable": {"thread_id": run.thread_id, "checkpoint_ns": ""}}
        config["configurable"]["checkpoint_id"] = start
        try:
            await self.graphs.graph(run.graph_id).aupdate_state(config, None)
        except Exception:
            logger.exception("rolling back run %s on thread %s failed", run.run_id, run.thread_id)

    # ----------------------------------------------------------------------- control

    async def cancel(self, run: RunRecord, *, action: CancelAction, wait: bool) -> None:
        """Stop a run (``interrupt``: it ends ``interrupted``; ``rollback``: it is deleted).

        A queued run never starts; a running one is cancelled at once (the checkpoints of
        the steps it finished stay). With ``wait``, returns once it has stopped.
        """
        handle = self._handle(run)
        task = handle.task
        if task is not None and not task.done():
            handle.cancel_action = action
            task.cancel()
            if wait:
                await handle.done.wait()
            return
        if run.status == "pending":
            handle.cancel_action = action
            handle.status = "interrupted"
            if action == "rollback":
                await self.db.delete_run(run.run_id)
                self.logs.drop(run.run_id)
            else:
                await self.db.save_run(
                    run.with_(status="interrupted", cancel_reason="cancelled by request")
                )
                self.logs.close(run.run_id)
            handle.done.set()

    async def recover(self) -> int:
        """Resume the runs a stopped server left ``running`` and start the ``pending`` ones;
        how many were resumed or restarted."""
        count = 0
        for run in await self.db.runs_with_status(["running"]):
            latest = await self.checkpointer.aget_tuple(
                {"configurable": {"thread_id": run.thread_id, "checkpoint_ns": ""}}
            )
            own = latest is not None and (latest.metadata or {}).get("run_id") == run.run_id
            run = run.with_(attempt=run.attempt + 1)
            await self.db.save_run(run)
            logger.info(
                "run %s was running when the server stopped: %s",
                run.run_id,
                "resuming from its last checkpoint" if own else "starting it again",
            )
            if run.thread_id in self._running:
                continue
            self._start(run, resume=own)
            count += 1
        for run in await self.db.runs_with_status(["pending"]):
            if run.thread_id not in self._running:
                await self._advance(run.thread_id)
                count += 1
        return count

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop taking runs; let running ones reach a step boundary (``grace`` seconds at
        most), then cancel them. Their records stay ``running`` for :meth:`recover`."""
        self._closing = True
        tasks = [h.task for h in self._handles.values() if h.task is not None and not h.task.done()]
        for handle in self._handles.values():
            if handle.control is not None:
                handle.control.request_drain("shutdown")
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=grace)
        for task in list(self._background):
            task.cancel()

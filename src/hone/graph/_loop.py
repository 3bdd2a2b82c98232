"""The one execution core: bulk-synchronous super-steps over the state.

:meth:`Run.steps` is a generator. It plans the tasks of a super-step and yields the ones to
execute; the sync or async shell runs them (each finished task fills in its writes) and asks for
the next batch. Between batches the core applies all writes at once, in plan order, saves a
checkpoint and streams values. Nothing here knows about threads or event loops.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from hone.checkpoint._protocol import CheckpointTuple, new_checkpoint_id
from hone.errors import CheckpointNotFoundError, GraphRecursionError, ResumeError
from hone.graph._context import TaskScope
from hone.graph._interrupt import GraphInterrupt
from hone.graph._persist import commit, reset, restore
from hone.graph._resume import CACHED, ERROR, INTERRUPT, accept_resume
from hone.graph._stream import debug_event
from hone.graph._task import SENDS, Task, finish_task, input_task
from hone.graph._types import Command, Interrupt, RunConfig, Send

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph
    from hone.graph._stream import EventSink

__all__ = ["Run", "task_id"]

logger = logging.getLogger(__name__)


def task_id(checkpoint_id: str, ns: str, step: int, kind: str, name: str, index: int = 0) -> str:
    """A task's deterministic id: the same plan from the same checkpoint gives the same ids."""
    key = f"{checkpoint_id}|{ns}|{step}|{kind}|{name}|{index}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


class Run:
    """One run of a compiled graph on one thread and namespace."""

    def __init__(
        self,
        graph: CompiledGraph,
        config: RunConfig,
        *,
        modes: frozenset[str],
        events: EventSink | None,
        interrupt_before: frozenset[str] | str,
        interrupt_after: frozenset[str] | str,
        parent: TaskScope | None,
    ) -> None:
        self.graph = graph
        self.channels = graph.channels
        self.config = config
        self.parent = parent
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.events = events
        if parent is None:
            self.saver: Checkpointer | None = graph.checkpointer
            self.thread_id = config.thread_id
            self.ns = config.checkpoint_ns
            self.ns_path: tuple[str, ...] = ()
            self.modes = modes
            self.resume: dict[str, Any] = {}
            #: Ids of messages already streamed in messages mode (shared with subgraphs).
            self.streamed_ids: set[str] = set()
            #: Task threads save too: one write at a time per invocation (shared with its
            #: subgraphs). Savers are thread-safe, so separate invocations do not wait here.
            self.saver_lock = threading.Lock()
        else:
            prun = parent.run
            self.saver = graph.checkpointer or prun.saver
            self.thread_id = prun.thread_id
            segment = f"{parent.task.name}:{parent.task.id}"
            self.ns = f"{prun.ns}|{segment}" if prun.ns else segment
            self.ns_path = (*prun.ns_path, segment)
            self.modes = modes
            self.resume = prun.resume
            self.streamed_ids = prun.streamed_ids
            self.saver_lock = prun.saver_lock
        if self.saver is not None and self.thread_id is None:
            self.saver = None if parent is not None else self.saver
        self.state: dict[str, Any] = {}
        self.triggers: dict[str, Any] = {}
        self.versions: dict[str, int] = {}
        self.seen: dict[str, dict[str, int]] = {}
        self.checkpoint_id = ""
        self.step = -2
        self.saved_writes: dict[str, list[tuple[str, Any]]] = {}
        self.pending_interrupts: dict[str, dict[str, Any]] = {}
        #: Task id on this checkpoint -> the interrupted task id it takes over (update_state).
        self.aliases: dict[str, str] = {}
        #: Task id -> its failure on this checkpoint ("Type: message").
        self.errors: dict[str, str] = {}
        self.interrupts: list[Interrupt] = []
        self.status = "pending"
        self.resuming = False
        self.stream_subgraphs = False
        self._forking = False
        #: (task id, key) -> a value a task kept across its resumes (TaskScope.remember).
        self.cached: dict[tuple[str, str], Any] = {}
        self.id_prefix = "" if self.saver is not None else f"{new_checkpoint_id()}."

    # ----------------------------------------------------------------- start

    def start(self, value: Any) -> None:
        """Load the thread's checkpoint and apply the input (or a resume command)."""
        if self.saver is not None and self.thread_id is None:
            from hone.errors import ConfigError

            raise ConfigError(
                "a graph with a checkpointer needs a thread id: "
                'invoke(..., {"configurable": {"thread_id": "1"}}) or RunConfig(thread_id="1")'
            )
        saved = self._load()
        if self.parent is not None and saved is not None and value is not None:
            restore(self, saved, reuse_writes=True)
            if self.plan():
                self.resuming = True
                return
            saved = None
            reset(self)
        if isinstance(value, Command):
            self._start_command(value, saved)
        elif value is None:
            if saved is None:
                raise ResumeError(
                    f"thread {self.thread_id!r} has no checkpoint to resume; invoke it with an input first"
                )
            restore(self, saved, reuse_writes=not self._forking)
            self.resuming = True
            self._emit_resumed()
        else:
            if saved is not None:
                restore(self, saved, reuse_writes=False)
            else:
                reset(self)
            commit(self, [input_task(self, value)], source="input", consume=False)

    def _load(self) -> CheckpointTuple | None:
        self._forking = False
        if self.saver is None:
            return None
        assert self.thread_id is not None
        wanted = self.config.checkpoint_id if self.parent is None else None
        saved = self.saver.get(self.thread_id, self.ns, wanted)
        if wanted is not None:
            if saved is None:
                raise CheckpointNotFoundError(
                    f"thread {self.thread_id!r} has no checkpoint {wanted!r} in namespace {self.ns!r}"
                )
            latest = self.saver.get(self.thread_id, self.ns)
            self._forking = latest is not None and latest.checkpoint.id != wanted
        return saved

    def _start_command(self, cmd: Command[Any], saved: CheckpointTuple | None) -> None:
        if saved is None:
            raise ResumeError(f"thread {self.thread_id!r} has no checkpoint; nothing to resume")
        restore(self, saved, reuse_writes=not self._forking)
        self.resuming = True
        self._emit_resumed()
        if cmd.resume is not None:
            accept_resume(self, cmd.resume)
        if cmd.update is not None or cmd.goto:
            commit(self, [input_task(self, cmd)], source="input", consume=False)

    def _emit_resumed(self) -> None:
        if "values" in self.modes:
            self.emit("values", self.output_values())

    # ------------------------------------------------------------------ plan

    def plan(self) -> list[Task]:
        """The tasks of the next super-step: triggered nodes by name, then sends in order."""
        trigger_of = self.graph.trigger_of
        fired: dict[str, list[str]] = {}
        for channel, value in self.triggers.items():
            target = trigger_of.get(channel)
            if target is not None and (target[1] is None or target[1] <= value):
                fired.setdefault(target[0], []).append(channel)
        step = self.step + 1
        nodes = self.graph.nodes
        aliases = self.aliases
        cid, ns = self.checkpoint_id, self.ns
        tasks: list[Task] = []
        for name in sorted(fired) if len(fired) > 1 else fired:
            tid = task_id(cid, ns, step, "pull", name)
            if aliases:
                tid = aliases.get(tid, tid)
            tasks.append(Task(tid, name, ("pull", name), nodes[name], tuple(fired[name]), step))
        for index, send in enumerate(self.triggers.get(SENDS, ())):
            node, arg = (send.node, send.arg) if isinstance(send, Send) else send
            tid = task_id(cid, ns, step, "push", node, index)
            if aliases:
                tid = aliases.get(tid, tid)
            task = Task(tid, node, ("push", index), nodes[node], (), step)
            task.input = arg
            task.is_push = True
            tasks.append(task)
        return tasks

    def _prepare(self, tasks: list[Task]) -> list[Task]:
        todo: list[Task] = []
        for task in tasks:
            saved = self.saved_writes.get(task.id) if self.saved_writes else None
            if saved is not None:
                task.writes, task.done = saved, True
                if "updates" in self.modes:
                    self.emit("updates", {task.name: task.update_of_writes(self.channels)})
                continue
            if not task.is_push:
                task.input = task.node.make_input(dict(self.state))
            todo.append(task)
            if "debug" in self.modes:
                self.emit(
                    "debug",
                    debug_event(
                        "task",
                        task.step,
                        {
                            "id": task.id,
                            "name": task.name,
                            "input": task.input,
                            "triggers": task.triggers,
                        },
                    ),
                )
        return todo

    # ------------------------------------------------------------------ loop

    def steps(self) -> Iterator[list[Task]]:
        """Run super-steps until no task is left, yielding each batch of tasks to execute."""
        first_step = self.step
        limit = self.config.recursion_limit
        skip_breakpoint = self.resuming
        while True:
            tasks = self.plan()
            if not tasks:
                self.status = "done"
                return
            if self.step - first_step >= limit:
                raise GraphRecursionError(
                    f"recursion limit of {limit} super-steps reached without reaching END "
                    f"(next: {sorted({t.name for t in tasks})}); raise it with "
                    f'{{"recursion_limit": N}} / RunConfig(recursion_limit=N), or check that '
                    f"the graph's loop has an exit condition"
                )
            if not skip_breakpoint and self._breakpoint(self.interrupt_before, tasks):
                self._stop("interrupt_before", [])
                return
            skip_breakpoint = False
            todo = self._prepare(tasks)
            if todo:
                yield todo
            if not all(t.done for t in tasks):
                for task in tasks:
                    if task.error is not None:
                        raise task.error
                self._stop("interrupted", [i for t in tasks for i in t.interrupts])
                return
            commit(self, tasks, source="loop", consume=True)
            if self._breakpoint(self.interrupt_after, tasks):
                self._stop("interrupt_after", [])
                return

    def _breakpoint(self, names: frozenset[str] | str, tasks: list[Task]) -> bool:
        if not names:
            return False
        return names == "*" or any(t.name in names for t in tasks)

    def _stop(self, status: str, interrupts: list[Interrupt]) -> None:
        self.status = status
        self.interrupts = interrupts
        self.emit("updates", {"__interrupt__": tuple(interrupts)})
        if interrupts and "values" in self.modes:
            self.emit("values", {**self.output_values(), "__interrupt__": tuple(interrupts)})

    # ---------------------------------------------------------- task events

    def put_writes(self, tid: str, path: str, writes: list[tuple[str, Any]]) -> None:
        """Save writes of task ``tid`` against the current checkpoint (no-op without a saver)."""
        if self.saver is None:
            return
        assert self.thread_id is not None
        with self.saver_lock:
            self.saver.put_writes(
                thread_id=self.thread_id,
                ns=self.ns,
                checkpoint_id=self.checkpoint_id,
                task_id=tid,
                task_path=path,
                writes=writes,
            )

    def task_finished(self, task: Task, output: Any) -> None:
        """Turn a node's output into writes, save them, and stream the update."""
        finish_task(self, task, output)
        if self.saver is not None:
            self.put_writes(task.id, task.name, task.writes or [("__no_writes__", None)])
        if "updates" in self.modes:
            self.emit("updates", {task.name: task.update})
        if "debug" in self.modes:
            self.emit(
                "debug",
                debug_event(
                    "task_result",
                    task.step,
                    {"id": task.id, "name": task.name, "result": task.writes, "interrupts": []},
                ),
            )

    def task_failed(self, task: Task, exc: BaseException) -> None:
        """Record a task's final failure, so get_state shows it and a rerun retries the task."""
        task.error, task.done = exc, False
        failure = {"type": type(exc).__name__, "message": str(exc)}
        try:
            self.put_writes(task.id, task.name, [(ERROR, failure)])
        except Exception:  # the saver failing too must not hide the node's own error
            logger.exception("could not save the failure of node %r", task.name)

    def remember(self, task: Task, key: str, value: Any) -> None:
        """Keep ``value`` for ``task`` on this checkpoint, saved as a pending write."""
        self.cached[(task.id, key)] = value
        record = {"task_id": task.id, "key": key, "value": value}
        self.put_writes(f"{task.id}/{key}", task.name, [(CACHED, record)])

    def task_interrupted(self, task: Task, signal: GraphInterrupt) -> None:
        """Record a task's interrupts as pending writes."""
        task.interrupted = True
        task.interrupts = list(signal.interrupts)
        for item in signal.interrupts:
            record = {"task_id": task.id, "value": item.value, "id": item.id}
            self.pending_interrupts[item.id] = record
            self.put_writes(item.id, task.name, [(INTERRUPT, record)])

    # ---------------------------------------------------------------- output

    def emit(self, mode: str, payload: Any) -> None:
        """Send a stream event if that mode is streamed."""
        if mode in self.modes and self.events is not None:
            self.events.put((self.ns_path, mode, payload))

    def emit_message(self, task: Task, chunk: Any, metadata: Any) -> None:
        """Stream a message delta from inside a task."""
        msg_id = getattr(chunk, "id", None)
        if msg_id is not None:
            self.streamed_ids.add(msg_id)
        meta = {
            "langgraph_node": task.name,
            "langgraph_step": task.step,
            "langgraph_checkpoint_ns": self.ns,
            "thread_id": self.thread_id,
            "task_id": task.id,
            **(metadata or {}),
        }
        self.emit("messages", (chunk, meta))

    def task_config(self, task: Task) -> RunConfig:
        """The config a node sees."""
        segment = f"{task.name}:{task.id}"
        return self.config.with_(
            thread_id=self.thread_id,
            checkpoint_id=self.checkpoint_id or None,
            checkpoint_ns=f"{self.ns}|{segment}" if self.ns else segment,
            task_id=task.id,
        )

    def snapshot_config(self) -> RunConfig:
        """The config naming the current checkpoint."""
        return RunConfig(
            thread_id=self.thread_id, checkpoint_ns=self.ns, checkpoint_id=self.checkpoint_id
        )

    def output_values(self) -> dict[str, Any]:
        """The output schema's keys that have values."""
        state = self.state
        return {k: state[k] for k in self.graph.output_keys if k in state}

    def result(self) -> dict[str, Any]:
        """What invoke returns: output values, plus ``__interrupt__`` when interrupted."""
        out = self.output_values()
        if self.interrupts:
            out["__interrupt__"] = list(self.interrupts)
        return out

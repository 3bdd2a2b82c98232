"""A run's super-steps: plan the tasks (``tick``), record each task's writes as it finishes
(``put_writes``: kept for the step, saved, streamed, cached), and apply them all at once
(``after_tick``); with the step's extras: cached writes, error-handler tasks, functional-API
calls made by running tasks, and the runtime a node receives.

:class:`SteppingLoop` adds these to :class:`~hone.graph._loop_stream.StreamingLoop`;
:class:`~hone.graph._loop.Loop` adds entering and exiting a run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hone.graph._algo import (
    Call,
    PlanContext,
    Task,
    apply_writes,
    call_task,
    prepare_tasks,
    should_interrupt,
    task_path_str,
)
from hone.graph._constants import ERROR, ERROR_SOURCE, INTERRUPT, KEPT, NULL_TASK_ID, RESUME
from hone.graph._interrupt import KEYED_RESUME, GraphInterrupt
from hone.graph._loop_stream import StreamingLoop
from hone.graph._runtime import ExecutionInfo, Runtime
from hone.graph._stream import task_payload

__all__ = ["KEPT", "SPECIAL_WRITES", "SteppingLoop"]

#: Write kinds a saver keeps one of per task (the last one wins).
SPECIAL_WRITES = frozenset((ERROR, INTERRUPT, RESUME, "__scheduled__"))


class SteppingLoop(StreamingLoop):
    """A run's state and streaming, with its super-steps (see the module docstring)."""

    # ------------------------------------------------------------------ steps

    def _plan_context(self, step: int | None = None) -> PlanContext:
        """What planning this run's tasks needs besides the checkpoint."""
        # Positional, in the order of PlanContext's fields: one is built per super-step, and
        # passing its 14 fields by keyword costs CPython 3.11 more than twice as much.
        return PlanContext(
            self.graph.nodes,
            self.channels,
            self.graph.managed,
            self.config,
            self.step if step is None else step,
            self.stop,
            self.ns,  # parent_ns
            self.pending_writes,
            self.resume_map,
            self.parent.scratchpad if self.parent is not None else None,  # parent_scratchpad
            True,  # for_execution
            self.checkpoint_map,
            tuple(self.graph.retry_policy),  # base_retry
            self.graph.cache_policy,  # base_cache
        )

    def tick(self) -> bool:
        """Plan the next super-step; False when the run is over (done, out of steps,
        drained)."""
        if self.step > self.stop:
            self.status = "out_of_steps"
            return False
        self.tasks = prepare_tasks(
            self.checkpoint,
            self._plan_context(),
            updated_channels=self.updated_channels,
            trigger_to_nodes=self.trigger_to_nodes,
        )
        if self.checkpointer is not None and self.settings.wants("checkpoints"):
            self._emit_checkpoint()
        if not self.tasks:
            self.status = "done"
            return False
        if self.control is not None and self.control.drain_requested:
            self.status = "draining"
            return False
        if not self.is_replaying and self.pending_writes:
            self._reapply_writes(self.tasks)
            self._resume_error_handlers()
        if self.interrupt_before and should_interrupt(
            self.checkpoint, self.interrupt_before, self.tasks.values()
        ):
            self.status = "interrupt_before"
            raise GraphInterrupt()
        if self.settings.wants("tasks"):
            for task in self.tasks.values():
                if not (task.node is not None and task.node.hidden):
                    self.emit("tasks", task_payload(task))
        for task in self.tasks.values():
            if task.writes:
                self.output_writes(task.id, task.writes, cached=True)
        if self.settings.cache is not None:
            self.match_cached(list(self.tasks.values()))
        return True

    def match_cached(self, tasks: Sequence[Task]) -> None:
        """Give tasks with a cache policy the writes cached for their input."""
        cache = self.settings.cache
        todo = [t for t in tasks if t.cache_key is not None and not t.writes]
        if cache is None or not todo:
            return
        by_key = {(t.cache_key[0], t.cache_key[1]): t for t in todo}  # type: ignore[index]
        for key, writes in cache.get(list(by_key)).items():
            task = by_key[(tuple(key[0]), key[1])]
            task.writes.extend(writes)
            self.output_writes(task.id, task.writes, cached=True)

    def _cache_writes(self, task: Task) -> None:
        cache = self.settings.cache
        if cache is None or task.cache_key is None:
            return
        ns, key, ttl = task.cache_key
        cache.set({(ns, key): (list(task.writes), ttl)})

    def _reapply_writes(self, tasks: Mapping[str, Task]) -> None:
        for tid, kind, value in self.pending_writes:
            if kind in (ERROR, ERROR_SOURCE, INTERRUPT, RESUME, KEYED_RESUME, KEPT):
                continue
            task = tasks.get(tid)
            if task is not None:
                task.writes.append((kind, value))

    def _resume_error_handlers(self) -> None:
        failed: dict[str, Any] = {}
        for tid, kind, _ in self.pending_writes:
            if kind == ERROR_SOURCE:
                error = next(
                    (v for t, c, v in self.pending_writes if t == tid and c == ERROR), None
                )
                if error is not None:
                    failed[tid] = error
        for tid, error in failed.items():
            task = self.tasks.get(tid)
            if task is None or task.node is None or task.node.error_handler is None:
                continue
            if not isinstance(error, BaseException):
                error = Exception(str(error))
            task.writes.append((ERROR, error))
            handler = self.error_handler_task(task, error)
            if handler is not None:
                self.tasks[handler.id] = handler

    def error_handler_task(self, failed: Task, error: BaseException) -> Task | None:
        """The task of ``failed``'s error handler node, or None if it has none."""
        from hone.graph._execute import handler_task

        node = failed.node
        if node is None or node.error_handler is None:
            return None
        task = handler_task(
            self.checkpoint, self._plan_context(), failed, node.error_handler, error
        )
        if task is not None:
            self.tasks[task.id] = task
            if not self.is_replaying:
                self._reapply_writes({task.id: task})
        return task

    def mark_resuming(self, task: Task) -> None:
        """A retried task's subgraphs resume their checkpoints instead of starting over."""
        task.resuming = True

    def accept_push(self, parent: Task, index: int, call: Call) -> Task:
        """A functional-API call made by a running task becomes a task of this step."""
        task = call_task(self.checkpoint, self._plan_context(), parent, index, call)
        existing = self.tasks.get(task.id)
        if existing is not None:
            return existing
        if self.settings.wants("tasks"):
            self.emit("tasks", task_payload(task))
        self.tasks[task.id] = task
        if not self.is_replaying:
            self._reapply_writes({task.id: task})
        self.match_cached([task])
        return task

    def after_tick(self) -> None:
        """Apply the step's writes, save the checkpoint, and check ``interrupt_after``."""
        self.updated_channels = apply_writes(
            self.checkpoint,
            self.channels,
            self.tasks.values(),
            self.get_next_version,
            self.trigger_to_nodes,
            self.graph.channel_kinds,
        )
        keys = (self.output_keys,) if isinstance(self.output_keys, str) else self.output_keys
        if not self.updated_channels.isdisjoint(keys):
            self.emit_values()
        self.pending_writes.clear()
        self.is_replaying = False
        self._put_checkpoint({"source": "loop"})
        if self.interrupt_after and should_interrupt(
            self.checkpoint, self.interrupt_after, self.tasks.values()
        ):
            self.status = "interrupt_after"
            raise GraphInterrupt()
        self.child_resuming = None

    # ------------------------------------------------------------------ writes

    def put_writes(self, task_id: str, writes: Sequence[tuple[str, Any]]) -> None:
        """Record a task's writes: keep them for the step, save them, stream them."""
        if not writes:
            return
        writes = list(writes)
        kinds = {c for c, _ in writes}
        if kinds <= SPECIAL_WRITES:
            writes = list({w[0]: w for w in writes}.values())
        task = self.tasks.get(task_id)
        failed = ERROR in kinds or INTERRUPT in kinds
        with self._writes_lock:
            if task_id == NULL_TASK_ID:
                self.pending_writes = [
                    w for w in self.pending_writes if w[0] != task_id or w[1] not in SPECIAL_WRITES
                ]
                to_save = [(c, v) for t, c, v in self.pending_writes if t == task_id] + writes
            else:
                if any(w[0] == task_id for w in self.pending_writes):  # a retried task
                    self.pending_writes = [w for w in self.pending_writes if w[0] != task_id]
                to_save = writes
            # Untracked channels are never checkpointed, their pending writes neither (their
            # values may not even be serializable: a live session, a lock).
            untracked = self.graph.channel_kinds.untracked
            if untracked:
                to_save = [w for w in to_save if w[0] not in untracked]
            self.pending_writes.extend([(task_id, c, v) for c, v in writes])
            if self.checkpointer is not None:
                path = task_path_str(task.path) if task is not None else ""
                if self._defer(task, failed):
                    self._deferred.append((task_id, path, to_save))
                else:
                    self._save_writes(task_id, path, to_save)
        if task is not None:
            self.output_writes(task_id, writes)
            if not failed:
                self._cache_writes(task)

    # ------------------------------------------------------------------ tasks

    def runtime_for(self, task: Task) -> Runtime[Any]:
        """The runtime a task's node receives."""
        base = self.settings.runtime
        info = ExecutionInfo(
            checkpoint_id=self.checkpoint["id"],
            checkpoint_ns=task.ns,
            task_id=task.id,
            thread_id=self.checkpoint_config["configurable"].get("thread_id"),
            run_id=str(rid) if (rid := self.config.get("run_id")) else None,
            node_attempt=task.attempt,
            node_first_attempt_time=task.first_attempt_time,
        )
        previous = self.checkpoint["channel_values"].get("__previous__")
        return base.override(
            heartbeat=task.heartbeat or base.heartbeat,
            stream_writer=self.stream_writer(task),
            execution_info=info,
            previous=previous if previous is not None else base.previous,
            store=self.settings.store,
        )

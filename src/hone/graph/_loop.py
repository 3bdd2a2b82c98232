"""One run of a graph on one thread and namespace: load the checkpoint, apply the input (or
a resume command), then super-step by super-step plan tasks, collect their writes, apply
them and save checkpoints.

The shells in :mod:`hone.graph._runner` drive it: ``enter()``, then ``while tick(): run
the tasks; after_tick()``, then ``exit(error)``. Nothing here knows about threads or event
loops, except the single background thread that saves checkpoints with
``durability="async"``.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Any

from hone.checkpoint import TaskWrites
from hone.errors import EmptyInputError, InvalidUpdateError, ResumeError
from hone.graph._algo import (
    Call,
    PlanContext,
    Task,
    apply_writes,
    call_task,
    increment,
    prepare_tasks,
    read_channels,
    should_interrupt,
    task_path_str,
)
from hone.graph._channels import Channel
from hone.graph._checkpoint import (
    advance_checkpoint,
    channels_from_checkpoint,
    copy_checkpoint,
    create_checkpoint,
    empty_checkpoint,
    new_versions,
)
from hone.graph._constants import (
    ERROR,
    INPUT,
    INTERRUPT,
    NO_WRITES,
    NS_END,
    NS_SEP,
    NULL_TASK_ID,
    RESUME,
    START,
    TASKS,
)
from hone.graph._context import TaskScope
from hone.graph._interrupt import KEYED_RESUME, GraphInterrupt, is_interrupt_id
from hone.graph._runtime import ExecutionInfo, Runtime
from hone.graph._saves import SaveQueue
from hone.graph._settings import ReplayState, RunSettings
from hone.graph._stream import (
    debug_wrap,
    output_updates,
    read_values,
    task_payload,
    task_result_payload,
    tasks_with_writes,
)
from hone.graph._types import Command, Send

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["Loop", "recast_namespace"]

logger = logging.getLogger(__name__)

#: Write kinds a saver keeps one of per task (the last one wins).
SPECIAL_WRITES = frozenset((ERROR, INTERRUPT, RESUME, "__scheduled__"))
KEPT = "__hone_kept__"


def recast_namespace(ns: str) -> str:
    """A namespace without task ids (``a:1|b:2`` -> ``a|b``): where a subgraph compiled
    with ``checkpointer=True`` keeps its state across calls."""
    return NS_SEP.join(part.split(NS_END)[0] for part in ns.split(NS_SEP) if not part.isdigit())


def _accepts_writes(saver: Any) -> bool:
    try:
        return "writes" in inspect.signature(saver.put).parameters
    except (TypeError, ValueError):
        return False


class Loop:
    """The state of one run (see the module docstring)."""

    def __init__(
        self,
        graph: CompiledGraph,
        input: Any,
        config: dict[str, Any],
        *,
        settings: RunSettings,
        checkpointer: Any,
        interrupt_before: Sequence[str] | str,
        interrupt_after: Sequence[str] | str,
        output_keys: Sequence[str] | str,
        parent: TaskScope | None,
        resume_map: Mapping[str, Any] | None = None,
        resuming: bool | None = None,
        replay: ReplayState | None = None,
    ) -> None:
        self.graph = graph
        self.input = input
        self.config = config
        self.settings = settings
        self.checkpointer = checkpointer
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.output_keys = output_keys
        self.stream_keys = graph.stream_keys
        self.parent = parent
        self.is_nested = parent is not None
        self.resume_map = dict(resume_map) if resume_map else None
        self.resuming_flag = resuming
        self.replay = replay
        self.trigger_to_nodes = graph.trigger_to_nodes
        self.get_next_version: Callable[[Any, Any], Any] = (
            checkpointer.get_next_version if checkpointer is not None else increment
        )
        self.accepts_writes = checkpointer is not None and _accepts_writes(checkpointer)
        conf = config.setdefault("configurable", {})
        # A run given a checkpoint id replays from it (nested runs always get the key).
        self.is_replaying = "checkpoint_id" in conf
        if not self.is_nested and conf.get("checkpoint_ns"):
            # A root run given a subgraph's config replays the parent checkpoint in its map.
            conf["checkpoint_ns"] = ""
            conf["checkpoint_id"] = None
        ns = conf.get("checkpoint_ns", "") or ""
        self.ns = ns
        self.ns_path: tuple[str, ...] = tuple(ns.split(NS_SEP)) if ns else ()
        self.checkpoint_map: dict[str, str] = dict(conf.get("checkpoint_map") or {})
        cp_conf: dict[str, Any] = {**conf, "checkpoint_ns": ns}
        if "thread_id" in cp_conf and not isinstance(cp_conf["thread_id"], str):
            cp_conf["thread_id"] = str(cp_conf["thread_id"])
        if ns in self.checkpoint_map:
            cp_conf["checkpoint_id"] = self.checkpoint_map[ns]
        self.checkpoint_config: dict[str, Any] = {**config, "configurable": cp_conf}
        thread = cp_conf.get("thread_id")
        #: The thread this run belongs to (None without one).
        self.thread_id: str | None = None if thread is None else str(thread)
        self.status = "input"
        self.tasks: dict[str, Task] = {}
        self.output: Any = None
        self.updated_channels: set[str] | None = None
        self.step = 0
        self.stop = 0
        self._saves: SaveQueue | None = None
        self._futures: deque[Future[Any]] = deque()
        self._deferred: list[tuple[str, str, list[tuple[str, Any]]]] = []
        #: The tasks of a parallel step finish on pool threads and record their writes
        #: concurrently; this keeps ``pending_writes`` from losing one of them.
        self._writes_lock = threading.Lock()
        self.control = settings.runtime.control
        #: Whether subgraphs started in this step resume their own checkpoints (the first
        #: step after a resume); None lets them decide from their input.
        self.child_resuming: bool | None = None
        self.resuming = False
        #: The shell running this loop's tasks (schedules functional-API calls).
        self.runner: Any = None
        #: Whether output values were (or would have been) streamed, and the interrupts the
        #: run stopped at: what invoke() returns without streaming.
        self.values_seen = False
        self.interrupts_seen: list[Any] = []

    # ------------------------------------------------------------------ saving

    @property
    def has_saver(self) -> bool:
        """Whether this run saves checkpoints."""
        return self.checkpointer is not None

    def _submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run a saver call now (``sync``) or in the background, in order (``async``)."""
        if self.settings.durability == "async":
            if self._saves is None:
                self._saves = SaveQueue()
            futures = self._futures
            # Forget saves that succeeded (they finish in order; failures raise at exit).
            while futures and futures[0].done() and futures[0].exception() is None:
                futures.popleft()
            futures.append(self._saves.submit(fn, *args, **kwargs))
        else:
            fn(*args, **kwargs)

    def _wait_saves(self) -> None:
        """Wait for every background save; raise the first failure."""
        futures, self._futures = self._futures, deque()
        wait(futures)
        for fut in futures:
            fut.result()

    def _writes_config(self) -> dict[str, Any]:
        conf = {**self.checkpoint_config["configurable"], "checkpoint_ns": self.ns}
        conf["checkpoint_id"] = self.checkpoint["id"]
        return {**self.checkpoint_config, "configurable": conf}

    def _save_writes(self, task_id: str, path: str, writes: list[tuple[str, Any]]) -> None:
        if self.checkpointer is None or self.settings.durability == "exit":
            return
        self._submit(self.checkpointer.put_writes, self._writes_config(), writes, task_id, path)

    # ------------------------------------------------------------------ enter

    def enter(self) -> None:
        """Load the checkpoint and apply the input (or resume)."""
        saved = None
        if self.checkpointer is not None:
            conf = self.checkpoint_config["configurable"]
            if conf.get("checkpoint_id"):
                saved = self.checkpointer.get_tuple(self.checkpoint_config)
            elif self.replay is not None and self.is_nested:
                saved = self._replay_tuple()
                self.resuming_flag = None
            else:
                saved = self.checkpointer.get_tuple(self.checkpoint_config)
        self.has_parent_checkpoint = saved is not None
        if saved is None:
            checkpoint = empty_checkpoint()
            metadata: dict[str, Any] = {"step": -2}
            pending: list[tuple[str, str, Any]] = []
            parent_config = None
            saved_conf: dict[str, Any] = {}
        else:
            checkpoint = copy_checkpoint(saved.checkpoint)
            metadata = dict(saved.metadata or {})
            pending = [(str(t), c, v) for t, c, v in saved.pending_writes or []]
            parent_config = saved.parent_config
            saved_conf = dict(saved.config.get("configurable", {}))
        self.checkpoint_config = {
            **self.checkpoint_config,
            "configurable": {
                "checkpoint_ns": "",
                **self.checkpoint_config["configurable"],
                **saved_conf,
            },
        }
        self.prev_checkpoint_config = parent_config
        self.checkpoint_id_saved = checkpoint["id"]
        self.checkpoint: dict[str, Any] = checkpoint
        self.checkpoint_metadata = metadata
        self.pending_writes = pending
        self.channels: dict[str, Channel] = channels_from_checkpoint(
            self.graph.channels, checkpoint
        )
        self.status = "input"
        self.step = int(metadata.get("step", -2)) + 1
        self.stop = self.step + int(self.config.get("recursion_limit", 25)) + 1
        self.previous_versions = dict(checkpoint["channel_versions"])
        updated = checkpoint.get("updated_channels")
        self.updated_channels = self._first(set(updated) if updated else None)

    def _replay_tuple(self) -> Any:
        assert self.replay is not None and self.checkpointer is not None
        if self.replay.first_visit(self.ns):
            before = {"configurable": {"checkpoint_id": self.replay.checkpoint_id}}
            for saved in self.checkpointer.list(self.checkpoint_config, before=before, limit=1):
                return saved
            return None
        return self.checkpointer.get_tuple(self.checkpoint_config)

    def _pending_interrupt_ids(self) -> set[str]:
        """The ids of the questions now waiting: a task's latest interrupt write (one plain
        interrupt, or the several questions of ``interrupt_many`` / ToolNode calls)."""
        by_task: dict[str, set[str]] = {}
        resumed: set[str] = set()
        for tid, kind, value in self.pending_writes:
            if kind == INTERRUPT:
                items = value if isinstance(value, Sequence) else [value]
                by_task[tid] = {item.id for item in items}
            elif kind == RESUME:
                resumed.add(tid)
        return {iid for tid, ids in by_task.items() if tid not in resumed for iid in ids}

    def _plan_context(self, step: int | None = None) -> PlanContext:
        return PlanContext(
            nodes=self.graph.nodes,
            channels=self.channels,
            managed=self.graph.managed,
            config=self.config,
            step=self.step if step is None else step,
            stop=self.stop,
            parent_ns=self.ns,
            pending_writes=self.pending_writes,
            resume_map=self.resume_map,
            parent_scratchpad=self.parent.scratchpad if self.parent is not None else None,
            checkpoint_map=self.checkpoint_map,
            base_retry=tuple(self.graph.retry_policy),
            base_cache=self.graph.cache_policy,
        )

    def _first(self, updated_channels: set[str] | None) -> set[str] | None:
        command = self.input if isinstance(self.input, Command) else None
        has_state = bool(self.checkpoint["channel_versions"])
        if self.resuming_flag is not None:
            resuming = has_state and self.resuming_flag
        else:
            resuming = has_state and (self.input is None or command is not None)
        time_travel = self.is_replaying and (
            (self.is_nested and self.ns in self.checkpoint_map)
            or not ((command is not None and command.resume is not None) or self.resuming_flag)
        )
        if time_travel:
            self.pending_writes = [w for w in self.pending_writes if w[1] != RESUME]
        if command is not None:
            self._apply_command(command)
        null_writes = [(c, v) for t, c, v in self.pending_writes if t == NULL_TASK_ID]
        if null_writes:
            changed = apply_writes(
                self.checkpoint,
                self.channels,
                [Writes((), INPUT, null_writes, ())],
                self.get_next_version,
                self.trigger_to_nodes,
            )
            if updated_channels is not None:
                updated_channels.update(changed)
        if resuming:
            seen = self.checkpoint["versions_seen"].setdefault(INTERRUPT, {})
            for key in self.channels:
                if key in self.checkpoint["channel_versions"]:
                    seen[key] = self.checkpoint["channel_versions"][key]
            if time_travel and self.checkpoint_metadata.get("source") not in ("update", "fork"):
                self.pending_writes = [w for w in self.pending_writes if w[1] != INTERRUPT]
                self._put_checkpoint({"source": "fork"})
            self.emit_values()
        elif self.input is not None and command is None:
            input_writes = self._input_writes(self.input)
            if not input_writes:
                raise EmptyInputError(f"Received no input for {START}")
            discard = prepare_tasks(
                self.checkpoint,
                self._plan_context(),
                updated_channels=updated_channels,
                trigger_to_nodes=self.trigger_to_nodes,
            )
            for task in discard.values():
                task.writes = []
            updated_channels = apply_writes(
                self.checkpoint,
                self.channels,
                [*discard.values(), Writes((), INPUT, input_writes, ())],
                self.get_next_version,
                self.trigger_to_nodes,
            )
            self.updated_channels = updated_channels
            self._put_checkpoint({"source": "input"})
        elif not resuming and self.resuming_flag is None:
            raise EmptyInputError(f"Received no input for {START}")
        if not self.is_nested:
            self.replay = None
            if time_travel:
                replay_id = self.checkpoint["id"]
                if (
                    self.checkpoint_metadata.get("source") in ("update", "fork")
                    and self.prev_checkpoint_config
                ):
                    replay_id = self.prev_checkpoint_config["configurable"].get(
                        "checkpoint_id", replay_id
                    )
                self.replay = ReplayState(replay_id)
        self.resuming = resuming
        self.child_resuming = resuming
        self.status = "pending"
        return updated_channels

    def _input_writes(self, value: Any) -> list[tuple[str, Any]]:
        return [(START, value)]

    def _apply_command(self, command: Command[Any]) -> None:
        if command.graph == Command.PARENT:
            raise InvalidUpdateError("There is no parent graph")
        resume_is_map = False
        if command.resume is not None:
            if self.checkpointer is None and not self.is_nested:
                raise RuntimeError("Cannot use Command(resume=...) without checkpointer")
            resume = command.resume
            resume_is_map = isinstance(resume, dict) and all(is_interrupt_id(k) for k in resume)
            if resume_is_map:
                self.resume_map = {**(self.resume_map or {}), **resume}
            elif len(self._pending_interrupt_ids()) > 1:
                raise ResumeError(
                    "When there are multiple pending interrupts, you must specify the interrupt "
                    "id when resuming: Command(resume={interrupt_id: value, ...})"
                )
        writes: list[tuple[str, Any]] = []
        for target in command.goto_items():
            if isinstance(target, Send):
                writes.append((TASKS, target))
            elif isinstance(target, str):
                writes.append((f"branch:to:{target}", START))
            else:
                raise TypeError(f"In Command.goto, expected Send/str, got {type(target).__name__}")
        if command.resume is not None and not resume_is_map:
            writes.append((RESUME, command.resume))
        if command.update:
            writes.extend(command.update_items())
        if not writes and not resume_is_map:
            raise EmptyInputError("Received empty Command input")
        if writes:
            self.put_writes(NULL_TASK_ID, writes)

    # ------------------------------------------------------------------ steps

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
            if kind in (ERROR, "__error_source_node__", INTERRUPT, RESUME, KEYED_RESUME, KEPT):
                continue
            task = tasks.get(tid)
            if task is not None:
                task.writes.append((kind, value))

    def _resume_error_handlers(self) -> None:
        failed: dict[str, Any] = {}
        for tid, kind, _ in self.pending_writes:
            if kind == "__error_source_node__":
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
        writes = [w for t in self.tasks.values() for w in t.writes]
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
        del writes
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
        if all(w[0] in SPECIAL_WRITES for w in writes):
            writes = list({w[0]: w for w in writes}.values())
        task = self.tasks.get(task_id)
        failed = any(c in (ERROR, INTERRUPT) for c, _ in writes)
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
            self.pending_writes.extend((task_id, c, v) for c, v in writes)
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

    def _defer(self, task: Task | None, failed: bool) -> bool:
        """Whether a finished task's writes can wait for the checkpoint's transaction: the
        last task of the step, with plain writes (``failed``: an error or interrupt), and a
        saver that stores both at once."""
        if task is None or failed or not self.accepts_writes or self.settings.durability == "exit":
            return False
        return all(t.writes for t in self.tasks.values())

    def flush_deferred(self) -> None:
        """Save writes that waited for a checkpoint that will not come (the step stopped)."""
        deferred, self._deferred = self._deferred, []
        for task_id, path, writes in deferred:
            self._save_writes(task_id, path, writes)

    def output_writes(
        self, task_id: str, writes: Sequence[tuple[str, Any]], *, cached: bool = False
    ) -> None:
        """Stream a task's writes (updates, interrupts, task results)."""
        task = self.tasks.get(task_id)
        if task is None or (task.node is not None and task.node.hidden) or not writes:
            return
        if writes[0][0] == INTERRUPT:
            if task.path[0] == "__pregel_push" and task.path[-1] is True:
                return
            interrupts = tuple(
                i
                for c, v in writes
                if c == INTERRUPT
                for i in (v if isinstance(v, Sequence) else (v,))
            )
            self.emit_interrupts(interrupts)
            if self.settings.wants("values"):
                values = read_values(self.channels, self.output_keys)
                if isinstance(values, dict):
                    self.emit("values", {**values, INTERRUPT: interrupts})
                else:
                    self.emit("values", {INTERRUPT: interrupts})
        elif writes[0][0] != ERROR and self.settings.wants("updates"):
            chunk = output_updates(self.output_keys, [(task, writes)], cached)
            if chunk is not None:
                self.emit("updates", chunk)
        if not cached and self.settings.wants("tasks"):
            self.emit("tasks", task_result_payload(task, writes, self.stream_keys))

    # ------------------------------------------------------------------ checkpoints

    def _put_checkpoint(self, metadata: dict[str, Any]) -> None:
        exiting = metadata is self.checkpoint_metadata
        if exiting and self.checkpoint["id"] == self.checkpoint_id_saved:
            return
        if not exiting:
            metadata["step"] = self.step
            metadata["parents"] = dict(self.checkpoint_map)
            self.checkpoint_metadata = metadata
        saving = self.checkpointer is not None and (exiting or self.settings.durability != "exit")
        if self.checkpointer is None:
            advance_checkpoint(self.checkpoint, self.step, self.updated_channels)
        elif not saving:
            self.checkpoint = create_checkpoint(
                self.checkpoint, None, self.step, updated_channels=self.updated_channels
            )
        if saving:
            # The saver gets a checkpoint of its own (dicts nothing changes later, so a
            # background save reads them safely); the loop keeps its versions, which the
            # next step changes in place, and takes the rest from it.
            checkpoint = create_checkpoint(
                self.checkpoint,
                self.channels,
                self.step,
                id=self.checkpoint["id"] if exiting else None,
                updated_channels=self.updated_channels,
            )
            for key in ("v", "id", "ts", "channel_values", "updated_channels"):
                self.checkpoint[key] = checkpoint[key]
            self.prev_checkpoint_config = (
                self.checkpoint_config
                if self.checkpoint_config["configurable"].get("checkpoint_id")
                else None
            )
            conf = {**self.checkpoint_config["configurable"], "checkpoint_ns": self.ns}
            put_config = {**self.checkpoint_config, "configurable": conf}
            versions = checkpoint["channel_versions"]
            changed = new_versions(self.previous_versions, versions)
            self.previous_versions = versions
            deferred, self._deferred = self._deferred, []
            if deferred:
                self._submit(
                    self.checkpointer.put,
                    put_config,
                    checkpoint,
                    dict(self.checkpoint_metadata),
                    changed,
                    writes=[TaskWrites(tid, path, ws) for tid, path, ws in deferred],
                )
            else:
                self._submit(
                    self.checkpointer.put,
                    put_config,
                    checkpoint,
                    dict(self.checkpoint_metadata),
                    changed,
                )
            self.checkpoint_config = {
                **put_config,
                "configurable": {**conf, "checkpoint_id": self.checkpoint["id"]},
            }
        if not exiting:
            self.step += 1

    def _emit_checkpoint(self) -> None:
        from hone.graph._history import patch_checkpoint_map

        conf = {
            **self.checkpoint_config["configurable"],
            "checkpoint_id": self.checkpoint["id"],
        }
        config = patch_checkpoint_map(
            {"configurable": {k: v for k, v in conf.items() if not k.startswith("__")}},
            self.checkpoint_metadata,
        )
        parent = patch_checkpoint_map(self.prev_checkpoint_config, self.checkpoint_metadata)
        if parent is not None:
            parent = {
                "configurable": {
                    k: v for k, v in parent["configurable"].items() if not k.startswith("__")
                }
            }
        states: dict[str, Any] = {}
        for task in self.tasks.values():
            if task.node is not None and task.node.child_graph is not None:
                task_ns = f"{task.name}{NS_END}{task.id}"
                states[task.id] = {
                    "configurable": {
                        "thread_id": conf.get("thread_id"),
                        "checkpoint_ns": f"{self.ns}{NS_SEP}{task_ns}" if self.ns else task_ns,
                    }
                }
        infos = tasks_with_writes(
            list(self.tasks.values()), self.pending_writes, states, self.output_keys
        )
        payload = {
            "config": config,
            "parent_config": parent,
            "values": read_values(self.channels, self.stream_keys),
            "metadata": self.checkpoint_metadata,
            "next": [t.name for t in self.tasks.values()],
            "tasks": [_task_summary(t) for t in infos],
        }
        self.emit("checkpoints", payload)

    # ------------------------------------------------------------------ exit

    def exit(self, error: BaseException | None) -> bool:
        """Finish the run: save what ``durability="exit"`` kept back, wait for background
        saves, and read the output. Returns True when an interrupt ends the run quietly (at
        the root)."""
        try:
            if error is not None or self.status != "done":
                self.flush_deferred()
            if self.settings.durability == "exit" and (
                not self.is_nested
                or error is not None
                or all(NS_END not in part for part in self.ns_path)
            ):
                self._put_checkpoint(self.checkpoint_metadata)
                self._put_pending_writes()
            if isinstance(error, GraphInterrupt) and not self.is_nested:
                if self.pending_writes and any(t.writes for t in self.tasks.values()):
                    changed = apply_writes(
                        self.checkpoint,
                        self.channels,
                        self.tasks.values(),
                        self.get_next_version,
                        self.trigger_to_nodes,
                    )
                    keys = (
                        (self.output_keys,)
                        if isinstance(self.output_keys, str)
                        else self.output_keys
                    )
                    if not changed.isdisjoint(keys):
                        self.emit_values()
                if not error.interrupts:
                    self.emit_interrupts(())
                self.output = read_values(self.channels, self.output_keys)
                return True
            if error is None:
                self.output = read_values(self.channels, self.output_keys)
            return False
        finally:
            self._close()

    def _close(self) -> None:
        try:
            self._wait_saves()
        finally:
            if self._saves is not None:
                self._saves.close()
                self._saves = None

    def _put_pending_writes(self) -> None:
        if self.checkpointer is None or not self.pending_writes:
            return
        config = self._writes_config()
        by_task: defaultdict[str, list[tuple[str, Any]]] = defaultdict(list)
        for tid, kind, value in self.pending_writes:
            by_task[tid].append((kind, value))
        for tid, writes in by_task.items():
            task = self.tasks.get(tid)
            path = task_path_str(task.path) if task is not None else ""
            self.checkpointer.put_writes(config, writes, tid, path)

    # ------------------------------------------------------------------ streaming

    def emit_values(self) -> None:
        """Stream the output values (``values`` mode); an invoke only notes that it did."""
        self.values_seen = True
        if self.settings.wants("values"):
            self.emit("values", read_values(self.channels, self.output_keys))

    def emit_interrupts(self, interrupts: tuple[Any, ...]) -> None:
        """Report the interrupts the run stops at (``updates`` mode; an invoke keeps them)."""
        self.interrupts_seen.extend(interrupts)
        self.emit("updates", {INTERRUPT: interrupts})

    def emit(self, mode: str, payload: Any) -> None:
        """Send a stream event (``checkpoints`` and ``tasks`` also reach ``debug``)."""
        settings = self.settings
        sink = settings.sink
        if sink is None:
            return
        if mode in settings.modes:
            sink.put((self.ns_path, mode, payload))
        if mode in ("checkpoints", "tasks") and "debug" in settings.modes:
            step = self.step - 1 if mode == "checkpoints" else self.step
            sink.put((self.ns_path, "debug", debug_wrap(mode, step, payload)))

    def stream_writer(self, task: Task) -> Callable[[Any], None]:
        """The writer that sends a task's chunks to ``custom`` mode."""
        progress = _progress(task)
        if not self.settings.wants("custom"):
            return _ignore if progress is None else lambda chunk: progress()
        ns = self.ns_path

        def write(chunk: Any) -> None:
            if progress is not None:
                progress()
            sink = self.settings.sink
            if sink is not None:
                sink.put((ns, "custom", chunk))

        return write

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

    def emit_message(self, task: Task, chunk: Any, metadata: Mapping[str, Any] | None) -> None:
        """Stream a message (delta) from inside a task in ``messages`` mode."""
        progress = _progress(task)
        if progress is not None:
            progress()
        settings = self.settings
        if settings.sink is None or "messages" not in settings.modes:
            return
        msg_id = getattr(chunk, "id", None)
        if msg_id is not None:
            with settings.streamed_lock:
                settings.streamed.add(msg_id)
        meta = message_metadata(task, self)
        if metadata:
            meta.update(metadata)
        settings.sink.put((self.ns_path, "messages", (chunk, meta)))

    def _streams_messages(self, task: Task) -> bool:
        return (
            self.settings.sink is not None
            and "messages" in self.settings.modes
            and not (task.node is not None and task.node.hidden)
        )

    def mark_input_messages(self, task: Task) -> None:
        """Messages a task reads are not streamed again when it returns them."""
        if not self._streams_messages(task):
            return
        ids = [m.id for m in _messages_in(task.input, top=True) if m.id is not None]
        if ids:
            with self.settings.streamed_lock:
                self.settings.streamed.update(ids)

    def mark_returned_messages(self, task: Task, output: Any) -> None:
        """Stream the messages a node returns that were not streamed yet."""
        if not self._streams_messages(task):
            return
        found: list[Any] = []
        if isinstance(output, Command):
            found = _messages_in(output.update, top=False)
        elif isinstance(output, Sequence) and any(isinstance(v, Command) for v in output):
            for value in output:
                found.extend(
                    _messages_in(value.update if isinstance(value, Command) else value, top=False)
                )
        else:
            found = _messages_in(output, top=False)
        settings = self.settings
        for message in found:
            with settings.streamed_lock:
                if message.id is not None and message.id in settings.streamed:
                    continue
                if message.id is None:
                    with contextlib.suppress(Exception):
                        message.id = str(uuid.uuid4())
                if message.id is not None:
                    settings.streamed.add(message.id)
            meta = message_metadata(task, self)
            settings.sink.put((self.ns_path, "messages", (message, meta)))  # type: ignore[union-attr]

    def read_state(self, keys: Sequence[str] | str) -> Any:
        """The current values of ``keys``."""
        return read_channels(self.channels, keys)


def message_metadata(task: Task, loop: Loop) -> dict[str, Any]:
    """The metadata of a ``messages``-mode chunk: the task's config metadata."""
    return {"ls_integration": "langgraph", **(task.config.get("metadata") or {})}


def _is_message(value: Any) -> bool:
    return (
        hasattr(value, "content")
        and hasattr(value, "id")
        and (hasattr(value, "role") or hasattr(value, "type"))
        and not isinstance(value, type)
    )


def _state_values(obj: Any) -> list[Any]:
    import dataclasses

    from pydantic import BaseModel

    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, BaseModel) and not _is_message(obj):
        return [getattr(obj, k) for k in type(obj).model_fields]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    return []


def _messages_in(obj: Any, *, top: bool) -> list[Any]:
    """Messages among a state's (or an update's) top-level values."""
    if obj is None:
        return []
    if not top and _is_message(obj):
        return [obj]
    if not top and isinstance(obj, Sequence) and not isinstance(obj, str):
        return [v for v in obj if _is_message(v)]
    out: list[Any] = []
    for value in _state_values(obj):
        if _is_message(value):
            out.append(value)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            out.extend(v for v in value if _is_message(v))
    return out


def _task_summary(info: Any) -> dict[str, Any]:
    from dataclasses import asdict

    if info.error:
        return {"id": info.id, "name": info.name, "error": info.error, "state": info.state}
    base = {
        "id": info.id,
        "name": info.name,
        "interrupts": tuple(asdict(i) for i in info.interrupts),
        "state": info.state,
    }
    if info.result:
        return {"id": info.id, "name": info.name, "result": info.result, **base}
    return base


class Writes:
    """Writes that do not come from a running task (graph input, commands, updates)."""

    __slots__ = ("name", "path", "triggers", "writes")

    def __init__(
        self,
        path: tuple[Any, ...],
        name: str,
        writes: Sequence[tuple[str, Any]],
        triggers: Sequence[str],
    ) -> None:
        self.path = path
        self.name = name
        self.writes = writes
        self.triggers = triggers


def _ignore(chunk: Any) -> None:
    return None


def _progress(task: Task) -> Callable[[], None] | None:
    """What a task's streamed output calls to count as progress: its idle-timeout heartbeat
    under ``TimeoutPolicy(refresh_on="auto")``, as in LangGraph (None otherwise)."""
    policy = task.timeout
    if task.heartbeat is None or policy is None or policy.refresh_on != "auto":
        return None
    return task.heartbeat


__all__ += ["KEPT", "SPECIAL_WRITES", "message_metadata"]
_ = (NO_WRITES, copy_checkpoint)

"""A run's state, and how it reaches the saver.

:class:`LoopState` holds what one run of a graph knows: where its checkpoints live (thread,
namespace, checkpoint config), the checkpoint and channels :meth:`~hone.graph._loop.Loop.enter`
loads, the step's tasks and pending writes. Its methods save them: checkpoints and task
writes, now (``durability="sync"``), in order on one background thread (``"async"``), or
only when the run exits (``"exit"``); a step's last writes can wait for the checkpoint and
go in its transaction.
"""

from __future__ import annotations

import inspect
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Any

from hone.checkpoint import TaskWrites
from hone.graph._algo import Task, increment, read_channels, task_path_str
from hone.graph._channels import Channel
from hone.graph._checkpoint import advance_checkpoint, create_checkpoint, new_versions
from hone.graph._constants import NS_SEP
from hone.graph._saves import SaveQueue

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph
    from hone.graph._context import TaskScope
    from hone.graph._settings import ReplayState, RunSettings

__all__ = ["LoopState"]


def _accepts_writes(saver: Any) -> bool:
    try:
        return "writes" in inspect.signature(saver.put).parameters
    except (TypeError, ValueError):
        return False


class LoopState:
    """The state of one run and its saving (see the module docstring)."""

    # Set by Loop.enter(): the checkpoint the run goes on from, and what it holds.
    checkpoint: dict[str, Any]
    checkpoint_metadata: dict[str, Any]
    channels: dict[str, Channel]
    pending_writes: list[tuple[str, str, Any]]
    #: The checkpoint's parent config (None: the first of the thread, or not saved yet).
    prev_checkpoint_config: Any
    #: The id of the checkpoint loaded (an exit save with the same id has nothing new).
    checkpoint_id_saved: str
    #: The channel versions last saved (a save sends only the ones that changed).
    previous_versions: dict[str, Any]
    has_parent_checkpoint: bool

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
        self._locate(config)
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
        #: The run's LangChain chain run when its config has callbacks (``_callbacks``).
        self.callbacks: Any = None
        #: Whether output values were (or would have been) streamed, and the interrupts the
        #: run stopped at: what invoke() returns without streaming.
        self.values_seen = False
        self.interrupts_seen: list[Any] = []

    def _locate(self, config: dict[str, Any]) -> None:
        """Where the run's checkpoints live: its namespace, thread and checkpoint config."""
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
            self._save_checkpoint(exiting=exiting)
        if not exiting:
            self.step += 1

    def _save_checkpoint(self, *, exiting: bool) -> None:
        """Hand the saver its own copy of the checkpoint, with the writes that waited for it,
        and point the run's checkpoint config at it (an exit save keeps the id)."""
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
        # ``writes=`` only when there are deferred writes (a saver without them needs none).
        extra = (
            {"writes": [TaskWrites(tid, path, ws) for tid, path, ws in deferred]}
            if deferred
            else {}
        )
        self._submit(
            self.checkpointer.put,
            put_config,
            checkpoint,
            dict(self.checkpoint_metadata),
            changed,
            **extra,
        )
        self.checkpoint_config = {
            **put_config,
            "configurable": {**conf, "checkpoint_id": self.checkpoint["id"]},
        }

    # ------------------------------------------------------------------ exit

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

    # ------------------------------------------------------------------ reads

    def read_state(self, keys: Sequence[str] | str) -> Any:
        """The current values of ``keys``."""
        return read_channels(self.channels, keys)

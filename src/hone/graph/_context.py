"""What a running node can reach: its config, task id, stream writer and message hook.

The runtime sets a :class:`TaskScope` in a context variable around each node call, so these
helpers work in sync and async nodes, in worker threads and in nested subgraphs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from hone.errors import GraphError
from hone.graph._channels import MISSING
from hone.graph._types import RunConfig

if TYPE_CHECKING:
    from hone.graph._loop import Run
    from hone.graph._task import Task

__all__ = [
    "TaskScope",
    "current_scope",
    "emit_message_delta",
    "get_config",
    "get_stream_writer",
    "get_task_id",
]


class TaskScope:
    """The running task: its run, task and interrupt counters (one scope per attempt).

    A scope made by :meth:`child` runs part of the task (one tool call of a ToolNode turn):
    its interrupts are keyed by the part's ``prefix``, so concurrent parts number their
    interrupts independently and deterministically.
    """

    __slots__ = ("_config", "interrupt_count", "key_counts", "prefix", "run", "task")

    def __init__(self, run: Run, task: Task, prefix: str = "") -> None:
        self.run = run
        self.task = task
        self.prefix = prefix
        self.interrupt_count = 0
        #: Interrupt key -> how many interrupts with that key this attempt made so far.
        self.key_counts: dict[str, int] = {}
        self._config: RunConfig | None = None

    @property
    def task_id(self) -> str:
        """The task's deterministic id."""
        return self.task.id

    @property
    def config(self) -> RunConfig:
        """The run config as the node sees it (with its task id and namespace)."""
        if self._config is None:
            self._config = self.run.task_config(self.task)
        return self._config

    def child(self, prefix: str) -> TaskScope:
        """A scope for one part of this task, whose interrupts are keyed by ``prefix``."""
        scope = TaskScope(self.run, self.task, f"{self.prefix}/{prefix}" if self.prefix else prefix)
        scope._config = self._config
        return scope

    def recall(self, key: str) -> Any:
        """What :meth:`remember` stored under ``key`` for this task on this checkpoint, or
        ``MISSING``."""
        return self.run.cached.get((self.task.id, key), MISSING)

    def remember(self, key: str, value: Any) -> None:
        """Keep ``value`` for this task until the step commits (saved with the checkpoint's
        pending writes, so a resumed task finds it)."""
        self.run.remember(self.task, key, value)


_SCOPE: ContextVar[TaskScope | None] = ContextVar("hone_graph_task", default=None)


def current_scope() -> TaskScope | None:
    """The running task's scope, or None outside a node."""
    return _SCOPE.get()


def _scope(what: str) -> TaskScope:
    scope = _SCOPE.get()
    if scope is None:
        raise GraphError(f"{what} can only be called inside a running graph node")
    return scope


def get_config() -> RunConfig:
    """The config of the running node (``.thread_id``, ``.task_id``, ``["configurable"]``)."""
    return _scope("get_config()").config


def get_task_id() -> str:
    """The running task's id: the same on retries and resumes, so use it as an idempotency key."""
    return _scope("get_task_id()").task_id


def get_stream_writer() -> Callable[[Any], None]:
    """A function that sends a chunk to ``stream_mode="custom"`` (a no-op when nobody streams it)."""
    scope = _SCOPE.get()
    if scope is None:
        return _ignore
    run = scope.run
    if "custom" not in run.modes:
        return _ignore
    return lambda chunk: run.emit("custom", chunk)


def emit_message_delta(chunk: Any, metadata: Mapping[str, Any] | None = None) -> None:
    """Send a message token/delta to ``stream_mode="messages"``.

    Model backends that stream call this for each delta (an ``AssistantMessage`` holding the
    piece of text, with the id of the message it belongs to). The stream yields
    ``(chunk, metadata)``; metadata names the node, step and thread. Messages whose id was
    streamed this way are not repeated when the node returns them. Outside a node, or when
    nobody streams messages, this does nothing.
    """
    scope = _SCOPE.get()
    if scope is None or "messages" not in scope.run.modes:
        return
    scope.run.emit_message(scope.task, chunk, metadata)


def _ignore(chunk: Any) -> None:
    return None

"""What a running node can reach: its config, task, stream writer, runtime and store.

The runtime sets a :class:`TaskScope` in a context variable around each node call, so these
helpers work in sync and async nodes, in worker threads and in nested subgraphs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.errors import GraphError
from hone.graph._channels import MISSING

if TYPE_CHECKING:
    from hone.graph._algo import Task
    from hone.graph._loop import Loop
    from hone.graph._runtime import Runtime

__all__ = [
    "TOOL_OUTPUT",
    "Scratchpad",
    "TaskScope",
    "current_scope",
    "emit_message_delta",
    "emit_tool_output_delta",
    "get_config",
    "get_runtime",
    "get_store",
    "get_stream_writer",
    "get_task_id",
    "tool_events",
]


class Counter:
    """A thread-safe counter from 0."""

    __slots__ = ("_lock", "_next")

    def __init__(self) -> None:
        self._next = itertools.count()
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return next(self._next)


@dataclass(slots=True)
class Scratchpad:
    """A task's interrupt bookkeeping: the answers it already has, in order, and the
    command's answer not yet claimed by any interrupt."""

    step: int
    stop: int
    #: Answers to this task's ``interrupt()`` calls, in call order.
    resume: list[Any]
    #: Answers to keyed interrupts, by interrupt id.
    keyed: dict[str, Any]
    #: Claims the answer of ``Command(resume=value)`` (once, for the first interrupt).
    null_resume: Callable[[bool], Any]
    interrupt_counter: Counter = field(default_factory=Counter)
    call_counter: Counter = field(default_factory=Counter)
    subgraph_counter: Counter = field(default_factory=Counter)


class TaskScope:
    """The running task: its run, task, config and interrupt bookkeeping.

    A scope made by :meth:`child` runs part of the task (one tool call of a ToolNode turn):
    its keyed interrupts are keyed under the part's ``prefix``, so concurrent parts number
    their interrupts independently.
    """

    __slots__ = ("key_counts", "loop", "prefix", "task")

    def __init__(self, loop: Loop, task: Task, prefix: str = "") -> None:
        self.loop = loop
        self.task = task
        self.prefix = prefix
        self.key_counts: dict[str, int] = {}

    @property
    def config(self) -> dict[str, Any]:
        """The task's config (the node's view of the run config)."""
        return self.task.config

    @property
    def scratchpad(self) -> Scratchpad:
        """The task's interrupt bookkeeping."""
        pad = self.task.scratchpad
        assert pad is not None
        return pad

    @property
    def task_id(self) -> str:
        """The task's deterministic id (stable across retries and resumes)."""
        return self.task.id

    @property
    def thread_id(self) -> str | None:
        """The thread the run belongs to."""
        thread: str | None = self.loop.thread_id
        return thread

    @property
    def checkpoint_ns(self) -> str:
        """The task's namespace (``parent|node:task_id``)."""
        ns: str = self.task.ns
        return ns

    def send(self, writes: list[tuple[str, Any]]) -> None:
        """Add writes to the task's output."""
        self.task.writes.extend(writes)

    def child(self, prefix: str) -> TaskScope:
        """A scope for one part of this task, whose keyed interrupts live under ``prefix``."""
        key = f"{self.prefix}/{prefix}" if self.prefix else prefix
        scope = TaskScope(self.loop, self.task, key)
        return scope

    def recall(self, key: str) -> Any:
        """A value :meth:`remember` kept for this task on this checkpoint, or ``MISSING``."""
        return self.task.kept.get(key, MISSING)

    def remember(self, key: str, value: Any) -> None:
        """Keep ``value`` for this task until its step commits: it survives an interrupt (it
        is saved with the interrupt), so the resumed task finds it."""
        self.task.kept[key] = value


_SCOPE: ContextVar[TaskScope | None] = ContextVar("hone_graph_task", default=None)


def current_scope() -> TaskScope | None:
    """The running task's scope, or None outside a node."""
    return _SCOPE.get()


def set_scope(scope: TaskScope | None) -> Any:
    """Make ``scope`` current (returns the token to reset it with)."""
    return _SCOPE.set(scope)


def reset_scope(token: Any) -> None:
    """Undo :func:`set_scope`."""
    _SCOPE.reset(token)


def scope_or_raise(what: str) -> TaskScope:
    """The running task's scope.

    Raises:
        GraphError: called outside a running node.
    """
    scope = _SCOPE.get()
    if scope is None:
        raise GraphError(f"{what} can only be called inside a running graph node")
    return scope


def get_config() -> dict[str, Any]:
    """The config of the running node: ``["configurable"]`` (thread id, namespace and your
    keys), ``["metadata"]`` (``langgraph_node``, ``langgraph_step``...), tags.

    Raises:
        RuntimeError: called outside a running node.
    """
    scope = _SCOPE.get()
    if scope is None:
        raise RuntimeError("Called get_config outside of a runnable context")
    return scope.config


def get_task_id() -> str:
    """The running task's id: the same on retries and resumes, so use it as an idempotency key.

    Raises:
        GraphError: called outside a running node.
    """
    return scope_or_raise("get_task_id()").task_id


def get_stream_writer() -> Callable[[Any], None]:
    """A function that sends a chunk to ``stream_mode="custom"`` (a no-op when nobody
    streams it, or outside a node)."""
    scope = _SCOPE.get()
    if scope is None:
        return _ignore
    return scope.loop.stream_writer(scope.task)


def get_runtime(context_schema: Any = None) -> Runtime[Any]:
    """The running node's :class:`~hone.graph.Runtime` (context, store, stream writer).

    Raises:
        RuntimeError: called outside a running node.
    """
    scope = _SCOPE.get()
    if scope is None:
        raise RuntimeError("Called get_runtime outside of a runnable context")
    return scope.loop.runtime_for(scope.task)


def get_store() -> Any:
    """The store the graph was compiled with (or the run was given), or None."""
    return get_runtime().store


def emit_message_delta(chunk: Any, metadata: Mapping[str, Any] | None = None) -> None:
    """Send a message token/delta to ``stream_mode="messages"``.

    Model backends that stream call this for each delta (a message holding the piece of
    text, with the id of the message it belongs to). The stream yields
    ``(chunk, metadata)``; metadata names the node, step and thread. Messages whose id was
    streamed this way are not repeated when the node returns them. Outside a node, or when
    nobody streams messages, this does nothing.
    """
    scope = _SCOPE.get()
    if scope is None:
        return
    scope.loop.emit_message(scope.task, chunk, metadata)


def tool_events() -> Callable[[dict[str, Any]], None] | None:
    """What sends the running task's tool-call events to ``stream_mode="tools"`` (None
    outside a node, or when nobody streams that mode)."""
    scope = _SCOPE.get()
    return None if scope is None else scope.loop.tool_events()


#: The running tool call's ``tool-output-delta`` writer (set while a tool node runs a call
#: in a run that streams ``tools``).
TOOL_OUTPUT: ContextVar[Callable[[Any], None] | None] = ContextVar("hone_tool_output", default=None)


def emit_tool_output_delta(delta: Any) -> None:
    """Send a piece of the running tool call's output to ``stream_mode="tools"`` (a
    ``tool-output-delta`` event); nothing when no run streams it."""
    writer = TOOL_OUTPUT.get()
    if writer is not None:
        writer(delta)


def _ignore(chunk: Any) -> None:
    return None

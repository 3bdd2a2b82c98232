"""The checkpoint data model and the saver protocol: LangGraph's, over hone's own storage.

The shapes are exactly those of ``langgraph.checkpoint.base`` (plain dicts, a named tuple,
``{"configurable": {...}}`` configs), so code written against LangGraph's savers — a graph
runtime, or a test calling ``saver.get_tuple(config)`` — runs unchanged on hone's savers, and
:mod:`hone.checkpoint.langgraph` adapts any hone saver to LangGraph's own runtime.

Words used below:

* a *thread* (``thread_id``) is one durable conversation; a *namespace* (``checkpoint_ns``,
  ``""`` for the root graph, ``"node:task_id"`` segments joined by ``"|"`` for subgraphs)
  separates the checkpoints of graphs nested in one run;
* a :class:`Checkpoint` is the state of one graph between two super-steps;
* *pending writes* are the writes of tasks that ran after a checkpoint (the step that will
  produce its child), saved as each task finishes, so a run killed mid-step resumes by
  re-running only the unfinished tasks.

Savers store values so that storage grows O(N) with a conversation; see
:mod:`hone.checkpoint._rows` for the layout and its bounds.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol, TypeAlias, TypedDict, runtime_checkable

__all__ = [
    "ERROR",
    "FORMAT_VERSION",
    "INTERRUPT",
    "RESUME",
    "SCHEDULED",
    "WRITES_IDX_MAP",
    "ChannelVersion",
    "ChannelVersions",
    "Checkpoint",
    "CheckpointConfig",
    "CheckpointKeys",
    "CheckpointMetadata",
    "CheckpointSource",
    "CheckpointTuple",
    "Checkpointer",
    "PendingWrite",
    "RetentionPolicy",
    "TaskWrites",
    "ThreadAdmin",
    "new_checkpoint_id",
]

#: Version of the stored row format (not of :class:`Checkpoint`'s ``v``). Savers refuse rows
#: with a higher version (:class:`hone.errors.CheckpointVersionError`) and read lower ones.
#: 1: the first layout; 2: checkpoints carry ``ts``, ``v``, ``updated_channels`` and
#: LangGraph-shaped metadata, channel versions may be strings or floats.
FORMAT_VERSION = 2

CheckpointSource: TypeAlias = Literal["input", "loop", "update", "fork"]
#: A channel version: increasing per channel. hone's savers make ints
#: (:meth:`Checkpointer.get_next_version`); strings and floats written by other runtimes are
#: stored as given.
ChannelVersion: TypeAlias = str | int | float
ChannelVersions: TypeAlias = dict[str, ChannelVersion]
#: One pending write as it is read back: ``(task_id, channel, value)``.
PendingWrite: TypeAlias = tuple[str, str, Any]

#: Special channels of pending writes. A task has at most one write to each: saving one again
#: *replaces* it (an error is overwritten by the retry's error, an interrupt by the next
#: interrupt), where saving an ordinary ``(task_id, idx)`` again keeps the first. They are
#: stored at the negative index :data:`WRITES_IDX_MAP` gives, as LangGraph does.
ERROR = "__error__"
SCHEDULED = "__scheduled__"
INTERRUPT = "__interrupt__"
RESUME = "__resume__"
WRITES_IDX_MAP: Mapping[str, int] = {
    ERROR: -1,
    SCHEDULED: -2,
    INTERRUPT: -3,
    RESUME: -4,
    # hone's own records of a task's attempt (answers to keyed interrupts, what an
    # interrupted task keeps, the node an error handler runs for): one each per task, so
    # a later attempt replaces them instead of colliding with its own writes' indices.
    "__resume_keyed__": -5,
    "__hone_kept__": -6,
    "__error_source_node__": -7,
}


class Checkpoint(TypedDict):
    """The state of one graph between two super-steps (LangGraph's ``Checkpoint``)."""

    #: Version of the checkpoint dict's shape, chosen by the runtime that made it (LangGraph
    #: 1.x writes 4); savers store it as given.
    v: int
    #: Unique, and sorts in creation order within a thread (see :func:`new_checkpoint_id`).
    id: str
    #: When it was made, ISO 8601 with a time zone (``datetime.now(UTC).isoformat()``).
    ts: str
    #: Channel name -> value, for channels that have a value.
    channel_values: dict[str, Any]
    #: Channel name -> version; grows each time the channel is written.
    channel_versions: ChannelVersions
    #: Node name -> {channel name -> the version of it the node last ran on}.
    versions_seen: dict[str, ChannelVersions]
    #: The channels the step that made this checkpoint wrote (None: not recorded).
    updated_channels: list[str] | None


class CheckpointMetadata(TypedDict, total=False):
    """What is known about how a checkpoint came to be (LangGraph's ``CheckpointMetadata``).

    Besides these keys, a saver's ``put`` copies into it the run's ``configurable`` values
    and config ``metadata`` that are strings, numbers or booleans (keys starting with
    ``"__"`` and the checkpoint keys excepted), as LangGraph does; ``list(filter=...)``
    matches any key.
    """

    #: "input" (the input of invoke/stream), "loop" (a super-step), "update"
    #: (``update_state``) or "fork" (a copy of another checkpoint).
    source: CheckpointSource
    #: -1 for the input checkpoint, then 0, 1, 2, ... one per super-step.
    step: int
    #: Namespace -> checkpoint id of the enclosing graphs' checkpoints (subgraphs).
    parents: dict[str, str]
    #: Id of the run that made the checkpoint.
    run_id: str


class CheckpointKeys(TypedDict, total=False):
    """The ``configurable`` keys that name a checkpoint."""

    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str


class CheckpointConfig(TypedDict):
    """A config naming one checkpoint, as savers return it:
    ``{"configurable": {"thread_id": ..., "checkpoint_ns": ..., "checkpoint_id": ...}}``.

    Savers *accept* any mapping with a ``"configurable"`` mapping (a LangGraph
    ``RunnableConfig`` with callbacks, tags and other keys included); only ``thread_id`` is
    required, ``checkpoint_ns`` defaults to ``""``, and a missing ``checkpoint_id`` means the
    newest checkpoint.
    """

    configurable: CheckpointKeys


class CheckpointTuple(NamedTuple):
    """A checkpoint with its config, metadata, parent and pending writes (LangGraph's
    ``CheckpointTuple``)."""

    config: CheckpointConfig
    checkpoint: Checkpoint
    metadata: CheckpointMetadata
    #: The config of the checkpoint it was made from; None for the first of a thread.
    parent_config: CheckpointConfig | None = None
    #: ``(task_id, channel, value)`` in ``(task_path, task_id, idx)`` order: the order a
    #: runtime applies a super-step's writes in. Savers always give a list (maybe empty).
    pending_writes: list[PendingWrite] | None = None


class TaskWrites(NamedTuple):
    """The writes of one finished task, saved together with a checkpoint by
    ``put(..., writes=[...])``."""

    task_id: str
    #: The task's path (the string LangGraph passes as ``task_path``); orders writes.
    task_path: str
    #: ``(channel, value)`` pairs in the order the task wrote them.
    writes: Sequence[tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Which checkpoints of a thread :meth:`ThreadAdmin.prune` keeps. A checkpoint that is
    the parent of a kept checkpoint (a fork still referenced) is always kept.

    Attributes:
        keep_last: keep the newest this many per namespace (None: all).
        max_age_seconds: keep only those younger than this (None: any age); the newest of
            a namespace is kept whatever its age.
    """

    keep_last: int | None = None
    max_age_seconds: float | None = None


_id_lock = threading.Lock()
_id_counter = itertools.count()
_id_last = 0
_id_pid = ""


def _set_id_pid() -> None:
    global _id_pid
    _id_pid = f"{os.getpid() & 0xFFFFFF:06x}"


_set_id_pid()
os.register_at_fork(after_in_child=_set_id_pid)


def new_checkpoint_id() -> str:
    """A new checkpoint id. Ids sort in creation order, within and across processes."""
    global _id_last
    with _id_lock:
        now = max(time.time_ns(), _id_last + 1)
        _id_last = now
        seq = next(_id_counter) & 0xFFFF
    return f"{now:020d}-{_id_pid}{seq:04x}"


@runtime_checkable
class Checkpointer(Protocol):
    """Stores checkpoints and pending writes: LangGraph's ``BaseCheckpointSaver`` protocol.

    Configs are ``{"configurable": {"thread_id", "checkpoint_ns", "checkpoint_id"}}``
    mappings (see :class:`CheckpointConfig`); a config without ``thread_id`` raises
    :class:`hone.errors.ConfigError`. Every method is thread-safe. The async twins have the
    same semantics; hone's savers run them on the event loop when the work is a short local
    transaction (memory, SQLite) and in a worker thread when it waits on a server (Postgres).
    """

    def get_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (the newest of its thread and namespace when it
        has no ``checkpoint_id``), with its metadata, parent and pending writes; None if there
        is none. The returned ``config`` is the caller's when it named a checkpoint id, else
        a new ``{"configurable": {thread_id, checkpoint_ns, checkpoint_id}}``."""
        ...

    def get(self, config: Mapping[str, Any]) -> Checkpoint | None:
        """``get_tuple(config).checkpoint``, or None."""
        ...

    def list(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first (by id).

        Args:
            config: which thread (None: every thread); its ``checkpoint_ns`` restricts the
                namespace (absent: every namespace), its ``checkpoint_id`` that one checkpoint.
            filter: keep checkpoints whose metadata has each key with an equal value.
            before: keep checkpoints older than (id less than) the one this config names.
            limit: at most this many (after filtering); 0 or less lists nothing.
        """
        ...

    def put(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Mapping[str, ChannelVersion],
        *,
        writes: Sequence[TaskWrites] = (),
    ) -> CheckpointConfig:
        """Save ``checkpoint`` as a child of the checkpoint ``config`` names (its parent; no
        ``checkpoint_id``: a first checkpoint), and return the config naming it.

        ``new_versions`` names the channels written since the parent. A value is stored for
        each of them (one absent from ``channel_values`` is stored as having no value) and
        for any channel whose version differs from the parent's; every other channel refers
        to the parent's stored value, so its entry in ``channel_values`` is not read.
        ``metadata`` is stored with the run's config values added (see
        :class:`CheckpointMetadata`). Saving an id again replaces that checkpoint.

        ``writes`` (:class:`TaskWrites`, or plain ``(task_id, task_path, writes)`` tuples)
        are pending writes of tasks against the *parent* checkpoint, saved with
        the same rules as :meth:`put_writes` and **in the same transaction** as the
        checkpoint: after a crash, either the checkpoint and those writes are all stored or
        none of them is. A runtime passes the writes of a step's tasks it has not saved yet,
        so a step costs one transaction. ``writes`` without a parent raise
        :class:`hone.errors.ConfigError`.
        """
        ...

    def put_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Save the writes of one task against the checkpoint ``config`` names (which must
        have a ``checkpoint_id``). Write ``i`` is stored at index ``i``, or at
        :data:`WRITES_IDX_MAP`'s index for a special channel. Saving an ordinary
        ``(task_id, index)`` again keeps the first; a special one replaces it."""
        ...

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread (all namespaces)."""
        ...

    def get_next_version(self, current: ChannelVersion | None, channel: None) -> Any:
        """The version after ``current`` (None: the first). hone's savers count in ints;
        ``channel`` is unused (LangGraph keeps it for compatibility)."""
        ...

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        ...

    async def aget(self, config: Mapping[str, Any]) -> Checkpoint | None:
        """Async :meth:`get`."""
        ...

    def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        ...

    async def aput(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Mapping[str, ChannelVersion],
        *,
        writes: Sequence[TaskWrites] = (),
    ) -> CheckpointConfig:
        """Async :meth:`put`."""
        ...

    async def aput_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        ...

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        ...


@runtime_checkable
class ThreadAdmin(Protocol):
    """Thread-level administration: listing, deleting and retention."""

    def list_threads(self) -> list[str]:
        """Ids of all threads with at least one checkpoint, sorted."""
        ...

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread (all namespaces)."""
        ...

    def prune(self, thread_id: str, policy: RetentionPolicy) -> int:
        """Delete checkpoints outside the policy; return how many were deleted."""
        ...

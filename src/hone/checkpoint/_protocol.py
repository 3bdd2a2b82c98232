"""The checkpoint data model and the small protocols every saver implements.

A *checkpoint* is the state of one graph (one thread, one namespace) between two super-steps:
channel values, their versions, which versions each node has seen, and metadata. *Pending
writes* are the writes of tasks that finished during the step after a checkpoint; they are
saved as each task finishes, so a crashed run resumes by re-running only unfinished tasks.

Savers store values so that storage grows O(N) with a conversation: a channel whose new value
extends its previous value (an append-only message list) is stored as the appended items only,
and a checkpoint references channel versions instead of copying values.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointSource",
    "CheckpointTuple",
    "Checkpointer",
    "PendingWrite",
    "RetentionPolicy",
    "ThreadAdmin",
    "new_checkpoint_id",
]

#: Version of the stored format. Savers refuse rows with a higher version
#: (:class:`hone.errors.CheckpointVersionError`) and run migration hooks on lower ones.
FORMAT_VERSION = 1

CheckpointSource: TypeAlias = Literal["input", "loop", "update", "fork"]

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


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The state of one graph between two super-steps."""

    id: str
    thread_id: str
    #: "" for the root graph; "node:task_id" segments joined by "|" for subgraphs.
    ns: str
    parent_id: str | None
    #: -1 for the input checkpoint, then 0, 1, 2, ... one per super-step.
    step: int
    source: CheckpointSource
    #: Channel name -> value, only for channels that have a value.
    channel_values: Mapping[str, Any]
    #: Channel name -> version (a counter that grows each time the channel is written).
    channel_versions: Mapping[str, int]
    #: Node name -> {channel name -> the version of it the node last ran on}.
    versions_seen: Mapping[str, Mapping[str, int]]
    #: Free-form JSON-serialisable metadata (writes of the step, user tags, ...).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    format_version: int = FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """One write of a finished task, saved before the next checkpoint exists."""

    task_id: str
    #: The node that produced it (or a special path such as "__resume__").
    task_path: str
    channel: str
    value: Any
    #: Position of the write within the task's writes (keeps order; dedupes retries).
    idx: int


@dataclass(frozen=True, slots=True)
class CheckpointTuple:
    """A checkpoint with the pending writes saved against it."""

    checkpoint: Checkpoint
    pending_writes: tuple[PendingWrite, ...] = ()


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Which checkpoints of a thread to keep. A checkpoint that is the parent of a kept
    checkpoint (a fork still referenced) is always kept."""

    keep_last: int | None = None
    max_age_seconds: float | None = None


@runtime_checkable
class Checkpointer(Protocol):
    """Stores checkpoints and pending writes for threads."""

    def put(self, checkpoint: Checkpoint, *, new_versions: Mapping[str, int]) -> None:
        """Save a checkpoint. ``new_versions`` names the channels written since its parent;
        only their values need storing (others are referenced by version)."""
        ...

    def put_writes(
        self,
        *,
        thread_id: str,
        ns: str,
        checkpoint_id: str,
        task_id: str,
        task_path: str,
        writes: Sequence[tuple[str, Any]],
    ) -> None:
        """Save the writes of one finished task, against the checkpoint it ran after.
        Saving the same (task_id, idx) twice keeps the first."""
        ...

    def get(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        """The given checkpoint (or the latest of the thread and namespace), with its pending
        writes; None if there is none."""
        ...

    def list(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints of a thread and namespace, newest first."""
        ...


@runtime_checkable
class ThreadAdmin(Protocol):
    """Thread-level administration: listing, deleting and retention."""

    def list_threads(self) -> list[str]:
        """Ids of all threads with at least one checkpoint."""
        ...

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread (all namespaces)."""
        ...

    def prune(self, thread_id: str, policy: RetentionPolicy) -> int:
        """Delete checkpoints outside the policy; return how many were deleted."""
        ...

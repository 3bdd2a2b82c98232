"""The stored rows every saver shares, and the storage-backend protocol they go through.

Storage layout (the same tables in memory, SQLite and PostgreSQL)::

    checkpoints  (thread_id, ns, checkpoint_id) -> parent_id, step, source, created_at,
                 format_version, schema_version,
                 refs  JSON {channel: [version, blob_id]}     references, never values
                 body  encoded {channel_versions, versions_seen, metadata}
    blobs        (thread_id, ns, channel, blob_id) -> base_id, data
                 base_id NULL: data is the full encoded value
                 base_id set:  data is the encoded list of items appended to the value of
                               blob base_id (a *delta*)
    writes       (thread_id, ns, checkpoint_id, task_id, idx) -> task_path, channel, data
                 kept in insertion order; the first save of a (task_id, idx) wins
    meta         key -> value; "format_version" of the database

Why it is O(N): a ``put`` stores a blob only for the channels in ``new_versions`` (or whose
version differs from the parent's); every other channel copies the parent's reference. A
written list value whose first ``k`` items equal the parent's value for that channel (``k``
its length; checked by identity first, then by type and ``==``) is stored as a delta of the
items after ``k``. Replacing an item by id, removing items or any other change stores the full
value. Loading walks the delta chain back to a full value (one recursive query in SQL) and
replays the appended items: O(N) items for a list of N, however many steps it took to grow.
``get`` reads a checkpoint's row, chains and writes in one snapshot; ``list`` reads rows and
writes only, and each value on first access, sharing the rows and decoded items of one chain
between the listed checkpoints (:mod:`._load`): a history of N checkpoints reads O(N) rows.

Blob ids are the writing checkpoint's id plus a random suffix, so two forks that both give a
channel "version 5" never collide, and saving a checkpoint id again never rewrites a blob a
delta builds on. Deltas follow the checkpoint's parent, so two children of one checkpoint each
build on the parent's value. Each saver caches, per (thread, ns, channel), the last list it
stored (immutable items only) to find bases without reading them back; blobs never change, so
a cache entry is valid exactly when its blob id matches. Inside its transaction, a ``put``
checks that every blob it refers to still exists and stores the full value for any that a
concurrent ``prune`` or ``delete_thread`` removed. Retention deletes a blob only when no kept
checkpoint reaches it, directly or along a delta chain (see :mod:`._retention`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "BlobRow",
    "CheckpointRow",
    "PruneInfo",
    "PutPlan",
    "StorageBackend",
    "StoredState",
    "WriteRow",
    "reachable_blobs",
]


@dataclass(frozen=True, slots=True)
class BlobRow:
    """One stored channel value: full (``base_id`` None) or appended items (a delta)."""

    channel: str
    blob_id: str
    base_id: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """One stored checkpoint, values replaced by blob references."""

    thread_id: str
    ns: str
    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str
    created_at: float
    format_version: int
    schema_version: int
    #: channel -> (version, blob_id)
    refs: Mapping[str, tuple[int, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class WriteRow:
    """One stored pending write."""

    task_id: str
    idx: int
    task_path: str
    channel: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PruneInfo:
    """What retention needs to know about a checkpoint."""

    ns: str
    checkpoint_id: str
    parent_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class StoredState:
    """One checkpoint as read in one transaction: its row, the delta chains of its values
    (channel -> blob id -> blob, as :meth:`StorageBackend.read_chains` returns them) and its
    pending writes."""

    row: CheckpointRow
    chains: Mapping[str, Mapping[str, BlobRow]]
    writes: list[WriteRow]


class PutPlan(Protocol):
    """The rows of one ``put``, completed inside the backend's transaction."""

    @property
    def required(self) -> Mapping[str, str]:
        """channel -> blob id that must already exist (inherited references, delta bases)."""
        ...

    def finalize(self, missing: set[str]) -> tuple[CheckpointRow, list[BlobRow]]:
        """The rows to write, given the channels whose required blob is gone (those get
        their full value stored instead)."""
        ...


class StorageBackend(Protocol):
    """Row storage behind :class:`hone.checkpoint._saver.RowSaver`. Each method is atomic."""

    def write_checkpoint(self, thread_id: str, ns: str, plan: PutPlan) -> None:
        """In one transaction: find which ``plan.required`` blobs exist, then store
        ``plan.finalize(missing)`` (replacing a checkpoint with the same id)."""
        ...

    def read_checkpoint(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> CheckpointRow | None:
        """One checkpoint row, or the newest of the thread and namespace."""
        ...

    def read_state(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str | None,
        *,
        cached: Callable[[str, str], bool],
    ) -> StoredState | None:
        """In one consistent snapshot: a checkpoint row (or the newest of the thread and
        namespace), the chains of its values except those ``cached(channel, blob_id)`` says
        the caller has, and its pending writes. So a concurrent ``prune`` either happened
        before (None, or the row without the pruned checkpoint) or after, never halfway."""
        ...

    def read_checkpoints(
        self, thread_id: str, ns: str, *, before: str | None, limit: int | None
    ) -> Iterator[CheckpointRow]:
        """Checkpoint rows, newest first."""
        ...

    def read_chains(
        self, thread_id: str, ns: str, refs: Mapping[str, str]
    ) -> dict[str, dict[str, BlobRow]]:
        """For each channel -> blob id, the blob and every blob its delta chain reaches,
        keyed by blob id (missing blobs are simply absent)."""
        ...

    def write_writes(
        self, thread_id: str, ns: str, checkpoint_id: str, rows: Sequence[WriteRow]
    ) -> None:
        """Store pending writes, ignoring any (task_id, idx) already stored."""
        ...

    def read_writes(
        self, thread_id: str, ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[WriteRow]]:
        """Pending writes of some checkpoints, each in insertion order (checkpoints without
        writes may be absent)."""
        ...

    def thread_ids(self) -> list[str]:
        """Every thread with a checkpoint, sorted."""
        ...

    def delete_thread(self, thread_id: str) -> None:
        """Delete all rows of a thread."""
        ...

    def prune(
        self,
        thread_id: str,
        choose: Callable[[list[PruneInfo]], set[tuple[str, str]]],
    ) -> int:
        """In one transaction: delete the (ns, checkpoint_id) pairs ``choose`` returns, their
        writes, and every blob no remaining checkpoint reaches; return how many checkpoints
        were deleted."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def reachable_blobs(
    refs: Iterator[tuple[str, str, str]], bases: Mapping[tuple[str, str, str], str | None]
) -> set[tuple[str, str, str]]:
    """Every (ns, channel, blob_id) that the given references reach along delta chains.

    Args:
        refs: (ns, channel, blob_id) referenced by kept checkpoints.
        bases: (ns, channel, blob_id) -> base blob id (None for full values), for all blobs.
    """
    keep: set[tuple[str, str, str]] = set()
    for key in refs:
        while key not in keep and key in bases:
            keep.add(key)
            base = bases[key]
            if base is None:
                break
            key = (key[0], key[1], base)
    return keep

"""The stored rows every saver shares, and the storage-backend protocol they go through.

Storage layout (the same tables in memory, SQLite and PostgreSQL)::

    checkpoints  (thread_id, ns, checkpoint_id) -> parent_id, step, source, created_at,
                 format_version, schema_version,
                 refs  JSON {channel: [version, blob_id]}              a value in blobs
                            {channel: [version, chain_id, length]}     a list in segments
                 body  encoded {v, ts, channel_versions, versions_seen, updated_channels,
                               metadata}
    blobs        (thread_id, ns, channel, blob_id) -> base_id, data
                 one full encoded value (base_id NULL). Rows of format 1 may also be a
                 delta: the items appended to the value of blob base_id (read, never written)
    segments     (thread_id, ns, channel, chain_id, start) -> end, base_id, base_len, data
                 items [start, end) of a *chain*, a list that only grows; a chain forked
                 from another starts with the first base_len items of chain base_id
    writes       (thread_id, ns, checkpoint_id, task_id, idx) -> task_path, channel, data
                 read in (task_path, task_id, idx) order
    meta         key -> value; "format_version" of the database

**Why storage is O(N).** A ``put`` stores a value only for the channels in ``new_versions``
(or whose version differs from the parent's); every other channel copies the parent's
reference. A list value whose first ``L`` items equal the parent's value (``L`` its length;
checked by identity first, then by type and ``==``) *extends* it, and only the items after
``L`` are stored, as the next segment of the parent's chain; its reference is
``(chain, new length)``. Any other list (an item replaced by id, items removed) starts a new
chain. So each item of an append-only history is stored once: the bytes of a thread are the
bytes of its items plus one checkpoint row per step, whatever the number of steps. Two
children of one checkpoint that both extend it (a fork) cannot both append to its chain:
the second starts a chain of its own whose base is the first ``L`` items of the parent's
chain, so a fork stores only what it adds.

**Why loads are bounded.** Reading the value ``(chain, n)`` reads the chain's segments that
start before ``n`` in one indexed range query (plus one per fork it descends from), never a
walk of one row per step. A new segment absorbs the segments before it while they are
smaller than twice its size, so every segment is at least twice the one after it: a chain
of ``N`` items has at most ``log2(N) + 1`` segments, and a load reads ``O(log N)`` rows
however long the thread. The price is rewriting: an absorbed item lands in a segment more
than 1.5 times its old one, so it is rewritten at most ``log1.5(N)`` (about
``1.7 log2(N)``) times over the chain's life — amortized ``O(log N)`` bytes per appended
item, as plain byte concatenation (nothing is decoded); merged segments replace the ones
they absorb in the same transaction, so stored bytes stay ``1x`` the items. A ``get`` of a checkpoint therefore costs one checkpoint row,
``O(log N)`` segment rows per list channel, one row per other channel, its writes, and the
decoding of the value itself.

Blob and chain ids are the writing checkpoint's id plus a random suffix, so saving a
checkpoint id again never rewrites a value another checkpoint refers to. Inside its
transaction, a ``put`` checks that every blob and chain prefix it refers to still exists and
stores the full value for any that a concurrent ``prune`` or ``delete_thread`` removed.
Retention deletes a blob only when no kept checkpoint reaches it, and trims a chain to the
longest prefix a kept checkpoint (or a fork built on it) refers to (see :mod:`._retention`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from hone.checkpoint._protocol import ChannelVersion
from hone.errors import CheckpointCorruptError

__all__ = [
    "BlobRow",
    "CheckpointRow",
    "PruneInfo",
    "ReadTx",
    "Ref",
    "SegmentInfo",
    "SegmentRow",
    "StorageBackend",
    "WriteRow",
    "WriteTx",
    "concat_lists",
    "reachable_blobs",
    "refs_from_json",
    "refs_to_json",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ref:
    """Where a checkpoint's channel value is stored: blob ``key`` (``length`` None), or the
    first ``length`` items of chain ``key``."""

    version: ChannelVersion
    key: str
    length: int | None = None


@dataclass(frozen=True, slots=True)
class BlobRow:
    """One stored value: full (``base_id`` None) or, in format-1 rows, appended items."""

    channel: str
    blob_id: str
    base_id: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """Items ``[start, end)`` of a chain, encoded as one list."""

    channel: str
    chain_id: str
    start: int
    end: int
    #: The chain this one was forked from (None: a root chain), and how many of its items.
    base_id: str | None
    base_len: int
    data: bytes


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """A segment without its data (what planning an append or a prune needs)."""

    ns: str
    channel: str
    chain_id: str
    start: int
    end: int
    base_id: str | None
    base_len: int


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """One stored checkpoint, values replaced by references."""

    thread_id: str
    ns: str
    checkpoint_id: str
    parent_id: str | None
    step: int
    source: str
    created_at: float
    format_version: int
    schema_version: int
    refs: Mapping[str, Ref]
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


# json.dumps with separators builds an encoder per call; one encoder serves every row.
_REFS_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def refs_to_json(refs: Mapping[str, Ref]) -> str:
    """The JSON text of a checkpoint's references."""
    return _REFS_ENCODER.encode(
        {
            c: [r.version, r.key] if r.length is None else [r.version, r.key, r.length]
            for c, r in refs.items()
        }
    )


def refs_from_json(text: str) -> dict[str, Ref]:
    """Parse :func:`refs_to_json` text.

    Raises:
        CheckpointCorruptError: the text is not references.
    """
    try:
        raw = json.loads(text)
        out: dict[str, Ref] = {}
        for channel, item in raw.items():
            version = item[0]
            if not isinstance(version, str | int | float) or isinstance(version, bool):
                raise TypeError(f"version {version!r}")
            if len(item) == 2:
                out[channel] = Ref(version, str(item[1]))
            elif len(item) == 3:
                out[channel] = Ref(version, str(item[1]), int(item[2]))
            else:
                raise ValueError(f"reference {item!r}")
        return out
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise CheckpointCorruptError(f"a checkpoint row has malformed references: {exc}") from exc


class ReadTx(Protocol):
    """Reads inside one transaction (one snapshot when the backend was asked for one)."""

    def checkpoint(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> CheckpointRow | None:
        """One checkpoint row, or the newest of the thread and namespace."""
        ...

    def checkpoints(
        self,
        thread_id: str | None,
        ns: str | None,
        *,
        checkpoint_id: str | None,
        before: str | None,
        limit: int | None,
    ) -> list[CheckpointRow]:
        """Checkpoint rows newest first (by id, then thread and namespace); None for thread
        or namespace means all."""
        ...

    def blob_chains(
        self, thread_id: str, ns: str, refs: Mapping[str, str]
    ) -> dict[str, dict[str, BlobRow]]:
        """For each channel -> blob id, the blob and every blob its (format-1) delta chain
        reaches, keyed by blob id; missing blobs are absent."""
        ...

    def segments(
        self, thread_id: str, ns: str, channel: str, chain_id: str, *, start: int = 0, end: int
    ) -> list[SegmentRow]:
        """The segments of one chain that start in ``[start, end)``, by start."""
        ...

    def writes(
        self, thread_id: str, ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[WriteRow]]:
        """Pending writes of some checkpoints, each in (task_path, task_id, idx) order."""
        ...


class WriteTx(ReadTx, Protocol):
    """Reads and writes of one thread inside one transaction."""

    def existing_blobs(self, thread_id: str, ns: str, wanted: Mapping[str, str]) -> set[str]:
        """The channels of ``wanted`` (channel -> blob id) whose blob exists."""
        ...

    def chain_segments(
        self, thread_id: str, ns: str, wanted: Mapping[str, str]
    ) -> dict[str, list[SegmentInfo]]:
        """For each channel -> chain id, the chain's segments (no data), by start."""
        ...

    def delete_segments(
        self, thread_id: str, ns: str, channel: str, chain_id: str, start: int
    ) -> None:
        """Delete the chain's segments that start at or after ``start``."""
        ...

    def put_rows(
        self,
        row: CheckpointRow,
        blobs: Sequence[BlobRow],
        segments: Sequence[SegmentRow],
    ) -> None:
        """Store (or replace) a checkpoint row, blobs and segments."""
        ...

    def put_writes(
        self, thread_id: str, ns: str, checkpoint_id: str, rows: Sequence[WriteRow]
    ) -> None:
        """Store pending writes: a row with a negative idx replaces the stored one with its
        (task_id, idx); others are ignored when one is stored already."""
        ...


class StorageBackend(Protocol):
    """Row storage behind :class:`hone.checkpoint._saver.RowSaver`."""

    def read(self, body: Callable[[ReadTx], T], *, snapshot: bool) -> T:
        """Run ``body`` in a read transaction; ``snapshot``: all its reads see one snapshot
        (else each read may see newer data). A backend may run it again after a lost
        connection, so bodies only read."""
        ...

    def write(self, thread_id: str, body: Callable[[WriteTx], T]) -> T:
        """Run ``body`` in one write transaction on ``thread_id``'s rows; every write of it
        is committed, or none is. A backend may run it again after a lost connection, so
        bodies compute their rows from what they read."""
        ...

    def thread_ids(self) -> list[str]:
        """Every thread with a checkpoint, sorted."""
        ...

    def delete_thread(self, thread_id: str) -> None:
        """Delete all rows of a thread."""
        ...

    def prune(
        self, thread_id: str, choose: Callable[[list[PruneInfo]], set[tuple[str, str]]]
    ) -> int:
        """In one transaction, exclusive of writes to the thread: delete the
        (ns, checkpoint_id) pairs ``choose`` returns and their writes, then the blobs no
        remaining checkpoint reaches and the chain segments none needs
        (:func:`hone.checkpoint._retention.unneeded`); return how many checkpoints were
        deleted."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def reachable_blobs(
    refs: Iterable[tuple[str, str, str]], bases: Mapping[tuple[str, str, str], str | None]
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


def concat_lists(parts: Sequence[bytes]) -> bytes:
    """One encoded list holding the items of several encoded lists, without decoding them.

    Each part is a :class:`~hone.checkpoint.Serializer` list: a marker byte (``J`` plain
    JSON, ``T`` tagged) and a JSON array. Plain JSON decodes the same on the tagged path (it
    holds no tags), so the result is ``T`` when any part is.
    """
    marker = b"T" if any(p[:1] == b"T" for p in parts) else b"J"
    bodies = []
    for part in parts:
        inner = part[1:].strip()
        if inner[:1] != b"[" or inner[-1:] != b"]":
            raise CheckpointCorruptError("a stored list segment is not a JSON array")
        inner = inner[1:-1].strip()
        if inner:
            bodies.append(inner)
    return marker + b"[" + b",".join(bodies) + b"]"

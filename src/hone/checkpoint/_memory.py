"""A saver that keeps its rows in process memory.

It encodes values with the same :class:`~hone.checkpoint.Serializer` and stores the same rows
(references, full values and list segments) as the durable savers, rather than keeping Python
objects by reference. That makes it behave exactly like them — a stored checkpoint cannot
change when the caller mutates a value later, and state that a database could not hold fails
here too — and the segment layout keeps the cost of a ``put`` to the items that are new.
One lock serialises every transaction, so a ``put`` with its writes is atomic here too.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hone.checkpoint._migration import Migration
from hone.checkpoint._retention import kept_segments
from hone.checkpoint._rows import (
    BlobRow,
    CheckpointRow,
    PruneInfo,
    SegmentInfo,
    SegmentRow,
    WriteRow,
    reachable_blobs,
)
from hone.checkpoint._saver import RowSaver
from hone.checkpoint._serde import Serializer, TypedSerializer, as_serializer

__all__ = ["InMemorySaver", "MemorySaver"]

T = TypeVar("T")


@dataclass
class _Namespace:
    ids: list[str] = field(default_factory=list)  # sorted
    rows: dict[str, CheckpointRow] = field(default_factory=dict)
    blobs: dict[tuple[str, str], BlobRow] = field(default_factory=dict)  # (channel, blob_id)
    #: (channel, chain_id) -> start -> segment
    segments: dict[tuple[str, str], dict[int, SegmentRow]] = field(default_factory=dict)
    writes: dict[str, dict[tuple[str, int], WriteRow]] = field(default_factory=dict)


def _sorted_writes(stored: dict[tuple[str, int], WriteRow]) -> list[WriteRow]:
    return sorted(stored.values(), key=lambda w: (w.task_path, w.task_id, w.idx))


class _Tx:
    """The read and write primitives on the dicts (the caller holds the lock)."""

    def __init__(self, threads: dict[str, dict[str, _Namespace]]) -> None:
        self.threads = threads

    def _ns(self, thread_id: str, ns: str) -> _Namespace | None:
        return self.threads.get(thread_id, {}).get(ns)

    def _space(self, thread_id: str, ns: str) -> _Namespace:
        return self.threads.setdefault(thread_id, {}).setdefault(ns, _Namespace())

    # -- reads ----------------------------------------------------------------------------

    def checkpoint(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> CheckpointRow | None:
        space = self._ns(thread_id, ns)
        if space is None or not space.ids:
            return None
        return space.rows.get(space.ids[-1] if checkpoint_id is None else checkpoint_id)

    def checkpoints(
        self,
        thread_id: str | None,
        ns: str | None,
        *,
        checkpoint_id: str | None,
        before: str | None,
        limit: int | None,
    ) -> list[CheckpointRow]:
        threads = (
            self.threads.items()
            if thread_id is None
            else [(thread_id, self.threads.get(thread_id, {}))]
        )
        rows: list[CheckpointRow] = []
        for _, spaces in threads:
            for name, space in spaces.items():
                if ns is not None and name != ns:
                    continue
                if checkpoint_id is not None:
                    row = space.rows.get(checkpoint_id)
                    if row is not None and (before is None or row.checkpoint_id < before):
                        rows.append(row)
                    continue
                end = len(space.ids) if before is None else bisect.bisect_left(space.ids, before)
                start = 0 if limit is None else max(0, end - limit)
                rows.extend(space.rows[i] for i in space.ids[start:end])
        rows.sort(key=lambda r: (r.checkpoint_id, r.thread_id, r.ns), reverse=True)
        return rows if limit is None else rows[:limit]

    def blob_chains(
        self, thread_id: str, ns: str, refs: Mapping[str, str]
    ) -> dict[str, dict[str, BlobRow]]:
        out: dict[str, dict[str, BlobRow]] = {}
        space = self._ns(thread_id, ns)
        for channel, blob_id in refs.items():
            chain: dict[str, BlobRow] = {}
            current: str | None = blob_id
            while space is not None and current is not None and current not in chain:
                blob = space.blobs.get((channel, current))
                if blob is None:
                    break
                chain[current] = blob
                current = blob.base_id
            out[channel] = chain
        return out

    def segments(
        self, thread_id: str, ns: str, channel: str, chain_id: str, *, start: int = 0, end: int
    ) -> list[SegmentRow]:
        space = self._ns(thread_id, ns)
        known = {} if space is None else space.segments.get((channel, chain_id), {})
        return [known[s] for s in sorted(known) if start <= s < end]

    def writes(
        self, thread_id: str, ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[WriteRow]]:
        space = self._ns(thread_id, ns)
        if space is None:
            return {}
        return {
            cid: _sorted_writes(space.writes[cid]) for cid in checkpoint_ids if cid in space.writes
        }

    # -- writes ---------------------------------------------------------------------------

    def existing_blobs(self, thread_id: str, ns: str, wanted: Mapping[str, str]) -> set[str]:
        space = self._ns(thread_id, ns)
        if space is None:
            return set()
        return {c for c, b in wanted.items() if (c, b) in space.blobs}

    def chain_segments(
        self, thread_id: str, ns: str, wanted: Mapping[str, str]
    ) -> dict[str, list[SegmentInfo]]:
        space = self._ns(thread_id, ns)
        out: dict[str, list[SegmentInfo]] = {}
        for channel, chain_id in wanted.items():
            known = {} if space is None else space.segments.get((channel, chain_id), {})
            out[channel] = [_info(ns, known[s]) for s in sorted(known)]
        return out

    def delete_segments(
        self, thread_id: str, ns: str, channel: str, chain_id: str, start: int
    ) -> None:
        space = self._ns(thread_id, ns)
        known = None if space is None else space.segments.get((channel, chain_id))
        if known:
            for s in [s for s in known if s >= start]:
                del known[s]

    def put_rows(
        self, row: CheckpointRow, blobs: Sequence[BlobRow], segments: Sequence[SegmentRow]
    ) -> None:
        space = self._space(row.thread_id, row.ns)
        for blob in blobs:
            space.blobs[(blob.channel, blob.blob_id)] = blob
        for seg in segments:
            space.segments.setdefault((seg.channel, seg.chain_id), {})[seg.start] = seg
        if row.checkpoint_id not in space.rows:
            bisect.insort(space.ids, row.checkpoint_id)
        space.rows[row.checkpoint_id] = row

    def put_writes(
        self, thread_id: str, ns: str, checkpoint_id: str, rows: Sequence[WriteRow]
    ) -> None:
        stored = self._space(thread_id, ns).writes.setdefault(checkpoint_id, {})
        for row in rows:
            key = (row.task_id, row.idx)
            if row.idx < 0 or key not in stored:
                stored[key] = row


def _info(ns: str, seg: SegmentRow) -> SegmentInfo:
    return SegmentInfo(ns, seg.channel, seg.chain_id, seg.start, seg.end, seg.base_id, seg.base_len)


class _MemoryBackend:
    """Rows in dicts, one lock around every transaction."""

    def __init__(self) -> None:
        self.threads: dict[str, dict[str, _Namespace]] = {}
        self.lock = threading.RLock()
        self._tx = _Tx(self.threads)

    def read(self, body: Callable[[Any], T], *, snapshot: bool) -> T:
        with self.lock:
            return body(self._tx)

    def write(self, thread_id: str, body: Callable[[Any], T]) -> T:
        with self.lock:
            return body(self._tx)

    def thread_ids(self) -> list[str]:
        with self.lock:
            return sorted(
                t for t, spaces in self.threads.items() if any(s.ids for s in spaces.values())
            )

    def delete_thread(self, thread_id: str) -> None:
        with self.lock:
            self.threads.pop(thread_id, None)

    def prune(
        self, thread_id: str, choose: Callable[[list[PruneInfo]], set[tuple[str, str]]]
    ) -> int:
        with self.lock:
            spaces = self.threads.get(thread_id, {})
            infos = [
                PruneInfo(ns, row.checkpoint_id, row.parent_id, row.created_at)
                for ns, space in spaces.items()
                for row in space.rows.values()
            ]
            doomed = choose(infos)
            for ns, checkpoint_id in doomed:
                space = spaces[ns]
                del space.rows[checkpoint_id]
                space.writes.pop(checkpoint_id, None)
            for space in spaces.values():
                space.ids = sorted(space.rows)
            self._collect(spaces)
            return len(doomed)

    @staticmethod
    def _collect(spaces: dict[str, _Namespace]) -> None:
        rows = [(ns, row) for ns, space in spaces.items() for row in space.rows.values()]
        blob_refs = (
            (ns, c, r.key) for ns, row in rows for c, r in row.refs.items() if r.length is None
        )
        bases = {
            (ns, channel, blob_id): blob.base_id
            for ns, space in spaces.items()
            for (channel, blob_id), blob in space.blobs.items()
        }
        keep = reachable_blobs(blob_refs, bases)
        for ns, channel, blob_id in set(bases) - keep:
            del spaces[ns].blobs[(channel, blob_id)]
        chain_refs = [
            (ns, c, r.key, r.length) for ns, row in rows for c, r in row.refs.items() if r.length
        ]
        segments = [
            _info(ns, seg)
            for ns, space in spaces.items()
            for known in space.segments.values()
            for seg in known.values()
        ]
        kept = kept_segments(chain_refs, segments)
        for seg in segments:
            if (seg.ns, seg.channel, seg.chain_id, seg.start) not in kept:
                known = spaces[seg.ns].segments[(seg.channel, seg.chain_id)]
                del known[seg.start]
                if not known:
                    del spaces[seg.ns].segments[(seg.channel, seg.chain_id)]

    def close(self) -> None:
        pass


class InMemorySaver(RowSaver):
    """Checkpoints in process memory: for tests, notebooks and short-lived programs.

    Values are encoded like in the durable savers (see the module docstring). Pickle is
    allowed by default here, since bytes never leave the process; pass
    ``serde=Serializer()`` to refuse what a database saver would refuse.
    """

    def __init__(
        self,
        *,
        serde: Serializer | TypedSerializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> None:
        super().__init__(
            _MemoryBackend(),
            serde=as_serializer(serde, allow_pickle=True),
            schema_version=schema_version,
            migrations=migrations,
        )

    def __repr__(self) -> str:
        return "InMemorySaver()"


#: LangGraph's older name for :class:`InMemorySaver`.
MemorySaver = InMemorySaver

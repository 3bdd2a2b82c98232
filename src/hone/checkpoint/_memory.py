"""A saver that keeps its rows in process memory.

It encodes values with the same :class:`~hone.checkpoint.Serializer` and stores the same rows
(references, full values and deltas) as the durable savers, rather than keeping Python objects
by reference. That makes it behave exactly like them — a stored checkpoint cannot change when
the caller mutates a value later, and state that a database could not hold fails here too —
and the delta layout keeps the cost of a ``put`` to the items that are new.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from hone.checkpoint._migration import Migration
from hone.checkpoint._rows import (
    BlobRow,
    CheckpointRow,
    PruneInfo,
    PutPlan,
    StoredState,
    WriteRow,
    reachable_blobs,
)
from hone.checkpoint._saver import RowSaver
from hone.checkpoint._serde import Serializer

__all__ = ["InMemorySaver"]


@dataclass
class _Namespace:
    ids: list[str] = field(default_factory=list)  # sorted
    rows: dict[str, CheckpointRow] = field(default_factory=dict)
    blobs: dict[tuple[str, str], BlobRow] = field(default_factory=dict)  # (channel, blob_id)
    writes: dict[str, dict[tuple[str, int], WriteRow]] = field(default_factory=dict)


class _MemoryBackend:
    """Rows in dicts, one lock around every operation."""

    def __init__(self) -> None:
        self.threads: dict[str, dict[str, _Namespace]] = {}
        self.lock = threading.RLock()

    def _ns(self, thread_id: str, ns: str) -> _Namespace | None:
        return self.threads.get(thread_id, {}).get(ns)

    def write_checkpoint(self, thread_id: str, ns: str, plan: PutPlan) -> None:
        with self.lock:
            space = self.threads.setdefault(thread_id, {}).setdefault(ns, _Namespace())
            missing = {c for c, b in plan.required.items() if (c, b) not in space.blobs}
            row, blobs = plan.finalize(missing)
            for blob in blobs:
                space.blobs[(blob.channel, blob.blob_id)] = blob
            if row.checkpoint_id not in space.rows:
                bisect.insort(space.ids, row.checkpoint_id)
            space.rows[row.checkpoint_id] = row

    def read_checkpoint(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> CheckpointRow | None:
        with self.lock:
            space = self._ns(thread_id, ns)
            if space is None or not space.ids:
                return None
            return space.rows.get(space.ids[-1] if checkpoint_id is None else checkpoint_id)

    def read_state(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str | None,
        *,
        cached: Callable[[str, str], bool],
    ) -> StoredState | None:
        with self.lock:
            row = self.read_checkpoint(thread_id, ns, checkpoint_id)
            if row is None:
                return None
            refs = {c: b for c, (_, b) in row.refs.items() if not cached(c, b)}
            writes = self.read_writes(thread_id, ns, [row.checkpoint_id])
            return StoredState(
                row,
                self.read_chains(thread_id, ns, refs),
                writes.get(row.checkpoint_id, []),
            )

    def read_checkpoints(
        self, thread_id: str, ns: str, *, before: str | None, limit: int | None
    ) -> Iterator[CheckpointRow]:
        with self.lock:
            space = self._ns(thread_id, ns)
            if space is None:
                return iter(())
            end = len(space.ids) if before is None else bisect.bisect_left(space.ids, before)
            start = 0 if limit is None else max(0, end - limit)
            rows = [space.rows[i] for i in reversed(space.ids[start:end])]
        return iter(rows)

    def read_chains(
        self, thread_id: str, ns: str, refs: Mapping[str, str]
    ) -> dict[str, dict[str, BlobRow]]:
        out: dict[str, dict[str, BlobRow]] = {}
        with self.lock:
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

    def write_writes(
        self, thread_id: str, ns: str, checkpoint_id: str, rows: Sequence[WriteRow]
    ) -> None:
        with self.lock:
            space = self.threads.setdefault(thread_id, {}).setdefault(ns, _Namespace())
            stored = space.writes.setdefault(checkpoint_id, {})
            for row in rows:
                stored.setdefault((row.task_id, row.idx), row)

    def read_writes(
        self, thread_id: str, ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[WriteRow]]:
        with self.lock:
            space = self._ns(thread_id, ns)
            if space is None:
                return {}
            return {
                cid: list(space.writes[cid].values())
                for cid in checkpoint_ids
                if cid in space.writes
            }

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
            refs = (
                (ns, channel, blob_id)
                for ns, space in spaces.items()
                for row in space.rows.values()
                for channel, (_, blob_id) in row.refs.items()
            )
            bases = {
                (ns, channel, blob_id): blob.base_id
                for ns, space in spaces.items()
                for (channel, blob_id), blob in space.blobs.items()
            }
            keep = reachable_blobs(refs, bases)
            for ns, channel, blob_id in set(bases) - keep:
                del spaces[ns].blobs[(channel, blob_id)]
            return len(doomed)

    def close(self) -> None:
        pass


class InMemorySaver(RowSaver):
    """Checkpoints in process memory: for tests, notebooks and short-lived programs.

    Values are encoded like in the durable savers (see the module docstring). Pickle is
    allowed by default here, since bytes never leave the process; pass
    ``serializer=Serializer()`` to refuse what a database saver would refuse.
    """

    def __init__(
        self,
        *,
        serializer: Serializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> None:
        super().__init__(
            _MemoryBackend(),
            serializer=serializer if serializer is not None else Serializer(allow_pickle=True),
            schema_version=schema_version,
            migrations=migrations,
        )

    def __repr__(self) -> str:
        return "InMemorySaver()"

"""The saver logic every backend shares: delta encoding, loading, writes, retention.

:class:`RowSaver` turns checkpoints into the rows described in
:mod:`hone.checkpoint._rows` and back; a backend only stores rows. Savers are synchronous:
the graph executor calls them directly between super-steps, and their work (an insert of a
few small rows) is shorter than handing it to another thread would be.
"""

from __future__ import annotations

import builtins
import itertools
import logging
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from hone.checkpoint._cache import LRU, ValueCache, extends, snapshot
from hone.checkpoint._load import ChainReader, LazyValues
from hone.checkpoint._migration import (
    Migration,
    check_format_version,
    migrate,
    validate_migrations,
)
from hone.checkpoint._protocol import (
    FORMAT_VERSION,
    Checkpoint,
    CheckpointTuple,
    PendingWrite,
    RetentionPolicy,
)
from hone.checkpoint._retention import check_policy, choose_deletions
from hone.checkpoint._rows import BlobRow, CheckpointRow, StorageBackend, WriteRow
from hone.checkpoint._serde import Serializer
from hone.errors import CheckpointCorruptError

__all__ = ["RowSaver"]

logger = logging.getLogger(__name__)

#: Listed checkpoints whose pending writes are read in one query.
_LIST_PAGE = 100


class _BlobIds:
    """Blob id suffixes: a random salt per process and a counter (cheaper than drawing random
    bytes for every put). A forked child draws a salt of its own."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._salt = secrets.token_hex(4)
        self._counter = itertools.count()

    def next(self, checkpoint_id: str) -> str:
        return f"{checkpoint_id}.{self._salt}{next(self._counter):x}"


_blob_ids = _BlobIds()


def _as_dict(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return mapping if type(mapping) is dict else dict(mapping)


def _body(cp: Checkpoint, serde: Serializer) -> bytes:
    """The encoded versions, versions seen and metadata. Encoded at once, so the caller's
    dicts are used as they are (a copy only turns other mappings into dicts)."""
    seen = cp.versions_seen
    if type(seen) is not dict or not all(type(s) is dict for s in seen.values()):
        seen = {node: _as_dict(s) for node, s in seen.items()}
    body = {
        "versions": _as_dict(cp.channel_versions),
        "seen": seen,
        "metadata": _as_dict(cp.metadata),
    }
    return serde.dumps(body)


@dataclass
class _Plan:
    """The rows of one put (see :class:`hone.checkpoint._rows.PutPlan`)."""

    saver: RowSaver
    checkpoint: Checkpoint
    refs: dict[str, tuple[int, str]]
    blobs: dict[str, BlobRow]
    required: dict[str, str] = field(default_factory=dict)
    #: Id of the blobs this put writes: the checkpoint id and a random suffix, so that saving
    #: a checkpoint id again never overwrites a blob another checkpoint's delta builds on.
    blob_id: str = ""
    #: channel -> length of a prefix known to hold only immutable items (a cached base).
    immutable_prefix: dict[str, int] = field(default_factory=dict)
    #: The encoded body, made before the transaction (it does not depend on the rows).
    body: bytes = b""
    #: Whether a new blob holds a list (that the value cache may remember).
    has_lists: bool = False

    def finalize(self, missing: set[str]) -> tuple[CheckpointRow, list[BlobRow]]:
        cp = self.checkpoint
        for channel in missing:
            # The base or inherited blob was deleted meanwhile (prune, delete_thread in another
            # process): store the full value instead of pointing at nothing.
            logger.debug("blob for %r of %r is gone; storing it in full", channel, cp.id)
            value = cp.channel_values[channel]
            data = self.saver.serde.dumps(value)
            self.blobs[channel] = BlobRow(channel, self.blob_id, None, data)
            self.refs[channel] = (cp.channel_versions.get(channel, 0), self.blob_id)
        row = CheckpointRow(
            thread_id=cp.thread_id,
            ns=cp.ns,
            checkpoint_id=cp.id,
            parent_id=cp.parent_id,
            step=cp.step,
            source=cp.source,
            created_at=cp.created_at,
            format_version=FORMAT_VERSION,
            schema_version=self.saver.schema_version,
            refs=self.refs,
            body=self.body,
        )
        return row, list(self.blobs.values())


class RowSaver:
    """A :class:`~hone.checkpoint.Checkpointer` and :class:`~hone.checkpoint.ThreadAdmin`
    over a row-storage backend.

    Args:
        backend: where rows live.
        serializer: encodes values; defaults to a safe ``Serializer()`` (no pickle).
        schema_version: the version of your state schema (see :mod:`._migration`).
        migrations: upgrades from older schema versions, keyed by the version they upgrade.
    """

    def __init__(
        self,
        backend: StorageBackend,
        *,
        serializer: Serializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> None:
        migrations = dict(migrations or {})
        validate_migrations(schema_version, migrations)
        self._backend = backend
        self.serde = serializer if serializer is not None else Serializer()
        self.schema_version = schema_version
        self._migrations = migrations
        self._values = ValueCache()
        # (thread_id, ns) -> (checkpoint id, refs) of the last checkpoint put: a put's parent.
        self._last_refs: LRU[tuple[str, str], tuple[str, Mapping[str, tuple[int, str]]]] = LRU()

    # -- context management -------------------------------------------------------------

    def close(self) -> None:
        """Close the storage connections. The saver cannot be used afterwards."""
        self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- put ----------------------------------------------------------------------------

    def put(self, checkpoint: Checkpoint, *, new_versions: Mapping[str, int]) -> None:
        """Save a checkpoint, storing values only for channels in ``new_versions`` (and for
        channels whose version differs from the parent's); list values that extend the
        parent's value are stored as the appended items only."""
        cp = checkpoint
        parent_refs = self._parent_refs(cp)
        plan = _Plan(self, cp, {}, {}, blob_id=_blob_ids.next(cp.id), body=_body(cp, self.serde))
        for channel, value in cp.channel_values.items():
            version = cp.channel_versions.get(channel, 0)
            inherited = parent_refs.get(channel)
            if channel not in new_versions and inherited is not None and inherited[0] == version:
                plan.refs[channel] = inherited
                plan.required[channel] = inherited[1]
                continue
            plan.refs[channel] = (version, plan.blob_id)
            plan.blobs[channel] = self._new_blob(cp, channel, value, inherited, plan)
        self._backend.write_checkpoint(cp.thread_id, cp.ns, plan)
        # The plan's refs are not changed after the write; sharing them saves a copy.
        self._last_refs.put((cp.thread_id, cp.ns), (cp.id, plan.refs))
        if plan.has_lists:
            self._remember(cp, plan)

    def _parent_refs(self, cp: Checkpoint) -> Mapping[str, tuple[int, str]]:
        if cp.parent_id is None:
            return {}
        last = self._last_refs.get((cp.thread_id, cp.ns))
        if last is not None and last[0] == cp.parent_id:
            return last[1]
        row = self._backend.read_checkpoint(cp.thread_id, cp.ns, cp.parent_id)
        return {} if row is None else row.refs

    def _new_blob(
        self,
        cp: Checkpoint,
        channel: str,
        value: Any,
        parent: tuple[int, str] | None,
        plan: _Plan,
    ) -> BlobRow:
        if type(value) is not list:
            return BlobRow(channel, plan.blob_id, None, self.serde.dumps(value))
        plan.has_lists = True
        if parent is not None:
            base, cached = self._base_value(cp, channel, parent[1])
            if base is not None and extends(value, base):
                plan.required[channel] = parent[1]
                if cached:
                    plan.immutable_prefix[channel] = len(base)
                data = self.serde.dumps(value[len(base) :])
                return BlobRow(channel, plan.blob_id, parent[1], data)
        return BlobRow(channel, plan.blob_id, None, self.serde.dumps(value))

    def _base_value(
        self, cp: Checkpoint, channel: str, blob_id: str
    ) -> tuple[Sequence[Any] | None, bool]:
        """The value of a stored list blob, and whether it came from the cache."""
        cached = self._values.get(cp.thread_id, cp.ns, channel, blob_id)
        if cached is not None:
            return cached, True
        reader = ChainReader(self._backend, self.serde, self._values, cp.thread_id, cp.ns)
        try:
            value = reader.value(channel, blob_id)
        except CheckpointCorruptError:
            logger.warning("stored value of %r is unreadable; storing a full value", channel)
            return None, False
        return (value if type(value) is list else None), False

    def _remember(self, cp: Checkpoint, plan: _Plan) -> None:
        for channel, blob in plan.blobs.items():
            value = cp.channel_values[channel]
            if type(value) is not list:
                continue
            entry = snapshot(value, plan.immutable_prefix.get(channel, 0))
            if entry is not None:
                self._values.put(cp.thread_id, cp.ns, channel, blob.blob_id, entry)

    # -- pending writes -----------------------------------------------------------------

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
        """Save the writes of one finished task; a (task_id, idx) saved before is kept."""
        rows = [
            WriteRow(task_id, idx, task_path, channel, self.serde.dumps(value))
            for idx, (channel, value) in enumerate(writes)
        ]
        if rows:
            self._backend.write_writes(thread_id, ns, checkpoint_id, rows)

    # -- get / list ---------------------------------------------------------------------

    def get(
        self, thread_id: str, ns: str = "", checkpoint_id: str | None = None
    ) -> CheckpointTuple | None:
        """The given checkpoint (or the newest of the thread and namespace) with its pending
        writes, or None. Its row, values and writes are read in one snapshot, so a concurrent
        ``prune`` or ``delete_thread`` gives None or the whole checkpoint, never an error."""
        cached = self._values.get
        state = self._backend.read_state(
            thread_id,
            ns,
            checkpoint_id,
            cached=lambda c, b: cached(thread_id, ns, c, b) is not None,
        )
        if state is None:
            return None
        row = state.row
        reader = ChainReader(self._backend, self.serde, self._values, thread_id, ns)
        reader.add(state.chains)
        values = {
            channel: reader.value(channel, blob_id) for channel, (_, blob_id) in row.refs.items()
        }
        return self._tuple(row, values, state.writes)

    def list(
        self,
        thread_id: str,
        ns: str = "",
        *,
        before: str | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints of a thread and namespace, newest first; ``before`` excludes that id
        and newer ones.

        Values load lazily: ``channel_values`` of a listed checkpoint is a read-only mapping
        that rebuilds a channel's value on first read, sharing stored rows and decoded items
        with the other checkpoints of the same call. Listing N checkpoints reads N rows and
        their writes; reading all their values reads each stored blob once."""
        if limit is not None and limit <= 0:
            return
        reader = ChainReader(self._backend, self.serde, self._values, thread_id, ns)
        rows = self._backend.read_checkpoints(thread_id, ns, before=before, limit=limit)
        while page := builtins.list(itertools.islice(rows, _LIST_PAGE)):
            writes = self._backend.read_writes(thread_id, ns, [r.checkpoint_id for r in page])
            for row in page:
                values = LazyValues(row.refs, reader, row.checkpoint_id, self._exists(row))
                yield self._tuple(row, values, writes.get(row.checkpoint_id, []))

    def _exists(self, row: CheckpointRow) -> Callable[[], bool]:
        def exists() -> bool:
            now = self._backend.read_checkpoint(row.thread_id, row.ns, row.checkpoint_id)
            return now is not None

        return exists

    def _tuple(
        self, row: CheckpointRow, values: Mapping[str, Any], writes: Sequence[WriteRow]
    ) -> CheckpointTuple:
        what = f"checkpoint {row.checkpoint_id!r} of thread {row.thread_id!r}"
        check_format_version(row.format_version, what)
        body = self.serde.loads(row.body)
        if not isinstance(body, dict) or not {"versions", "seen", "metadata"} <= body.keys():
            raise CheckpointCorruptError(f"{what} has a malformed body")
        checkpoint = Checkpoint(
            id=row.checkpoint_id,
            thread_id=row.thread_id,
            ns=row.ns,
            parent_id=row.parent_id,
            step=row.step,
            source=row.source,  # type: ignore[arg-type]
            channel_values=values,
            channel_versions=body["versions"],
            versions_seen=body["seen"],
            metadata=body["metadata"],
            created_at=row.created_at,
            format_version=row.format_version,
        )
        pending = tuple(
            PendingWrite(w.task_id, w.task_path, w.channel, self.serde.loads(w.data), w.idx)
            for w in writes
        )
        if row.schema_version != self.schema_version:
            checkpoint, pending = migrate(
                checkpoint,
                pending,
                from_version=row.schema_version,
                to_version=self.schema_version,
                migrations=self._migrations,
            )
        return CheckpointTuple(checkpoint, pending)

    # -- thread admin -------------------------------------------------------------------

    def list_threads(self) -> builtins.list[str]:
        """Ids of all threads with at least one checkpoint, sorted."""
        return self._backend.thread_ids()

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread (all namespaces)."""
        self._backend.delete_thread(thread_id)
        self._forget(thread_id)

    def prune(self, thread_id: str, policy: RetentionPolicy) -> int:
        """Delete the thread's checkpoints outside ``policy`` (rule: :mod:`._retention`) and
        the values no kept checkpoint needs; return how many checkpoints were deleted."""
        check_policy(policy)
        deleted = self._backend.prune(thread_id, lambda infos: choose_deletions(infos, policy))
        self._forget(thread_id)
        return deleted

    def _forget(self, thread_id: str) -> None:
        self._values.forget(thread_id)
        self._last_refs.forget(lambda key: key[0] == thread_id)

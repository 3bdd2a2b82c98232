"""The saver logic every backend shares: LangGraph's saver protocol over hone's rows.

:class:`RowSaver` turns checkpoints into the rows described in :mod:`hone.checkpoint._rows`
and back; a backend only stores rows. Its methods are synchronous: one ``put`` is a short
transaction on a few small rows. The async twins (:class:`hone.checkpoint._aio.AsyncTwins`)
call them directly on the event loop, or in a worker thread for a saver that waits on a
server.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Self, cast

from hone.checkpoint._aio import AsyncTwins
from hone.checkpoint._body import checkpoint_row, checkpoint_tuple, write_rows
from hone.checkpoint._cache import LRU, ValueCache, extends, immutable_items
from hone.checkpoint._config import checkpoint_metadata, make_config, matches, target
from hone.checkpoint._load import ChainReader, LazyValues, read_chain
from hone.checkpoint._migration import (
    Migration,
    validate_migrations,
)
from hone.checkpoint._protocol import (
    ChannelVersion,
    Checkpoint,
    CheckpointConfig,
    CheckpointMetadata,
    CheckpointTuple,
    RetentionPolicy,
    TaskWrites,
)
from hone.checkpoint._put import PutPlan
from hone.checkpoint._retention import check_policy, choose_deletions
from hone.checkpoint._rows import (
    BlobRow,
    CheckpointRow,
    ReadTx,
    Ref,
    SegmentRow,
    StorageBackend,
    WriteRow,
)
from hone.checkpoint._serde import Serializer, TypedSerializer, as_serializer
from hone.errors import CheckpointCorruptError, ConfigError

__all__ = ["RowSaver"]

logger = logging.getLogger(__name__)

#: Listed checkpoints whose pending writes are read in one query.
_LIST_PAGE = 100


class _Read:
    """What one snapshot read of a checkpoint returns."""

    def __init__(
        self,
        row: CheckpointRow,
        blobs: dict[str, dict[str, BlobRow]],
        segments: list[SegmentRow],
        writes: list[WriteRow],
    ) -> None:
        self.row, self.blobs, self.segments, self.writes = row, blobs, segments, writes


class RowSaver(AsyncTwins):
    """A saver (:class:`~hone.checkpoint.Checkpointer` and
    :class:`~hone.checkpoint.ThreadAdmin`) over a row-storage backend.

    Args:
        backend: where rows live.
        serde: encodes values: a :class:`~hone.checkpoint.Serializer` (default: a safe
            ``Serializer()``, no pickle), or a LangGraph serializer (see
            :func:`~hone.checkpoint.as_serializer`: LangGraph's ``EncryptedSerializer``
            encrypts every stored value with its cipher).
        schema_version: the version of your state schema (see :mod:`._migration`).
        migrations: upgrades from older schema versions, keyed by the version they upgrade.
    """

    def __init__(
        self,
        backend: StorageBackend,
        *,
        serde: Serializer | TypedSerializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> None:
        migrations = dict(migrations or {})
        validate_migrations(schema_version, migrations)
        self._backend = backend
        self.serde = as_serializer(serde)
        self.schema_version = schema_version
        self._migrations = migrations
        self._values = ValueCache()
        # (thread_id, ns) -> (checkpoint id, refs) of the last checkpoint put: a put's parent.
        self._last_refs: LRU[tuple[str, str], tuple[str, Mapping[str, Ref]]] = LRU()

    # -- lifecycle ------------------------------------------------------------------------

    def setup(self) -> None:
        """Create the storage's tables if they do not exist (savers also do it on first
        use); safe to call again and from several processes."""

    def close(self) -> None:
        """Close the storage connections. The saver cannot be used afterwards."""
        self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # -- put ------------------------------------------------------------------------------

    def put(
        self,
        config: Mapping[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: Mapping[str, ChannelVersion],
        *,
        writes: Sequence[TaskWrites] = (),
    ) -> CheckpointConfig:
        """Save a checkpoint after the one ``config`` names; see
        :meth:`hone.checkpoint.Checkpointer.put`."""
        where = target(config, "put")
        thread_id, ns, parent_id = where.thread_id, where.ns or "", where.checkpoint_id
        if writes and parent_id is None:
            raise ConfigError(
                "put(writes=...) saves writes against the parent checkpoint, but the config "
                "names none (no checkpoint_id)"
            )
        meta = checkpoint_metadata(config, metadata)
        plan = self._plan(thread_id, ns, parent_id, checkpoint, meta, new_versions)
        for task_id, task_path, task_writes in writes:  # TaskWrites, or plain 3-tuples
            rows = write_rows(self.serde, task_id, task_path, task_writes, plan.dumps)
            if rows:
                plan.writes.append((cast(str, parent_id), rows))
        self._backend.write(thread_id, plan.execute)
        # The plan's refs are not changed after the write; sharing them saves a copy.
        self._last_refs.put((thread_id, ns), (checkpoint["id"], plan.refs))
        self._remember(plan)
        return make_config(thread_id, ns, checkpoint["id"])

    def _plan(
        self,
        thread_id: str,
        ns: str,
        parent_id: str | None,
        cp: Checkpoint,
        meta: Mapping[str, Any],
        new_versions: Mapping[str, ChannelVersion],
    ) -> PutPlan:
        row = checkpoint_row(
            self.serde,
            thread_id=thread_id,
            ns=ns,
            parent_id=parent_id,
            checkpoint=cp,
            metadata=meta,
            schema_version=self.schema_version,
        )
        values = cp["channel_values"]
        # The plan fills the row's references in place (the row is new and not shared yet).
        plan = PutPlan(self.serde, thread_id, ns, row, values, refs=cast(dict[str, Ref], row.refs))
        parent = self._parent_refs(thread_id, ns, parent_id)
        for channel, version in cp["channel_versions"].items():
            inherited = parent.get(channel)
            if (
                channel not in new_versions
                and inherited is not None
                and inherited.version == version
            ):
                plan.refs[channel] = inherited
                if inherited.length is None:
                    plan.blobs_needed[channel] = inherited.key
                else:
                    plan.chains_needed[channel] = inherited
                continue
            if channel not in values:
                continue  # written without a value (or no value to store): none stored
            value = values[channel]
            if type(value) is list and inherited is not None and inherited.length is not None:
                base = self._base(thread_id, ns, channel, inherited)
                if base is not None and extends(value, base):
                    plan.bases[channel] = base
                    plan.append(channel, version, inherited, value[len(base) :])
                    continue
            plan.full_value(channel, version, value)
        return plan

    def _parent_refs(self, thread_id: str, ns: str, parent_id: str | None) -> Mapping[str, Ref]:
        if parent_id is None:
            return {}
        last = self._last_refs.get((thread_id, ns))
        if last is not None and last[0] == parent_id:
            return last[1]
        row = self._backend.read(lambda tx: tx.checkpoint(thread_id, ns, parent_id), snapshot=False)
        return {} if row is None else row.refs

    def _base(self, thread_id: str, ns: str, channel: str, ref: Ref) -> Sequence[Any] | None:
        """The items of the stored list ``ref`` names, or None if it cannot be read."""
        assert ref.length is not None
        cached = self._values.base(thread_id, ns, channel, ref.key, ref.length)
        if cached is not None:
            return cached
        reader = ChainReader(self._backend, self.serde, self._values, thread_id, ns)
        try:
            value: list[Any] = reader.value(channel, ref)
        except CheckpointCorruptError:
            logger.warning("stored value of %r is unreadable; storing a full value", channel)
            return None
        return value

    def _remember(self, plan: PutPlan) -> None:
        """Cache each stored list, to find the next put's delta base without reading it."""
        for channel, outcome in plan.outcomes.items():
            value = plan.values.get(channel)
            if type(value) is not list or len(value) != outcome.length:
                continue
            if immutable_items(value):
                self._values.put(
                    plan.thread_id, plan.ns, channel, outcome.chain_id, tuple(value), private=False
                )
                continue
            add = plan.appends.get(channel)
            base = plan.bases.get(channel)
            if add is not None and base is not None and not outcome.whole:
                items = (*base, *self.serde.loads(add.data))
            elif outcome.whole:
                items = tuple(self.serde.loads(plan.new_chains[channel]))
            else:
                continue
            self._values.put(
                plan.thread_id, plan.ns, channel, outcome.chain_id, items, private=True
            )

    # -- pending writes -------------------------------------------------------------------

    def put_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Save the writes of one task; see :meth:`hone.checkpoint.Checkpointer.put_writes`."""
        where = target(config, "put_writes")
        if where.checkpoint_id is None:
            raise ConfigError(
                "put_writes needs the checkpoint the writes follow: "
                'config["configurable"]["checkpoint_id"]'
            )
        rows = write_rows(self.serde, task_id, task_path, writes)
        if not rows:
            return
        thread_id, ns, checkpoint_id = where.thread_id, where.ns or "", where.checkpoint_id
        self._backend.write(thread_id, lambda tx: tx.put_writes(thread_id, ns, checkpoint_id, rows))

    # -- get / list -----------------------------------------------------------------------

    def get(self, config: Mapping[str, Any]) -> Checkpoint | None:
        """The checkpoint ``config`` names (or the newest), or None."""
        found = self.get_tuple(config)
        return None if found is None else found.checkpoint

    def get_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (or the newest of its thread and namespace) with
        its metadata, parent and pending writes, or None. Its row, values and writes are
        read in one snapshot, so a concurrent ``prune`` or ``delete_thread`` gives None or
        the whole checkpoint, never an error."""
        where = target(config, "get_tuple")
        thread_id, ns = where.thread_id, where.ns or ""
        shared = self._values.shared

        def read(tx: ReadTx) -> _Read | None:
            row = tx.checkpoint(thread_id, ns, where.checkpoint_id)
            if row is None:
                return None
            blobs = {c: r.key for c, r in row.refs.items() if r.length is None}
            segments: list[SegmentRow] = []
            for channel, ref in row.refs.items():
                n = ref.length
                if n and shared(thread_id, ns, channel, ref.key, n) is None:
                    segments += read_chain(tx, thread_id, ns, channel, ref.key, n)
            writes = tx.writes(thread_id, ns, [row.checkpoint_id])
            chains = tx.blob_chains(thread_id, ns, blobs) if blobs else {}
            return _Read(row, chains, segments, writes.get(row.checkpoint_id, []))

        state = self._backend.read(read, snapshot=True)
        if state is None:
            return None
        reader = ChainReader(self._backend, self.serde, self._values, thread_id, ns)
        reader.add_blobs(state.blobs)
        reader.add_segments(state.segments)
        values = {channel: reader.value(channel, ref) for channel, ref in state.row.refs.items()}
        for channel, ref in state.row.refs.items():
            # The next put (a resumed run) finds its delta base here instead of reading it.
            items = reader.shared_prefix(channel, ref)
            if items is not None:
                self._values.put(thread_id, ns, channel, ref.key, items, private=False)
        found = self._tuple(state.row, values, state.writes)
        if where.checkpoint_id is not None and isinstance(config, dict):
            # As LangGraph's savers: a config that names the checkpoint comes back as given.
            found = found._replace(config=cast(CheckpointConfig, config))
        return found

    def list(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first; see :meth:`hone.checkpoint.Checkpointer.list`.

        Values load lazily: ``channel_values`` of a listed checkpoint is a dict that rebuilds
        a channel's value on first read, sharing stored rows and decoded items with the
        other checkpoints of the same call. Listing N checkpoints reads N rows and their
        writes; reading all their values reads each stored row once."""
        if limit is not None and limit <= 0:
            return
        where = None if config is None else target(config, "list")
        before_id = None
        if before is not None:
            conf = before.get("configurable")
            before_id = conf.get("checkpoint_id") if isinstance(conf, Mapping) else None
        rows = self._backend.read(
            lambda tx: tx.checkpoints(
                None if where is None else where.thread_id,
                None if where is None else where.ns,
                checkpoint_id=None if where is None else where.checkpoint_id,
                before=before_id,
                limit=None if filter else limit,
            ),
            snapshot=False,
        )
        readers: dict[tuple[str, str], ChainReader] = {}
        left = limit
        for start in range(0, len(rows), _LIST_PAGE):
            page = rows[start : start + _LIST_PAGE]
            writes = self._page_writes(page)
            for row in page:
                key = (row.thread_id, row.ns)
                reader = readers.get(key)
                if reader is None:
                    reader = readers[key] = ChainReader(
                        self._backend, self.serde, self._values, *key
                    )
                values = LazyValues(row.refs, reader, row.checkpoint_id, self._exists(row))
                found = self._tuple(row, values, writes.get((*key, row.checkpoint_id), []))
                if filter and not matches(found.metadata, filter):
                    continue
                yield found
                if left is not None:
                    left -= 1
                    if left <= 0:
                        return

    def _page_writes(
        self, page: Sequence[CheckpointRow]
    ) -> dict[tuple[str, str, str], builtins.list[WriteRow]]:
        groups: dict[tuple[str, str], builtins.list[str]] = {}
        for row in page:
            groups.setdefault((row.thread_id, row.ns), []).append(row.checkpoint_id)

        def read(tx: ReadTx) -> dict[tuple[str, str, str], builtins.list[WriteRow]]:
            out = {}
            for (thread_id, ns), ids in groups.items():
                for cid, rows in tx.writes(thread_id, ns, ids).items():
                    out[(thread_id, ns, cid)] = rows
            return out

        return self._backend.read(read, snapshot=len(groups) > 1)

    def _exists(self, row: CheckpointRow) -> Callable[[], bool]:
        def exists() -> bool:
            now = self._backend.read(
                lambda tx: tx.checkpoint(row.thread_id, row.ns, row.checkpoint_id),
                snapshot=False,
            )
            return now is not None

        return exists

    def _tuple(
        self, row: CheckpointRow, values: dict[str, Any], writes: Sequence[WriteRow]
    ) -> CheckpointTuple:
        return checkpoint_tuple(
            self.serde,
            row,
            values,
            writes,
            schema_version=self.schema_version,
            migrations=self._migrations,
        )

    # -- versions -------------------------------------------------------------------------

    def get_next_version(self, current: ChannelVersion | None, channel: None = None) -> Any:
        """The version after ``current``: 1, 2, 3, ... (a string version written by another
        runtime continues as a zero-padded string, so versions keep sorting)."""
        if current is None:
            return 1
        if isinstance(current, str):
            return f"{int(current.split('.')[0]) + 1:032}"
        return current + 1

    # -- thread admin ---------------------------------------------------------------------

    def list_threads(self) -> builtins.list[str]:
        """Ids of all threads with at least one checkpoint, sorted."""
        return self._backend.thread_ids()

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread (all namespaces)."""
        self._backend.delete_thread(str(thread_id))
        self._forget(str(thread_id))

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

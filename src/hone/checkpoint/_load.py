"""Rebuilding channel values from stored rows: once per row, lazily, in bounded reads.

A :class:`ChainReader` serves the checkpoints of one ``get`` or ``list`` call in one thread
and namespace. It keeps what it has read and decoded, so the checkpoints of a history that
share a chain read each segment once, and it decodes each row once when its items are
immutable (messages, frozen models, scalars) and can be shared between the values it
builds. The longest prefix of a chain it has built serves every shorter value of that chain
as a slice: listing a history newest first reads each stored item once.

Values made of mutable items (lists of dicts, ...) are decoded afresh for every checkpoint,
so that changing one checkpoint's value never changes another's.

:class:`LazyValues` is the ``channel_values`` of a listed checkpoint: a ``dict`` that
rebuilds a channel's value the first time it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hone.checkpoint._cache import ValueCache, immutable_items
from hone.checkpoint._rows import BlobRow, ReadTx, Ref, SegmentRow, StorageBackend
from hone.checkpoint._serde import Serializer
from hone.errors import CheckpointCorruptError, CheckpointNotFoundError

__all__ = ["ChainReader", "LazyValues", "MissingBlobError", "read_chain"]


class MissingBlobError(CheckpointCorruptError):
    """A value a checkpoint refers to is not stored (deleted meanwhile, or never written)."""


def read_chain(
    tx: ReadTx, thread_id: str, ns: str, channel: str, chain_id: str, n: int
) -> list[SegmentRow]:
    """The segments holding the first ``n`` items of a chain, the chains it was forked from
    first: one range query per chain."""
    out: list[list[SegmentRow]] = []
    seen: set[str] = set()
    while n > 0 and chain_id not in seen:
        seen.add(chain_id)
        rows = tx.segments(thread_id, ns, channel, chain_id, end=n)
        out.append(rows)
        if not rows or rows[0].base_id is None or rows[0].base_len <= 0:
            break
        chain_id, n = rows[0].base_id, min(n, rows[0].base_len)
    return [row for rows in reversed(out) for row in rows]


class ChainReader:
    """Rebuilds the values of one thread and namespace; see the module docstring."""

    def __init__(
        self,
        backend: StorageBackend,
        serde: Serializer,
        values: ValueCache,
        thread_id: str,
        ns: str,
    ) -> None:
        self._backend, self._serde, self._values = backend, serde, values
        self.thread_id, self.ns = thread_id, ns
        self._blobs: dict[tuple[str, str], BlobRow] = {}
        #: (channel, chain id) -> start -> segment, as read.
        self._segments: dict[tuple[str, str], dict[int, SegmentRow]] = {}
        #: (channel, blob id or (chain, start, end)) -> decoded data whose items may be shared.
        self._shared: dict[tuple[str, Any], Any] = {}
        #: (channel, blob id) -> length of the (format-1) list value at that blob.
        self._lengths: dict[tuple[str, str], int] = {}
        #: channel -> (the last list built from format-1 deltas, the blob ids on its chain)
        self._built: dict[str, tuple[tuple[Any, ...], set[str]]] = {}
        #: (channel, chain id) -> the longest prefix built, when its items may be shared.
        self._prefix: dict[tuple[str, str], tuple[Any, ...]] = {}

    # -- rows read elsewhere ------------------------------------------------------------

    def add_blobs(self, chains: Mapping[str, Mapping[str, BlobRow]]) -> None:
        """Remember blob rows read elsewhere (in a snapshot with their checkpoint)."""
        for channel, blobs in chains.items():
            for blob_id, blob in blobs.items():
                self._blobs[(channel, blob_id)] = blob

    def add_segments(self, rows: list[SegmentRow]) -> None:
        """Remember segment rows read elsewhere."""
        for row in rows:
            self._segments.setdefault((row.channel, row.chain_id), {})[row.start] = row

    def forget(self, channel: str) -> None:
        """Drop what is known about a channel's rows (before reading them again)."""
        for key in [k for k in self._blobs if k[0] == channel]:
            del self._blobs[key]
        for key in [k for k in self._segments if k[0] == channel]:
            del self._segments[key]
        self._built.pop(channel, None)

    # -- values -------------------------------------------------------------------------

    def value(self, channel: str, ref: Ref) -> Any:
        """The value a reference names: a new object, safe for the caller to change.

        Raises:
            MissingBlobError: a row it needs is not stored.
            CheckpointCorruptError: a stored row cannot be decoded.
        """
        if ref.length is None:
            return self._blob_value(channel, ref.key)
        return self._list_value(channel, ref.key, ref.length)

    def shared_prefix(self, channel: str, ref: Ref) -> tuple[Any, ...] | None:
        """The items of a list value this reader built, when they are immutable (and so
        may be shared); None otherwise."""
        if ref.length is None:
            return None
        prefix = self._prefix.get((channel, ref.key))
        if prefix is None or len(prefix) < ref.length:
            return None
        return prefix if len(prefix) == ref.length else prefix[: ref.length]

    def _list_value(self, channel: str, chain_id: str, n: int) -> list[Any]:
        if n == 0:
            return []
        cached = self._values.shared(self.thread_id, self.ns, channel, chain_id, n)
        if cached is not None:
            return list(cached[:n])
        prefix = self._prefix.get((channel, chain_id))
        if prefix is not None and len(prefix) >= n:
            return list(prefix[:n])
        rows = self._known_rows(channel, chain_id, n)
        if rows is None:
            fetched = self._backend.read(
                lambda tx: read_chain(tx, self.thread_id, self.ns, channel, chain_id, n),
                snapshot=True,
            )
            self.add_segments(fetched)
            rows = self._known_rows(channel, chain_id, n)
        if rows is None:
            raise MissingBlobError(
                f"stored list {chain_id!r} of channel {channel!r} is missing or incomplete "
                f"(its first {n} items are needed)"
            )
        value: list[Any] = []
        shared = True
        for row in rows:
            items, items_shared = self._decode_segment(row)
            if len(items) != row.end - row.start or len(value) < row.start:
                raise CheckpointCorruptError(
                    f"segment [{row.start}, {row.end}) of list {row.chain_id!r} of channel "
                    f"{channel!r} holds {len(items)} items after {len(value)}"
                )
            # A fork's first segment starts where it left its base chain: drop the base's
            # items from there on.
            del value[row.start :]
            value.extend(items)
            shared = shared and items_shared
        if shared:
            self._prefix[(channel, chain_id)] = tuple(value)
        del value[n:]
        return value

    def _known_rows(self, channel: str, chain_id: str, n: int) -> list[SegmentRow] | None:
        """The known segments that tile items [0, n) of a chain, bases first; None when
        some are not known."""
        parts: list[list[SegmentRow]] = []
        seen: set[str] = set()
        while n > 0:
            if chain_id in seen:
                raise CheckpointCorruptError(f"the forks of list {chain_id!r} form a cycle")
            seen.add(chain_id)
            known = self._segments.get((channel, chain_id))
            if not known:
                return None
            first = known[min(known)]
            start = first.base_len if first.base_id is not None else 0
            rows: list[SegmentRow] = []
            pos = start
            while pos < n:
                row = known.get(pos)
                if row is None or row.end <= pos:
                    return None
                rows.append(row)
                pos = row.end
            parts.append(rows)
            if first.base_id is None or start == 0:
                break
            chain_id, n = first.base_id, start
        return [row for rows in reversed(parts) for row in rows]

    def _decode_segment(self, row: SegmentRow) -> tuple[list[Any], bool]:
        key = (row.channel, (row.chain_id, row.start, row.end))
        data = self._shared.get(key)
        if data is not None:
            return data, True
        data = self._serde.loads(row.data)
        if type(data) is not list:
            raise CheckpointCorruptError(f"a segment of list {row.chain_id!r} is not a list")
        if immutable_items(data):
            self._shared[key] = data
            return data, True
        return data, False

    # -- format-1 blobs (full values and delta chains) ----------------------------------

    def _blob_value(self, channel: str, blob_id: str) -> Any:
        built = self._built.get(channel)
        if built is not None and blob_id in built[1]:
            return list(built[0][: self._lengths[(channel, blob_id)]])
        return self._replay(channel, self._chain(channel, blob_id))

    def _chain(self, channel: str, blob_id: str) -> list[BlobRow]:
        """The blobs from ``blob_id`` back to a full value (or to a blob on the last built
        chain), reading those not known yet in one query."""
        chain: list[BlobRow] = []
        built = self._built.get(channel)
        current: str | None = blob_id
        fetched = False
        while current is not None:
            if chain and built is not None and current in built[1]:
                break  # the rest is a prefix of the last built value
            blob = self._blobs.get((channel, current))
            if blob is None and not fetched:
                fetched = True
                self.add_blobs(self._read_blobs({channel: current}))
                blob = self._blobs.get((channel, current))
            if blob is None:
                raise MissingBlobError(
                    f"stored value {current!r} of channel {channel!r} is missing or its delta "
                    "chain is broken"
                )
            if len(chain) > len(self._blobs):
                raise CheckpointCorruptError(f"the delta chain of {channel!r} has a cycle")
            chain.append(blob)
            current = blob.base_id
        return chain

    def _read_blobs(self, wanted: dict[str, str]) -> dict[str, dict[str, BlobRow]]:
        return self._backend.read(
            lambda tx: tx.blob_chains(self.thread_id, self.ns, wanted), snapshot=False
        )

    def _replay(self, channel: str, chain: list[BlobRow]) -> Any:
        """Replay a chain (newest first): the value at its root, then each delta's items."""
        root = chain[-1]
        if root.base_id is None:
            data, shared = self._decode_blob(channel, root)
            if type(data) is not list:
                if len(chain) > 1:
                    raise CheckpointCorruptError(f"the base value of {channel!r} is not a list")
                return data
            value = list(data) if shared else data
            self._lengths[(channel, root.blob_id)] = len(value)
            deltas = chain[-2::-1]
        else:  # the root's base lies on the last built chain
            value = list(self._built[channel][0][: self._lengths[(channel, root.base_id)]])
            shared, deltas = True, chain[::-1]
        for delta in deltas:
            items, items_shared = self._decode_blob(channel, delta)
            if type(items) is not list:
                raise CheckpointCorruptError(
                    f"delta {delta.blob_id!r} of {channel!r} is not a list"
                )
            value.extend(items)
            shared = shared and items_shared
            self._lengths[(channel, delta.blob_id)] = len(value)
        if shared:
            self._built[channel] = (tuple(value), self._ancestors(channel, chain))
        return value

    def _ancestors(self, channel: str, chain: list[BlobRow]) -> set[str]:
        """The blob ids of a chain and of every base below it."""
        ids = {blob.blob_id for blob in chain}
        current = chain[-1].base_id
        while current is not None and current not in ids:
            ids.add(current)
            blob = self._blobs.get((channel, current))
            current = None if blob is None else blob.base_id
        return ids

    def _decode_blob(self, channel: str, blob: BlobRow) -> tuple[Any, bool]:
        """Decoded data, and whether its items may be shared between values."""
        key = (channel, blob.blob_id)
        data = self._shared.get(key)
        if data is not None:
            return data, True
        data = self._serde.loads(blob.data)
        if type(data) is list and immutable_items(data):
            self._shared[key] = data
            return data, True
        return data, False


class LazyValues(dict[str, Any]):
    """Channel values of a listed checkpoint: a ``dict`` that rebuilds each value on first
    read.

    Keys, length and membership come from the stored references without reading values.
    Reading a value loads that channel; anything that needs every value (``items()``,
    ``values()``, ``==``, ``repr()``, ``copy()``, pickling, any change) loads them all first,
    after which it is an ordinary dict. ``copy()``, ``copy.copy`` and pickling give plain
    dicts. Reading a value of a checkpoint deleted since it was listed raises
    :class:`~hone.errors.CheckpointNotFoundError`.
    """

    __slots__ = ("_exists", "_id", "_pending", "_reader", "_refs")

    def __init__(
        self,
        refs: Mapping[str, Ref],
        reader: ChainReader,
        checkpoint_id: str,
        exists: Callable[[], bool],
    ) -> None:
        super().__init__()
        self._refs, self._reader, self._id, self._exists = refs, reader, checkpoint_id, exists
        self._pending: set[str] = set(refs)

    # -- loading ------------------------------------------------------------------------

    def _load(self, channel: str) -> Any:
        ref = self._refs[channel]
        try:
            value = self._reader.value(channel, ref)
        except MissingBlobError:
            if not self._exists():
                raise CheckpointNotFoundError(
                    f"checkpoint {self._id!r} of thread {self._reader.thread_id!r} was deleted "
                    "after it was listed"
                ) from None
            self._reader.forget(channel)  # read the rows again, once
            value = self._reader.value(channel, ref)
        dict.__setitem__(self, channel, value)
        self._pending.discard(channel)
        return value

    def _load_all(self) -> None:
        if not self._pending:
            return
        for channel in self._refs:
            if channel in self._pending:
                self._load(channel)
        # Values loaded out of order: restore the stored order of keys.
        items = [(channel, dict.__getitem__(self, channel)) for channel in self._refs]
        dict.clear(self)
        dict.update(self, items)

    # -- reads that need one value or none ----------------------------------------------

    def __getitem__(self, channel: str) -> Any:
        if channel in self._pending:
            return self._load(channel)
        return dict.__getitem__(self, channel)

    def get(self, channel: str, default: Any = None) -> Any:
        """The value of ``channel``, or ``default``."""
        if channel in self._pending:
            return self._load(channel)
        return dict.get(self, channel, default)

    def __contains__(self, channel: object) -> bool:
        return channel in self._pending or dict.__contains__(self, channel)

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs) if self._pending else dict.__iter__(self)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._refs)) if self._pending else dict.__reversed__(self)

    def __len__(self) -> int:
        return len(self._refs) if self._pending else dict.__len__(self)

    def keys(self) -> Any:
        """The channel names (no value is read)."""
        return self._refs.keys() if self._pending else dict.keys(self)

    # -- reads that need every value ----------------------------------------------------

    def values(self) -> Any:
        """Every value (all are loaded)."""
        self._load_all()
        return dict.values(self)

    def items(self) -> Any:
        """Every (channel, value) pair (all are loaded)."""
        self._load_all()
        return dict.items(self)

    def copy(self) -> dict[str, Any]:
        """A plain dict of every value."""
        self._load_all()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._load_all()
        if isinstance(other, LazyValues):
            other._load_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

    def __or__(self, other: Any) -> Any:
        return self.copy() | other

    def __ror__(self, other: Any) -> Any:
        self._load_all()
        return other | self.copy()

    def __repr__(self) -> str:
        self._load_all()
        return dict.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (self.copy(),))

    # -- changes (every value is loaded first) ------------------------------------------

    def __setitem__(self, channel: str, value: Any) -> None:
        self._load_all()
        dict.__setitem__(self, channel, value)

    def __delitem__(self, channel: str) -> None:
        self._load_all()
        dict.__delitem__(self, channel)

    def __ior__(self, other: Any) -> Any:
        self._load_all()
        dict.update(self, other)
        return self

    def pop(self, *args: Any) -> Any:
        """Remove a channel and return its value (``dict.pop``)."""
        self._load_all()
        return dict.pop(self, *args)

    def popitem(self) -> tuple[str, Any]:
        """Remove and return the last (channel, value) pair."""
        self._load_all()
        return dict.popitem(self)

    def setdefault(self, channel: str, default: Any = None) -> Any:
        """``dict.setdefault``."""
        self._load_all()
        return dict.setdefault(self, channel, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """``dict.update``."""
        self._load_all()
        dict.update(self, *args, **kwargs)

    def clear(self) -> None:
        """Remove every channel."""
        self._pending.clear()
        dict.clear(self)

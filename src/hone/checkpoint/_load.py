"""Rebuilding channel values from stored blobs: once per blob, lazily, and in O(N) rows.

A :class:`ChainReader` serves the checkpoints of one ``get`` or ``list`` call. It keeps every
blob row it has read, so the checkpoints of a history that share a delta chain read each row
once, and it decodes each blob once when its items are immutable (messages, frozen models,
scalars) and can be shared between the values it builds. When it has built a list, it keeps
it with the set of blobs on its chain: a value whose blob lies on that chain (an older
checkpoint of the same history, listed newest first) is a slice of it, not a replay.

Values made of mutable items (lists of dicts, ...) are decoded afresh for every checkpoint,
so that changing one checkpoint's value never changes another's.

:class:`LazyValues` is the ``channel_values`` of a listed checkpoint: a read-only mapping
that rebuilds a channel's value the first time it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hone.checkpoint._cache import ValueCache, immutable_items
from hone.checkpoint._rows import BlobRow, StorageBackend
from hone.checkpoint._serde import Serializer
from hone.errors import CheckpointCorruptError, CheckpointNotFoundError

__all__ = ["ChainReader", "LazyValues", "MissingBlobError"]


class MissingBlobError(CheckpointCorruptError):
    """A blob a checkpoint refers to is not stored (deleted meanwhile, or never written)."""


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
        #: (channel, blob id) -> decoded data whose items may be shared.
        self._shared: dict[tuple[str, str], Any] = {}
        #: (channel, blob id) -> length of the list value at that blob.
        self._lengths: dict[tuple[str, str], int] = {}
        #: channel -> (the last list built, the blob ids on its chain)
        self._built: dict[str, tuple[tuple[Any, ...], set[str]]] = {}

    def add(self, chains: Mapping[str, Mapping[str, BlobRow]]) -> None:
        """Remember blob rows read elsewhere (in a snapshot with their checkpoint)."""
        for channel, blobs in chains.items():
            for blob_id, blob in blobs.items():
                self._blobs[(channel, blob_id)] = blob

    def value(self, channel: str, blob_id: str) -> Any:
        """The value of a stored blob: a new object, safe for the caller to change.

        Raises:
            MissingBlobError: a blob on its chain is not stored.
            CheckpointCorruptError: a stored blob cannot be decoded.
        """
        cached = self._values.get(self.thread_id, self.ns, channel, blob_id)
        if cached is not None:
            return list(cached)
        built = self._built.get(channel)
        if built is not None and blob_id in built[1]:
            return list(built[0][: self._lengths[(channel, blob_id)]])
        chain = self._chain(channel, blob_id)
        return self._replay(channel, chain)

    def forget(self, channel: str) -> None:
        """Drop what is known about a channel's blobs (before reading them again)."""
        for key in [k for k in self._blobs if k[0] == channel]:
            del self._blobs[key]
        self._built.pop(channel, None)

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
                self.add(self._backend.read_chains(self.thread_id, self.ns, {channel: current}))
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

    def _replay(self, channel: str, chain: list[BlobRow]) -> Any:
        """Replay a chain (newest first): the value at its root, then each delta's items."""
        root = chain[-1]
        if root.base_id is None:
            data, shared = self._decode(channel, root)
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
            items, items_shared = self._decode(channel, delta)
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

    def _decode(self, channel: str, blob: BlobRow) -> tuple[Any, bool]:
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


class LazyValues(Mapping[str, Any]):
    """Channel values of a listed checkpoint, each rebuilt on first read.

    Reading a value of a checkpoint deleted since it was listed raises
    :class:`~hone.errors.CheckpointNotFoundError`.
    """

    __slots__ = ("_exists", "_id", "_loaded", "_reader", "_refs")

    def __init__(
        self,
        refs: Mapping[str, tuple[int, str]],
        reader: ChainReader,
        checkpoint_id: str,
        exists: Callable[[], bool],
    ) -> None:
        self._refs, self._reader, self._id, self._exists = refs, reader, checkpoint_id, exists
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, channel: str) -> Any:
        loaded = self._loaded
        if channel in loaded:
            return loaded[channel]
        blob_id = self._refs[channel][1]
        try:
            value = self._reader.value(channel, blob_id)
        except MissingBlobError:
            if not self._exists():
                raise CheckpointNotFoundError(
                    f"checkpoint {self._id!r} of thread {self._reader.thread_id!r} was deleted "
                    "after it was listed"
                ) from None
            self._reader.forget(channel)  # read the chain again, once
            value = self._reader.value(channel, blob_id)
        loaded[channel] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __contains__(self, channel: object) -> bool:
        return channel in self._refs

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{c!r}: {self._loaded[c]!r}" if c in self._loaded else f"{c!r}: <not loaded>"
            for c in self._refs
        )
        return "LazyValues({" + shown + "})"

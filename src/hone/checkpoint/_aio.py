"""The async twins of a saver's methods, written once over the synchronous ones.

A saver's work is either a short local transaction (memory, SQLite: tens of microseconds to
a millisecond) or a round trip to a server (PostgreSQL). The first is cheaper to run on the
event loop than to hand to a worker thread (``asyncio.to_thread`` costs more than the put
itself); the second must not block the loop. A saver says which with
:attr:`AsyncTwins.offload`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from hone.checkpoint._protocol import (
    ChannelVersion,
    Checkpoint,
    CheckpointConfig,
    CheckpointMetadata,
    CheckpointTuple,
    TaskWrites,
)

__all__ = ["AsyncTwins"]

T = TypeVar("T")


def _next(items: Iterator[CheckpointTuple]) -> CheckpointTuple | None:
    return next(items, None)


class AsyncTwins:
    """``aget``, ``aget_tuple``, ``alist``, ``aput``, ``aput_writes`` and ``adelete_thread``
    over the synchronous methods a saver defines."""

    #: Run the synchronous methods in a worker thread (savers that wait on a server).
    offload: bool = False

    # The synchronous methods the twins call (defined by the saver).
    get: Callable[..., Checkpoint | None]
    get_tuple: Callable[..., CheckpointTuple | None]
    list: Callable[..., Iterator[CheckpointTuple]]
    put: Callable[..., CheckpointConfig]
    put_writes: Callable[..., None]
    delete_thread: Callable[[str], None]

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.offload:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    async def aget(self, config: Mapping[str, Any]) -> Checkpoint | None:
        """Async :meth:`get`."""
        return await self._call(self.get, config)

    async def aget_tuple(self, config: Mapping[str, Any]) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        return await self._call(self.get_tuple, config)

    async def alist(
        self,
        config: Mapping[str, Any] | None,
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`. With an offloading saver, checkpoints are fetched in a worker
        thread; a listed value read later is still loaded on first access."""
        found = self.list(config, filter=filter, before=before, limit=limit)
        if not self.offload:
            for item in found:
                yield item
            return
        while (got := await asyncio.to_thread(_next, found)) is not None:
            yield got

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
        return await self._call(self.put, config, checkpoint, metadata, new_versions, writes=writes)

    async def aput_writes(
        self,
        config: Mapping[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        await self._call(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        await self._call(self.delete_thread, thread_id)

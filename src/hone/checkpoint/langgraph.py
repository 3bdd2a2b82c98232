"""hone's savers under LangGraph's own runtime: O(N) checkpoint storage for LangGraph users.

A LangGraph program that keeps LangGraph's runtime can still store its checkpoints in hone's
savers, and so store a growing message history once instead of once per step::

    from hone.checkpoint import SqliteSaver
    from hone.checkpoint.langgraph import LangGraphSaver
    from langgraph.graph import StateGraph

    saver = LangGraphSaver(SqliteSaver("agent.db"))
    graph = builder.compile(checkpointer=saver)

:class:`LangGraphSaver` is a ``langgraph.checkpoint.base.BaseCheckpointSaver``: LangGraph's
runtime, ``get_state``, ``get_state_history``, ``update_state``, interrupts, subgraphs and
every durability mode use it like LangGraph's own savers. It needs ``langgraph`` installed
(it is in hone's ``bench`` and ``dev`` extras).

**Values.** hone's :class:`~hone.checkpoint.Serializer` stores what it can carry exactly
(JSON, LangChain and hone messages, pydantic models, dataclasses, enums, datetimes, ...).
Values it cannot carry — LangGraph's ``Send``, named tuples, arbitrary classes — go to
LangGraph's own serializer (``JsonPlusSerializer``, or the ``serde=`` you pass), stored as
its typed bytes inside hone's row: the adapter sets it as the wrapped saver's serializer
``fallback`` when that has none (and LangGraph's ``EncryptedSerializer`` also gives it its
cipher, so every stored value is encrypted). LangGraph's serializer rebuilds objects by importing the
modules its data names, as it does in LangGraph's savers, so keep such databases trusted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

try:
    from langgraph.checkpoint.base import (
        BaseCheckpointSaver,
        ChannelVersions,
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
    )
    from langgraph.checkpoint.serde.base import SerializerProtocol
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
except ImportError as exc:  # pragma: no cover - exercised without langgraph installed
    raise ImportError(
        "hone.checkpoint.langgraph adapts hone's savers to LangGraph's runtime and needs "
        "LangGraph's checkpoint package: pip install 'hone[langgraph]'"
    ) from exc

from hone.checkpoint._saver import RowSaver as _RowSaver
from hone.checkpoint._serde import as_serializer as _as_serializer
from hone.errors import ConfigError as _ConfigError

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

__all__ = ["LangGraphSaver"]


def _tuple(found: Any) -> CheckpointTuple:
    # hone's CheckpointTuple has LangGraph's fields in LangGraph's order.
    return CheckpointTuple(*found)


class LangGraphSaver(BaseCheckpointSaver[int]):
    """A LangGraph checkpointer that stores through a hone saver (see the module docstring).

    Args:
        saver: any hone saver (:class:`~hone.checkpoint.InMemorySaver`,
            :class:`~hone.checkpoint.SqliteSaver`, :class:`~hone.checkpoint.PostgresSaver`,
            or a :class:`~hone.checkpoint._saver.RowSaver` of your own). :meth:`close` (or
            leaving a ``with`` block) closes it.
        serde: LangGraph's serializer for the values hone's cannot carry (default
            ``JsonPlusSerializer()``); ignored when the saver's serializer has a fallback.
            An ``EncryptedSerializer``'s cipher also encrypts every value hone stores,
            unless the saver's serializer has a cipher of its own.

    Raises:
        ConfigError: ``saver`` is not a hone saver.
    """

    saver: _RowSaver

    def __init__(self, saver: _RowSaver, *, serde: SerializerProtocol | None = None) -> None:
        if not isinstance(saver, _RowSaver):
            raise _ConfigError(
                f"LangGraphSaver wraps a hone saver (InMemorySaver, SqliteSaver, "
                f"PostgresSaver), got {type(saver).__name__}"
            )
        super().__init__(serde=serde or JsonPlusSerializer())
        given = _as_serializer(self.serde)
        if saver.serde.fallback is None:
            saver.serde.fallback = given.fallback
        if saver.serde.cipher is None and given.cipher is not None:
            saver.serde.cipher = given.cipher  # an EncryptedSerializer's: encrypt every value
        self.saver = saver

    def __repr__(self) -> str:
        return f"LangGraphSaver({self.saver!r})"

    def close(self) -> None:
        """Close the wrapped saver."""
        self.saver.close()

    def __enter__(self) -> LangGraphSaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint ``config`` names (or the newest of its thread), or None."""
        found = self.saver.get_tuple(config)
        return None if found is None else _tuple(found)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first (``filter`` matches metadata)."""
        for found in self.saver.list(config, filter=filter, before=before, limit=limit):
            yield _tuple(found)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async :meth:`get_tuple`."""
        found = await self.saver.aget_tuple(config)
        return None if found is None else _tuple(found)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async :meth:`list`."""
        async for found in self.saver.alist(config, filter=filter, before=before, limit=limit):
            yield _tuple(found)

    # -- writes ---------------------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Save a checkpoint after the one ``config`` names."""
        saved = self.saver.put(config, cast(Any, checkpoint), cast(Any, metadata), new_versions)
        return cast("RunnableConfig", saved)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async :meth:`put`."""
        saved = await self.saver.aput(
            config, cast(Any, checkpoint), cast(Any, metadata), new_versions
        )
        return cast("RunnableConfig", saved)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Save the writes of one task against the checkpoint ``config`` names."""
        self.saver.put_writes(config, writes, task_id, task_path)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async :meth:`put_writes`."""
        await self.saver.aput_writes(config, writes, task_id, task_path)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and value of a thread."""
        self.saver.delete_thread(thread_id)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async :meth:`delete_thread`."""
        await self.saver.adelete_thread(thread_id)

    def get_next_version(self, current: int | None, channel: None = None) -> int:
        """The version after ``current`` (ints, as hone's savers count)."""
        return cast(int, self.saver.get_next_version(current, None))

"""``StateMethods``: the part of :class:`~hone.graph.CompiledGraph` that reads and edits a
thread's checkpoints — ``get_state``, ``get_state_history``, ``update_state`` and
``bulk_update_state``, each with its async twin. The work is done by
:mod:`hone.graph._history`; these are its entry points on the graph."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from hone.graph import _history
from hone.graph._config import ensure_config
from hone.graph._types import StateSnapshot, StateUpdate

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["StateMethods"]


def _graph(methods: StateMethods) -> CompiledGraph:
    # StateMethods is only ever mixed into CompiledGraph, the type _history works on.
    return cast("CompiledGraph", methods)


class StateMethods:
    """Checkpoint inspection and editing, mixed into ``CompiledGraph``."""

    def get_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state at its latest (or the given) checkpoint. A config naming a
        subgraph's namespace gives that subgraph's state; with ``subgraphs=True`` each
        pending subgraph task's ``state`` is its own snapshot."""
        return _history.get_state(_graph(self), ensure_config(config), subgraphs=subgraphs)

    async def aget_state(
        self, config: Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        """Async :meth:`get_state`."""
        return await asyncio.to_thread(self.get_state, config, subgraphs=subgraphs)

    def get_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints as snapshots, newest first."""
        yield from _history.get_state_history(
            _graph(self), ensure_config(config), filter=filter, before=before, limit=limit
        )

    async def aget_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """Async :meth:`get_state_history`."""
        snapshots = await asyncio.to_thread(
            lambda: list(self.get_state_history(config, filter=filter, before=before, limit=limit))
        )
        for snapshot in snapshots:
            yield snapshot

    def update_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        """Write ``values`` as if node ``as_node`` returned them (its edges decide what runs
        next); saves a new checkpoint (a fork when ``config`` names an older one) and returns
        its config. ``as_node="__copy__"`` copies the checkpoint; ``values=None,
        as_node=END`` clears the pending tasks."""
        return _history.bulk_update_state(
            _graph(self), ensure_config(config), [[StateUpdate(values, as_node, task_id)]]
        )

    async def aupdate_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`update_state`."""
        return await asyncio.to_thread(self.update_state, config, values, as_node, task_id)

    def bulk_update_state(
        self, config: Mapping[str, Any], supersteps: Sequence[Sequence[Any]]
    ) -> dict[str, Any]:
        """Apply several super-steps of updates (each a list of ``StateUpdate(values,
        as_node, task_id)``) in one go; returns the last checkpoint's config.

        Raises:
            ValueError: no checkpointer, or no updates.
            InvalidUpdateError: an unknown or ambiguous node.
        """
        return _history.bulk_update_state(_graph(self), ensure_config(config), supersteps)

    async def abulk_update_state(
        self, config: Mapping[str, Any], supersteps: Sequence[Sequence[Any]]
    ) -> dict[str, Any]:
        """Async :meth:`bulk_update_state`."""
        return await asyncio.to_thread(self.bulk_update_state, config, supersteps)

"""Checkpoint storage: save a graph's state between super-steps, resume, fork, prune.

Savers store state O(N) in the length of a conversation: a checkpoint refers to channel
values by version, and a list that grows is stored as the items appended to it (the layout
is described in :mod:`hone.checkpoint._rows`).

* :class:`InMemorySaver` — tests, notebooks, the runtime benchmark.
* :class:`SqliteSaver` — the default of the command line; safe with many threads and
  processes writing one file.
* :class:`PostgresSaver` — servers; needs ``pip install 'hone[postgres]'``.

Savers are synchronous: the graph executor calls them between super-steps, and one ``put`` is
a short transaction on a few small rows, cheaper than handing it to another thread. An async
program can call them through ``asyncio.to_thread``. Writing a saver of your own? Run
:mod:`hone.checkpoint.conformance` against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.checkpoint._memory import InMemorySaver
from hone.checkpoint._migration import Migration
from hone.checkpoint._protocol import (
    FORMAT_VERSION,
    Checkpoint,
    Checkpointer,
    CheckpointTuple,
    PendingWrite,
    RetentionPolicy,
    ThreadAdmin,
    new_checkpoint_id,
)
from hone.checkpoint._serde import Serializer

if TYPE_CHECKING:
    from hone.checkpoint._postgres import PoolConfig, PostgresSaver
    from hone.checkpoint._sqlite import SqliteSaver

__all__ = [
    "FORMAT_VERSION",
    "Checkpoint",
    "CheckpointTuple",
    "Checkpointer",
    "InMemorySaver",
    "Migration",
    "PendingWrite",
    "PoolConfig",
    "PostgresSaver",
    "RetentionPolicy",
    "Serializer",
    "SqliteSaver",
    "ThreadAdmin",
    "new_checkpoint_id",
]


def __getattr__(name: str) -> Any:
    # SqliteSaver and PostgresSaver load on first use: psycopg is an optional dependency.
    if name == "SqliteSaver":
        from hone.checkpoint._sqlite import SqliteSaver

        return SqliteSaver
    if name in ("PostgresSaver", "PoolConfig"):
        from hone.checkpoint import _postgres

        return getattr(_postgres, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

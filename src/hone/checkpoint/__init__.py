"""Checkpoint storage: save a graph's state between super-steps, resume, fork, prune.

The saver protocol is LangGraph's (``get_tuple``, ``list``, ``put``, ``put_writes``, their
async twins, ``{"configurable": {...}}`` configs; see :mod:`hone.checkpoint._protocol`), so
code written for LangGraph's savers runs on hone's. Underneath, savers store state O(N) in
the length of a conversation with bounded loads: a checkpoint refers to channel values, and a
list that grows is stored as the items appended to it (:mod:`hone.checkpoint._rows`).

* :class:`InMemorySaver` (alias :data:`MemorySaver`) — tests, notebooks, benchmarks.
* :class:`SqliteSaver` — one machine; safe with many threads and processes writing one file.
* :class:`PostgresSaver` — servers; needs ``pip install 'hone[postgres]'``.

Every saver takes ``serde=``: a :class:`Serializer` (``Serializer(cipher=AesGcmCipher(key))``
encrypts what it stores) or a LangGraph serializer (see :func:`as_serializer`).

:mod:`hone.checkpoint.langgraph` gives LangGraph's own runtime any of them. Writing a saver of
your own? Run :mod:`hone.checkpoint.conformance` against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.checkpoint._cipher import AesGcmCipher, Cipher
from hone.checkpoint._memory import InMemorySaver, MemorySaver
from hone.checkpoint._migration import Migration
from hone.checkpoint._protocol import (
    FORMAT_VERSION,
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointConfig,
    Checkpointer,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    RetentionPolicy,
    TaskWrites,
    ThreadAdmin,
    new_checkpoint_id,
)
from hone.checkpoint._serde import Serializer, as_serializer

if TYPE_CHECKING:
    from hone.checkpoint._postgres import PoolConfig, PostgresSaver
    from hone.checkpoint._sqlite import SqliteSaver

__all__ = [
    "FORMAT_VERSION",
    "WRITES_IDX_MAP",
    "AesGcmCipher",
    "ChannelVersions",
    "Checkpoint",
    "CheckpointConfig",
    "CheckpointMetadata",
    "CheckpointTuple",
    "Checkpointer",
    "Cipher",
    "InMemorySaver",
    "MemorySaver",
    "Migration",
    "PendingWrite",
    "PoolConfig",
    "PostgresSaver",
    "RetentionPolicy",
    "Serializer",
    "SqliteSaver",
    "TaskWrites",
    "ThreadAdmin",
    "as_serializer",
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

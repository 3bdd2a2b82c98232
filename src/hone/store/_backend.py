"""What a store backend is: a keeper of rows and their vectors (:class:`Backend`), the rows
it returns and the writes it applies. :class:`~hone.store._core.RowStore` does everything
else once for every backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from hone.store._filter import Filter
from hone.store._vectors import Ranked, VectorSet

__all__ = ["Backend", "Ref", "Row", "Write", "ttl_expiry"]


#: An item's address: (namespace, key).
Ref = tuple[tuple[str, ...], str]


@dataclass(slots=True)
class Row:
    """A stored item as a backend returns it (times in seconds since the epoch)."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any]
    created_at: float
    updated_at: float
    #: The item's TTL in minutes (None: it never expires).
    ttl: float | None = None


@dataclass(frozen=True, slots=True)
class Write:
    """One write of a batch: ``value`` None deletes; ``vectors`` are the item's
    ``(field, vector)`` pairs (empty: not indexed); ``ttl`` in minutes."""

    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any] | None
    encoded: str | None
    ttl: float | None
    vectors: tuple[tuple[str, np.ndarray], ...] = ()


class Backend(Protocol):
    """What a store keeps: rows (value, times, expiry) and each row's vectors.

    ``now`` is seconds since the epoch; rows whose expiry is past ``now`` do not exist for
    reads. Exact vector search needs only :meth:`vector_sets`; a backend with a vector
    extension may answer :meth:`rank` itself.
    """

    #: Run the async shell's database work in a worker thread (network databases).
    offload: bool

    def bind_index(self, name: str, dims: int) -> None:
        """Record the embedder of this store, or fail on another one's vectors."""
        ...

    def rows(self, refs: Sequence[Ref], now: float) -> dict[Ref, Row]:
        """The live rows among ``refs``."""
        ...

    def search(
        self,
        prefix: tuple[str, ...],
        conditions: Filter,
        limit: int,
        offset: int,
        now: float,
        *,
        without_vectors: bool = False,
    ) -> list[Row]:
        """Live rows under ``prefix`` meeting ``conditions``, newest update first (ties by
        namespace and key), one page; only rows with no vectors when asked."""
        ...

    def allowed(
        self, prefix: tuple[str, ...], conditions: Filter, now: float
    ) -> dict[tuple[str, ...], set[str]]:
        """The keys, per namespace, of live rows under ``prefix`` meeting ``conditions``."""
        ...

    def vector_sets(self, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], VectorSet]]:
        """The vectors of every namespace under ``prefix`` (expired rows may be included)."""
        ...

    def rank(
        self, prefix: tuple[str, ...], conditions: Filter, query: np.ndarray, want: int, now: float
    ) -> Ranked | None:
        """Rank with a vector extension, or None to have the store rank with numpy."""
        ...

    def refresh(self, refs: Sequence[Ref], now: float) -> None:
        """Restart the TTL of the rows among ``refs`` that have one."""
        ...

    def namespaces(self, prefix: tuple[str, ...], now: float) -> list[tuple[str, ...]]:
        """The namespaces under ``prefix`` that hold live rows."""
        ...

    def write(self, writes: Sequence[Write], now: float) -> None:
        """Apply puts and deletes in one transaction."""
        ...

    def sweep(self, now: float) -> int:
        """Delete expired rows; how many."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def ttl_expiry(now: float, ttl: float | None) -> float | None:
    """When an item written or read at ``now`` with ``ttl`` minutes expires."""
    return None if ttl is None else now + ttl * 60.0

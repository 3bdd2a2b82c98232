"""``InMemoryStore``: the store in a dict, for tests, notebooks and single processes."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hone.errors import EmbeddingMismatchError
from hone.store._backend import Ref, Row, Write, ttl_expiry
from hone.store._core import RowStore
from hone.store._filter import Filter, matches
from hone.store._types import IndexConfig, TTLConfig
from hone.store._vectors import Ranked, VectorSet

__all__ = ["InMemoryStore"]


@dataclass(slots=True)
class _Entry:
    encoded: str
    created_at: float
    updated_at: float
    expires_at: float | None
    ttl: float | None
    vectors: tuple[tuple[str, np.ndarray], ...]

    def live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now


class _MemoryBackend:
    offload = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._data: dict[tuple[str, ...], dict[str, _Entry]] = {}
        self._sets: dict[tuple[str, ...], VectorSet] = {}
        self._embedder: tuple[str, int] | None = None

    def bind_index(self, name: str, dims: int) -> None:
        if self._embedder is not None and self._embedder != (name, dims):
            raise EmbeddingMismatchError(
                f"this store holds vectors of {self._embedder}, not of ({name!r}, {dims})"
            )
        self._embedder = (name, dims)

    @staticmethod
    def _row(namespace: tuple[str, ...], key: str, entry: _Entry) -> Row:
        return Row(
            namespace, key, json.loads(entry.encoded), entry.created_at, entry.updated_at, entry.ttl
        )

    def rows(self, refs: Sequence[Ref], now: float) -> dict[Ref, Row]:
        with self._lock:
            out = {}
            for namespace, key in refs:
                entry = self._data.get(namespace, {}).get(key)
                if entry is not None and entry.live(now):
                    out[(namespace, key)] = self._row(namespace, key, entry)
            return out

    def _under(self, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
        n = len(prefix)
        return [ns for ns in self._data if ns[:n] == prefix]

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
        with self._lock:
            found = []
            for namespace in self._under(prefix):
                for key, entry in self._data[namespace].items():
                    if not entry.live(now) or (without_vectors and entry.vectors):
                        continue
                    row = self._row(namespace, key, entry)
                    if matches(row.value, conditions):
                        found.append(row)
        found.sort(key=lambda r: (-r.updated_at, r.namespace, r.key))
        return found[offset : offset + limit]

    def allowed(
        self, prefix: tuple[str, ...], conditions: Filter, now: float
    ) -> dict[tuple[str, ...], set[str]]:
        with self._lock:
            out: dict[tuple[str, ...], set[str]] = {}
            for namespace in self._under(prefix):
                for key, entry in self._data[namespace].items():
                    if entry.live(now) and matches(json.loads(entry.encoded), conditions):
                        out.setdefault(namespace, set()).add(key)
            return out

    def vector_sets(self, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], VectorSet]]:
        dims = 0 if self._embedder is None else self._embedder[1]
        with self._lock:
            out = []
            for namespace in self._under(prefix):
                vectors = self._sets.get(namespace)
                if vectors is None:
                    entries = self._data[namespace].items()
                    pairs = ((key, v) for key, e in entries for _, v in e.vectors)
                    vectors = self._sets[namespace] = VectorSet.build(pairs, dims)
                out.append((namespace, vectors))
            return out

    def rank(
        self, prefix: tuple[str, ...], conditions: Filter, query: np.ndarray, want: int, now: float
    ) -> Ranked | None:
        return None

    def refresh(self, refs: Sequence[Ref], now: float) -> None:
        with self._lock:
            for namespace, key in refs:
                entry = self._data.get(namespace, {}).get(key)
                if entry is not None and entry.ttl is not None:
                    entry.expires_at = ttl_expiry(now, entry.ttl)

    def namespaces(self, prefix: tuple[str, ...], now: float) -> list[tuple[str, ...]]:
        with self._lock:
            return [
                ns
                for ns in self._under(prefix)
                if any(e.live(now) for e in self._data[ns].values())
            ]

    def write(self, writes: Sequence[Write], now: float) -> None:
        with self._lock:
            for w in writes:
                space = self._data.setdefault(w.namespace, {})
                self._sets.pop(w.namespace, None)
                old = space.get(w.key)
                if w.encoded is None:
                    space.pop(w.key, None)
                    if not space:
                        del self._data[w.namespace]
                    continue
                created = old.created_at if old is not None and old.live(now) else now
                space[w.key] = _Entry(
                    w.encoded, created, now, ttl_expiry(now, w.ttl), w.ttl, w.vectors
                )

    def sweep(self, now: float) -> int:
        removed = 0
        with self._lock:
            for namespace in list(self._data):
                space = self._data[namespace]
                for key in [k for k, e in space.items() if not e.live(now)]:
                    del space[key]
                    removed += 1
                    self._sets.pop(namespace, None)
                if not space:
                    del self._data[namespace]
        return removed

    def close(self) -> None:
        pass


class InMemoryStore(RowStore):
    """A store held in memory: LangGraph's ``InMemoryStore``, with TTLs and exact semantic
    search. Values are kept as JSON text, so a caller changing a dict it put or got never
    changes the stored item.

    Args:
        index: what to embed for semantic search (:class:`~hone.store.IndexConfig`); None:
            no semantic search.
        ttl: how items expire (:class:`~hone.store.TTLConfig`).

    Raises:
        ConfigError: a malformed index or TTL config.
    """

    def __init__(self, *, index: IndexConfig | None = None, ttl: TTLConfig | None = None) -> None:
        super().__init__(_MemoryBackend(), index=index, ttl=ttl)

    def __repr__(self) -> str:
        return f"InMemoryStore(index={self.embedder!r})"

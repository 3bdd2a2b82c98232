"""Exact vector search with numpy: one matrix per namespace, scores by one matrix-vector
product, an item's score the best of its vectors, the top items by partial sort.

Every backend without a vector extension ranks this way: the in-memory store over its own
vectors, SQLite and PostgreSQL over a cache of the stored vectors that is checked against the
database's write counter before each search (see :class:`VectorCache`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Ranked", "VectorCache", "VectorSet", "from_blob", "rank", "to_blob"]


def to_blob(vector: np.ndarray) -> bytes:
    """A vector as little-endian float32 bytes (sqlite-vec's format too)."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(data: bytes) -> np.ndarray:
    """The vector of :func:`to_blob` bytes."""
    return np.frombuffer(data, dtype="<f4")


@dataclass(frozen=True, slots=True)
class VectorSet:
    """The vectors of one namespace.

    Attributes:
        keys: the item keys, ``(n_items,)``.
        owner: for each vector, the index of its item in ``keys``, ``(n_vectors,)``.
        matrix: the vectors scaled to unit length (zero vectors stay zero),
            ``(n_vectors, dims)`` float32.
        single: every item has exactly one vector (then ``owner`` is ``arange``).
    """

    keys: np.ndarray
    owner: np.ndarray
    matrix: np.ndarray
    single: bool

    @classmethod
    def build(cls, entries: Iterable[tuple[str, np.ndarray]], dims: int) -> VectorSet:
        """A set from ``(key, vector)`` pairs (several per key for multi-field items)."""
        keys: list[str] = []
        index: dict[str, int] = {}
        owner: list[int] = []
        vectors: list[np.ndarray] = []
        for key, vector in entries:
            if key not in index:
                index[key] = len(keys)
                keys.append(key)
            owner.append(index[key])
            vectors.append(vector)
        matrix = (
            np.asarray(np.stack(vectors), dtype=np.float32)
            if vectors
            else np.zeros((0, dims), dtype=np.float32)
        )
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)  # (n_vectors, 1)
        matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        return cls(
            keys=np.asarray(keys, dtype=object),
            owner=np.asarray(owner, dtype=np.int64),
            matrix=matrix,
            single=len(keys) == len(owner),
        )

    def item_scores(self, query: np.ndarray) -> np.ndarray:
        """Each item's best cosine similarity to the unit ``query``, ``(n_items,)``."""
        scores: np.ndarray = self.matrix @ query  # (n_vectors,)
        if self.single:
            return scores
        best = np.full(len(self.keys), -np.inf, dtype=np.float32)
        np.maximum.at(best, self.owner, scores)
        return best


@dataclass(frozen=True, slots=True)
class Ranked:
    """Items ranked by score: ``(namespace, key, score)``, best first, and how many items
    could be ranked in all (so a caller that drops some knows whether more exist)."""

    hits: list[tuple[tuple[str, ...], str, float]]
    total: int


def unit(query: np.ndarray) -> np.ndarray:
    """``query`` as a unit float32 vector (a zero vector stays zero)."""
    q = np.asarray(query, dtype=np.float32)
    norm = float(np.linalg.norm(q))
    return q / norm if norm > 0 else q


def rank(
    sets: Sequence[tuple[tuple[str, ...], VectorSet]],
    query: np.ndarray,
    want: int,
    allowed: Mapping[tuple[str, ...], set[str]] | None = None,
) -> Ranked:
    """The ``want`` best items of ``sets`` for ``query`` (only keys in ``allowed`` when
    given); ties by namespace and key."""
    q = unit(query)
    parts: list[np.ndarray] = []
    owners: list[tuple[tuple[str, ...], VectorSet]] = []
    for namespace, vectors in sets:
        if not len(vectors.keys):
            continue
        scores = vectors.item_scores(q)  # (n_items,)
        if allowed is not None:
            keep = allowed.get(namespace)
            if not keep:
                continue
            mask = np.fromiter((k in keep for k in vectors.keys), bool, len(vectors.keys))
            scores = np.where(mask, scores, -np.inf)
        parts.append(scores)
        owners.append((namespace, vectors))
    if not parts:
        return Ranked([], 0)
    scores = np.concatenate(parts)  # (n_items_total,)
    total = int(np.isfinite(scores).sum())
    k = min(want, total)
    if k <= 0:
        return Ranked([], total)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    starts = np.cumsum([0] + [len(v.keys) for _, v in owners])
    hits = []
    for i in top:
        if not np.isfinite(scores[i]):
            continue
        part = int(np.searchsorted(starts, i, side="right")) - 1
        namespace, vectors = owners[part]
        hits.append((namespace, str(vectors.keys[i - starts[part]]), float(scores[i])))
    hits.sort(key=lambda h: (-h[2], h[0], h[1]))
    return Ranked(hits[:k], total)


class VectorCache:
    """Namespace vector sets loaded from a database, kept while its write counter says
    nothing changed.

    ``version()`` reads the database's counter (bumped by every write transaction, which
    also stamps the namespaces it wrote); on a change, ``changed(since)`` names the
    namespaces written after ``since`` and only those are reloaded with ``load(namespace)``.
    The rows stay the truth: a search reads its hits back from them.
    """

    def __init__(
        self,
        *,
        version: Callable[[], int],
        changed: Callable[[int], dict[tuple[str, ...], int]],
        load: Callable[[tuple[str, ...]], VectorSet],
    ) -> None:
        self._version = version
        self._changed = changed
        self._load = load
        self._lock = threading.Lock()
        self._seen = -1
        self._known: dict[tuple[str, ...], int] = {}
        self._sets: dict[tuple[str, ...], VectorSet] = {}

    def sets(self, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], VectorSet]]:
        """The vector sets of every namespace under ``prefix``, current as of now."""
        with self._lock:
            current = self._version()
            if current != self._seen:
                for namespace, _ in self._changed(self._seen).items():
                    self._sets.pop(namespace, None)
                    self._known[namespace] = current
                self._seen = current
            n = len(prefix)
            out = []
            for namespace in self._known:
                if namespace[:n] != prefix:
                    continue
                vectors = self._sets.get(namespace)
                if vectors is None:
                    vectors = self._sets[namespace] = self._load(namespace)
                out.append((namespace, vectors))
            return out

    def clear(self) -> None:
        """Forget everything (the next search reloads)."""
        with self._lock:
            self._seen = -1
            self._known.clear()
            self._sets.clear()

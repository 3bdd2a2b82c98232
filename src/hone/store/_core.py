"""``RowStore``: the one implementation of ``batch`` / ``abatch``, over a backend that only
stores rows and vectors.

A batch is planned once by a generator (:meth:`RowStore._prepare`): it checks every
operation, works out the texts to embed and *yields* them; the sync shell answers with the
embedder's sync methods, the async shell with its async ones (or a worker thread). The
prepared batch then runs against the backend: reads first, seeing the store as it was
before the batch, then the writes (the last write to a key wins), as LangGraph's stores do.
The checks on each operation, and the encoding of values, are in ``_ops``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Generator, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from hone.errors import ConfigError
from hone.store._backend import Backend, Ref, Row, Write
from hone.store._base import BaseStore
from hone.store._embed import Embedder, as_embedder, embed_array
from hone.store._filter import Filter, parse_filter
from hone.store._ops import check_op, coerce_op, encode_value, namespace_matches
from hone.store._paths import FieldPath, texts_at
from hone.store._types import (
    GetOp,
    IndexConfig,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)
from hone.store._vectors import rank

__all__ = ["Backend", "Ref", "Row", "RowStore", "Write"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Index:
    embedder: Embedder
    fields: tuple[FieldPath, ...]


@dataclass(slots=True)
class _Prepared:
    ops: list[Op]
    queries: dict[str, np.ndarray] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    now: float = 0.0


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _item(row: Row) -> Item:
    return Item(
        value=row.value,
        key=row.key,
        namespace=row.namespace,
        created_at=_when(row.created_at),
        updated_at=_when(row.updated_at),
    )


def _search_item(row: Row, score: float | None) -> SearchItem:
    return SearchItem(
        row.namespace, row.key, row.value, _when(row.created_at), _when(row.updated_at), score
    )


class RowStore(BaseStore):
    """A :class:`BaseStore` over a row backend: validation, TTLs, embedding and exact search
    written once for every backend."""

    supports_ttl = True

    def __init__(
        self, backend: Backend, *, index: IndexConfig | None, ttl: TTLConfig | None
    ) -> None:
        self._backend = backend
        self.ttl_config = None if ttl is None else TTLConfig(**ttl)
        self._check_ttl_config()
        self.index_config = None if index is None else IndexConfig(**index)
        self._index = None if index is None else self._resolve_index(index)
        self._bound = False
        self._bind_lock = threading.Lock()
        self._last_sweep = time.time()
        self._sweeper: tuple[threading.Event, threading.Thread] | None = None

    # -- configuration -----------------------------------------------------------------------

    def _check_ttl_config(self) -> None:
        config = self.ttl_config or {}
        unknown = set(config) - {"refresh_on_read", "default_ttl", "sweep_interval_minutes"}
        if unknown:
            raise ConfigError(f"unknown TTL config keys {sorted(unknown)}")
        default = config.get("default_ttl")
        if default is not None and not default > 0:
            raise ConfigError(f"default_ttl is minutes > 0 or None, got {default!r}")

    @staticmethod
    def _resolve_index(index: IndexConfig) -> _Index:
        # LangGraph's SQL stores also take ``distance_type`` (hone's search is cosine) and
        # ``text_fields``; anything else is a typo worth an error.
        unknown = set(index) - {"dims", "embed", "fields", "distance_type", "text_fields"}
        if unknown:
            raise ConfigError(f"unknown index config keys {sorted(unknown)}")
        if index.get("distance_type", "cosine") != "cosine":
            raise ConfigError(
                f"distance_type {index.get('distance_type')!r} is not supported: hone's stores "
                "rank by cosine similarity"
            )
        dims = index.get("dims")
        if dims is not None and (not isinstance(dims, int) or dims < 1):
            raise ConfigError(f"index dims must be a positive int, got {dims!r}")
        embedder = as_embedder(index.get("embed"), dims)
        # ``text_fields`` is the older name LangGraph's SqliteStore still reads.
        config: dict[str, Any] = dict(index)
        paths: list[str] = config.get("fields") or config.get("text_fields") or ["$"]
        fields = tuple(FieldPath.parse(f) for f in paths)
        return _Index(embedder, fields)

    @property
    def embedder(self) -> Embedder | None:
        """The embedder of the index config (None without one)."""
        return None if self._index is None else self._index.embedder

    def _bind(self) -> None:
        if self._bound or self._index is None:
            return
        with self._bind_lock:
            if not self._bound:
                embedder = self._index.embedder
                self._backend.bind_index(embedder.name, embedder.dims)
                self._bound = True

    # -- planning (shared by both shells) ----------------------------------------------------

    def _prepare(
        self, ops: Iterable[Any]
    ) -> Generator[tuple[list[str], bool], np.ndarray, _Prepared]:
        prepared = _Prepared([check_op(coerce_op(op)) for op in ops], now=time.time())
        for op in prepared.ops:
            if isinstance(op, SearchOp):
                parse_filter(op.filter)  # fail before anything runs
        index = self._index
        if index is None:
            prepared.writes = self._writes(prepared.ops, None, {})
            return prepared
        queries = sorted({op.query for op in prepared.ops if isinstance(op, SearchOp) and op.query})
        if queries:
            vectors = yield queries, True
            array = embed_array(vectors, len(queries), index.embedder)
            prepared.queries = dict(zip(queries, array, strict=True))
        texts = self._texts(prepared.ops, index)
        unique = sorted({t for fields in texts.values() for _, t in fields})
        embedded: dict[str, np.ndarray] = {}
        if unique:
            vectors = yield unique, False
            embedded = dict(
                zip(unique, embed_array(vectors, len(unique), index.embedder), strict=True)
            )
        prepared.writes = self._writes(prepared.ops, texts, embedded)
        return prepared

    @staticmethod
    def _last_puts(ops: Sequence[Op]) -> dict[tuple[tuple[str, ...], str], PutOp]:
        last: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for op in ops:
            if isinstance(op, PutOp):
                last.pop((op.namespace, op.key), None)
                last[(op.namespace, op.key)] = op
        return last

    def _texts(self, ops: Sequence[Op], index: _Index) -> dict[Ref, list[tuple[str, str]]]:
        out: dict[Ref, list[tuple[str, str]]] = {}
        for ref, op in self._last_puts(ops).items():
            if op.value is None or op.index is False:
                continue
            if op.index is None:
                paths = index.fields
            elif isinstance(op.index, list | tuple):
                paths = tuple(FieldPath.parse(p) for p in op.index)
            else:
                raise ConfigError(f"put index is None, False or a list of paths, got {op.index!r}")
            out[ref] = [pair for path in paths for pair in texts_at(op.value, path)]
        return out

    def _writes(
        self,
        ops: Sequence[Op],
        texts: dict[Ref, list[tuple[str, str]]] | None,
        embedded: dict[str, np.ndarray],
    ) -> list[Write]:
        writes = []
        for (namespace, key), op in self._last_puts(ops).items():
            if op.value is None:
                writes.append(Write(namespace, key, None, None, None))
                continue
            encoded = encode_value(namespace, key, op.value)
            fields = (texts or {}).get((namespace, key), [])
            vectors = tuple((name, embedded[text]) for name, text in fields)
            writes.append(Write(namespace, key, json.loads(encoded), encoded, op.ttl, vectors))
        return writes

    # -- execution ---------------------------------------------------------------------------

    def _execute(self, prepared: _Prepared) -> list[Result]:
        self._bind()
        backend, now = self._backend, prepared.now
        results: list[Result] = []
        refresh: list[Ref] = []
        for op in prepared.ops:
            if isinstance(op, GetOp):
                row = backend.rows([(op.namespace, op.key)], now).get((op.namespace, op.key))
                results.append(None if row is None else _item(row))
                if row is not None and op.refresh_ttl and row.ttl is not None:
                    refresh.append((op.namespace, op.key))
            elif isinstance(op, SearchOp):
                rows = self._search(op, prepared.queries.get(op.query or ""), now)
                results.append([_search_item(row, score) for row, score in rows])
                if op.refresh_ttl:
                    refresh.extend((r.namespace, r.key) for r, _ in rows if r.ttl is not None)
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list(op, now))
            else:
                results.append(None)
        if refresh:
            backend.refresh(refresh, now)
        interval = (self.ttl_config or {}).get("sweep_interval_minutes")
        if interval and now - self._last_sweep >= interval * 60:
            self._last_sweep = now
            removed = backend.sweep(now)
            logger.debug("TTL sweep removed %d expired items", removed)
        if prepared.writes:
            backend.write(prepared.writes, now)
        return results

    def _search(
        self, op: SearchOp, query: np.ndarray | None, now: float
    ) -> list[tuple[Row, float | None]]:
        conditions = parse_filter(op.filter)
        if op.limit == 0:
            return []
        if query is None or self._index is None:
            rows = self._backend.search(op.namespace_prefix, conditions, op.limit, op.offset, now)
            return [(r, None) for r in rows]
        need = op.offset + op.limit
        hits, exhausted = self._ranked(op.namespace_prefix, conditions, query, need, now)
        page: list[tuple[Row, float | None]] = list(hits[op.offset : need])
        if len(hits) >= need or not exhausted:
            return page
        # Every scored item is in ``hits``: items with no vectors follow them.
        skip = max(0, op.offset - len(hits))
        rest = self._backend.search(
            op.namespace_prefix,
            conditions,
            need - max(op.offset, len(hits)),
            skip,
            now,
            without_vectors=True,
        )
        return page + [(r, None) for r in rest]

    def _ranked(
        self, prefix: tuple[str, ...], conditions: Filter, query: np.ndarray, need: int, now: float
    ) -> tuple[list[tuple[Row, float]], bool]:
        """The best ``need`` live items with their scores, and whether no more exist."""
        backend = self._backend
        want = need
        allowed = None
        while True:
            ranked = backend.rank(prefix, conditions, query, want, now)
            if ranked is None:
                if conditions and allowed is None:
                    allowed = backend.allowed(prefix, conditions, now)
                ranked = rank(backend.vector_sets(prefix), query, want, allowed)
            rows = backend.rows([(ns, key) for ns, key, _ in ranked.hits], now)
            hits = [(rows[(ns, k)], s) for ns, k, s in ranked.hits if (ns, k) in rows]
            exhausted = len(ranked.hits) >= ranked.total
            if len(hits) >= need or exhausted:
                return hits[:need], exhausted
            # Some hits had expired or gone: ask for more.
            want = want * 2 + (len(ranked.hits) - len(hits))

    def _list(self, op: ListNamespacesOp, now: float) -> list[tuple[str, ...]]:
        conditions = op.match_conditions or ()
        literal: list[str] = []
        for condition in conditions:
            if condition.match_type == "prefix":
                for label in condition.path:
                    if label == "*":
                        break
                    literal.append(label)
                break
        found = [
            ns
            for ns in self._backend.namespaces(tuple(literal), now)
            if all(namespace_matches(c, ns) for c in conditions)
        ]
        if op.max_depth is not None:
            found = [ns[: op.max_depth] for ns in found]
        return sorted(set(found))[op.offset : op.offset + op.limit]

    # -- the shells --------------------------------------------------------------------------

    def _embed_sync(self, texts: list[str], query: bool) -> Any:
        embedder = self._index.embedder  # type: ignore[union-attr]
        if query:
            return [embedder.embed_query(t) for t in texts]
        return embedder.embed_documents(texts)

    async def _embed_async(self, texts: list[str], query: bool) -> Any:
        embedder = self._index.embedder  # type: ignore[union-attr]
        name = "aembed_query" if query else "aembed_documents"
        method = getattr(embedder, name, None)
        if method is None:
            return await asyncio.to_thread(self._embed_sync, texts, query)
        if query:
            return await asyncio.gather(*(method(t) for t in texts))
        return await method(texts)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run operations (see the module docstring for their order); one result each.

        Raises:
            InvalidNamespaceError, InvalidFilterError: malformed operations (nothing runs).
            EmbeddingMismatchError: the embedder's vectors do not fit the stored ones.
            StoreError: the database failed.
        """
        plan = self._prepare(ops)
        try:
            request = next(plan)
            while True:
                request = plan.send(self._embed_sync(*request))
        except StopIteration as done:
            prepared: _Prepared = done.value
        return self._execute(prepared)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async :meth:`batch`: embedding through the embedder's async methods (or a worker
        thread); the database work in a worker thread for network databases."""
        plan = self._prepare(ops)
        try:
            request = next(plan)
            while True:
                request = plan.send(await self._embed_async(*request))
        except StopIteration as done:
            prepared: _Prepared = done.value
        if self._backend.offload:
            return await asyncio.to_thread(self._execute, prepared)
        return self._execute(prepared)

    # -- maintenance -------------------------------------------------------------------------

    def sweep_ttl(self) -> int:
        """Delete expired items now; how many were deleted. (Expired items are never
        returned either way; this frees their space.)"""
        self._last_sweep = time.time()
        return self._backend.sweep(self._last_sweep)

    async def asweep_ttl(self) -> int:
        """Async :meth:`sweep_ttl`."""
        if self._backend.offload:
            return await asyncio.to_thread(self.sweep_ttl)
        return self.sweep_ttl()

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> Future[None]:
        """Sweep expired items in a background thread every ``sweep_interval_minutes`` (default:
        the TTL config's, else 5) until :meth:`stop_ttl_sweeper` (LangGraph's method). The
        future completes when the thread stops.

        Raises:
            ConfigError: a sweeper is already running, or the interval is not positive.
        """
        minutes = (
            sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        )
        if not minutes > 0:
            raise ConfigError(f"sweep_interval_minutes must be > 0, got {minutes!r}")
        if self._sweeper is not None and self._sweeper[1].is_alive():
            raise ConfigError("a TTL sweeper is already running for this store")
        stop = threading.Event()
        done: Future[None] = Future()

        def loop() -> None:
            try:
                while not stop.wait(minutes * 60.0):
                    try:
                        self.sweep_ttl()
                    except Exception:  # a failed sweep is retried at the next interval
                        logger.exception("TTL sweep failed")
            finally:
                done.set_result(None)

        thread = threading.Thread(target=loop, name="hone-store-ttl-sweeper", daemon=True)
        self._sweeper = (stop, thread)
        thread.start()
        return done

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; whether it stopped within ``timeout`` seconds (True when
        none was running)."""
        if self._sweeper is None:
            return True
        stop, thread = self._sweeper
        stop.set()
        thread.join(timeout)
        if not thread.is_alive():
            self._sweeper = None
        return not thread.is_alive()

    def close(self) -> None:
        """Stop the TTL sweeper, close the store's connections (a store opened on your
        connection leaves it open)."""
        self.stop_ttl_sweeper()
        self._backend.close()

    def __enter__(self) -> RowStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __bool__(self) -> bool:
        # A store is always "given" (the runtime merges stores with ``or``).
        return True

"""Semantic search latency of the long-term store at 100,000 items of dimension 384.

Layout: 10 namespaces ``("users", "u0")`` … ``("users", "u9")`` of 10,000 items each, one
vector per item. Vectors are random unit vectors made from each text's number (an embedder
that costs nothing), so the figures are the store's own cost: reading candidates, scoring
every vector exactly, ranking, reading the hits back. Two searches, 10 results each:

* ``namespace`` — query inside one namespace (10,000 vectors scored): the target is a p50 of
  at most 50 ms;
* ``all`` — query over the whole store (100,000 vectors scored).

The first search of a store is reported apart (``first_ms``: it loads the vector cache of the
SQL stores). Setups: hone's ``InMemoryStore``, ``SqliteStore`` (numpy over its vector cache;
sqlite-vec inside SQLite as well when ``pysqlite3`` can load it), ``PostgresStore`` (numpy;
skipped when PostgreSQL at 127.0.0.1:5432 is unreachable), and LangGraph's ``InMemoryStore``
and ``SqliteStore`` (the latter needs sqlite-vec, so it runs on a ``pysqlite3`` connection;
LangGraph's ``PostgresStore`` needs the pgvector extension, which is not installable here).
"""

from __future__ import annotations

import os
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from bench._common import Options, bench_main, console, print_table

NAME = "store_search"
DESCRIPTION = "store semantic search p50/p99 at 100k items × 384 dims: hone vs LangGraph"

DIMS = 384
PG_DSN = os.environ.get("HONE_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


class RandomEmbedder:
    """Text ``"<n> ..."`` -> a fixed random unit vector for ``n`` (costs a hash, no model)."""

    name = "bench-random"
    dims = DIMS

    def _vector(self, text: str) -> np.ndarray:
        # The first number in the text (a store that embeds the whole JSON still finds it).
        seed = int(re.search(r"\d+", text).group())  # type: ignore[union-attr]
        v = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
        return v / np.linalg.norm(v)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t).tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()


def _index(kind: str = "hone") -> dict[str, Any]:
    # LangGraph's stores take a function (or LangChain Embeddings), hone's an Embedder too.
    embedder = RandomEmbedder()
    embed = embedder if kind == "hone" else embedder.embed_documents
    return {"dims": DIMS, "embed": embed, "fields": ["text"]}


def _load(store: Any, items: int, put_op: Callable[..., Any], spaces: int) -> float:
    start = time.perf_counter()
    batch = []
    for i in range(items):
        batch.append(put_op(("users", f"u{i % spaces}"), f"k{i}", {"text": f"{i} note", "i": i}))
        if len(batch) == 1000:
            store.batch(batch)
            batch = []
    if batch:
        store.batch(batch)
    return time.perf_counter() - start


def _latencies(store: Any, prefix: tuple[str, ...], queries: int) -> dict[str, float]:
    first_start = time.perf_counter()
    store.search(prefix, query="1000001 q", limit=10)
    first = time.perf_counter() - first_start
    times = []
    for q in range(queries):
        start = time.perf_counter()
        hits = store.search(prefix, query=f"{2_000_000 + q} q", limit=10)
        times.append(time.perf_counter() - start)
        assert len(hits) == 10
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return {
        "first_ms": round(first * 1000, 1),
        "p50_ms": round(statistics.median(times) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
    }


def _pysqlite3() -> Any:
    try:
        import pysqlite3.dbapi2 as module  # type: ignore[import-not-found]
    except ImportError:
        return None
    return module


@contextmanager
def _hone_memory(_: Options) -> Iterator[Any]:
    from hone.store import InMemoryStore

    yield InMemoryStore(index=_index())  # type: ignore[arg-type]


@contextmanager
def _hone_sqlite(options: Options) -> Iterator[Any]:
    from hone.store import SqliteStore

    store = SqliteStore(
        options.workdir / f"hone-{uuid.uuid4().hex[:6]}.db", index=_index(), vectors="numpy"
    )  # type: ignore[arg-type]
    yield store
    store.close()


@contextmanager
def _hone_sqlite_vec(options: Options) -> Iterator[Any]:
    from hone.store import SqliteStore

    module = _pysqlite3()
    if module is None:
        raise RuntimeError("pysqlite3 is not installed (needed to load sqlite-vec)")
    conn = module.connect(
        str(options.workdir / f"honevec-{uuid.uuid4().hex[:6]}.db"),
        isolation_level=None,
        check_same_thread=False,
    )
    store = SqliteStore(conn, index=_index(), vectors="extension")  # type: ignore[arg-type]
    yield store
    conn.close()


@contextmanager
def _hone_postgres(_: Options) -> Iterator[Any]:
    import psycopg

    from hone.store import PostgresStore

    schema = f"hone_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_DSN + " connect_timeout=3") as conn:
        conn.execute("SELECT 1")
    store = PostgresStore(PG_DSN, index=_index(), schema=schema)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def _langgraph_memory(_: Options) -> Iterator[Any]:
    from langgraph.store.memory import InMemoryStore

    yield InMemoryStore(index=_index("langgraph"))  # type: ignore[arg-type]


@contextmanager
def _langgraph_sqlite(options: Options) -> Iterator[Any]:
    from langgraph.store.sqlite import SqliteStore

    module = _pysqlite3()
    if module is None:
        raise RuntimeError("pysqlite3 is not installed (LangGraph's SqliteStore needs sqlite-vec)")
    conn = module.connect(
        str(options.workdir / f"lg-{uuid.uuid4().hex[:6]}.db"),
        isolation_level=None,
        check_same_thread=False,
    )
    store = SqliteStore(conn, index=_index("langgraph"))  # type: ignore[arg-type]
    store.setup()
    yield store
    conn.close()


SETUPS: dict[str, tuple[Callable[[Options], Any], str]] = {
    "hone InMemoryStore": (_hone_memory, "hone"),
    "hone SqliteStore (numpy)": (_hone_sqlite, "hone"),
    "hone SqliteStore (sqlite-vec)": (_hone_sqlite_vec, "hone"),
    "hone PostgresStore (numpy)": (_hone_postgres, "hone"),
    "LangGraph InMemoryStore": (_langgraph_memory, "langgraph"),
    "LangGraph SqliteStore (sqlite-vec)": (_langgraph_sqlite, "langgraph"),
}


def _put_op(kind: str) -> Callable[..., Any]:
    if kind == "hone":
        from hone.store import PutOp

        return PutOp
    from langgraph.store.base import PutOp as LangGraphPutOp

    return LangGraphPutOp


def run(options: Options) -> dict[str, Any]:
    """Load each store and time its searches."""
    items, spaces, queries = (2000, 2, 5) if options.quick else (100_000, 10, 50)
    results: dict[str, Any] = {}
    rows = []
    for name, (factory, kind) in SETUPS.items():
        # LangGraph's InMemoryStore converts every vector list to an array per search: slow.
        n_queries = max(3, queries // 10) if name == "LangGraph InMemoryStore" else queries
        try:
            with factory(options) as store:
                console.print(f"loading {items} items into {name} ...")
                load = _load(store, items, _put_op(kind), spaces)
                one = _latencies(store, ("users", "u1"), n_queries)
                every = _latencies(store, ("users",), n_queries)
        except Exception as exc:  # an unavailable setup is reported, not fatal
            console.print(f"[yellow]{name}: skipped ({type(exc).__name__}: {exc})[/yellow]")
            results[name] = {"skipped": f"{type(exc).__name__}: {exc}"}
            continue
        results[name] = {
            "load_s": round(load, 1),
            "namespace": one,
            "all": every,
            "queries": n_queries,
        }
        rows.append(
            [
                name,
                round(load, 1),
                one["p50_ms"],
                one["p99_ms"],
                every["p50_ms"],
                every["p99_ms"],
                one["first_ms"],
            ]
        )
    print_table(
        f"store search, {items:,} items × {DIMS} dims, {spaces} namespaces, top 10 (ms)",
        ["setup", "load s", "ns p50", "ns p99", "all p50", "all p99", "first"],
        rows,
    )
    return {"items": items, "dims": DIMS, "namespaces": spaces, "setups": results}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run from the command line."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()

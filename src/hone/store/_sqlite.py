"""``SqliteStore``: the default store, one SQLite file (WAL mode, one connection per thread,
``BEGIN IMMEDIATE`` writes), safe for many threads and processes.

Semantic search is exact. By default the store ranks with numpy over a cache of the stored
vectors, refreshed by namespace when another writer changes them (about 5× faster than
sqlite-vec at 100k vectors, docs/benchmarks.md, at the cost of holding the vectors in
memory). With ``vectors="auto"`` or ``"extension"``, distances are computed inside SQLite by
sqlite-vec where the SQLite library can load extensions and the ``sqlite-vec`` package is
installed (many Python builds cannot load extensions; ``"auto"`` then falls back to numpy).
:attr:`SqliteStore.vector_search` says which one runs.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeAlias

from hone.errors import ConfigError, StoreError
from hone.store._core import RowStore
from hone.store._filter import Filter, sqlite_sql
from hone.store._sql import Cursor, SqlBackend, TxKind, ns_labels, schema
from hone.store._types import IndexConfig, TTLConfig
from hone.store._vectors import Ranked, to_blob, unit

__all__ = ["SqliteStore", "VectorSearch"]

logger = logging.getLogger(__name__)

#: How semantic search ranks: ``"numpy"`` (a vector cache in memory; the default),
#: ``"auto"`` (sqlite-vec when it loads, else numpy), ``"extension"`` (sqlite-vec or an
#: error).
VectorSearch: TypeAlias = Literal["auto", "extension", "numpy"]


def load_sqlite_vec(conn: Any) -> str | None:
    """Load sqlite-vec into ``conn``; None when it loaded, else why not."""
    if not hasattr(conn, "enable_load_extension"):
        return "this Python's sqlite3 cannot load extensions"
    try:
        sqlite_vec = importlib.import_module("sqlite_vec")
    except ImportError:
        return "the sqlite-vec package is not installed"
    try:
        conn.enable_load_extension(True)
        try:
            sqlite_vec.load(conn)
        finally:
            conn.enable_load_extension(False)
    except Exception as exc:  # the driver's own error types; all mean "not loadable"
        return f"sqlite-vec failed to load: {exc}"
    return None


class _SqliteBackend(SqlBackend):
    def __init__(self, target: str | Path | Any, *, timeout: float, vectors: VectorSearch) -> None:
        super().__init__()
        self._timeout = timeout
        self._local = threading.local()
        self._all: list[Any] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._shared_lock = threading.RLock()
        self._shared: Any = None
        self._owns = True
        self._vec_problem: str | None = None
        self._want = vectors
        if isinstance(target, str | Path):
            self._path = str(target)
            if self._path in ("", ":memory:"):
                self._shared = self._connect()
        else:  # a DB-API connection of sqlite3 (or pysqlite3), used as given
            self._path = ""
            self._shared = target
            self._owns = False
            self._prepare(target)
        self._setup()

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> Any:
        conn = sqlite3.connect(
            self._path or ":memory:",
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        self._prepare(conn)
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _prepare(self, conn: Any) -> None:
        if self._want == "numpy":
            self._vec_problem = "numpy was asked for"
            return
        problem = load_sqlite_vec(conn)
        if problem is not None and self._want == "extension":
            raise ConfigError(f"vectors='extension' but {problem}")
        self._vec_problem = problem

    def _conn(self) -> Any:
        if self._closed:
            raise StoreError("this SqliteStore is closed")
        if self._shared is not None:
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def tx(self, kind: TxKind) -> Iterator[Cursor]:
        conn = self._conn()
        lock = self._shared_lock if self._shared is not None else None
        if lock is not None:
            lock.acquire()
        try:
            if kind == "read":
                yield conn.cursor()
                return
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store error: {exc}") from exc
        finally:
            if lock is not None:
                lock.release()

    def _setup(self) -> None:
        for attempt in range(50):
            try:
                conn = self._conn()
                if self._path not in ("", ":memory:"):
                    conn.execute("PRAGMA journal_mode = WAL")
                with self.tx("write") as cur:
                    for statement in schema("TEXT", "REAL", "BLOB", "TEXT"):
                        cur.execute(self.q(statement))
                    self.check_format(cur, f"SQLite store {self._path or ':memory:'}")
                return
            except (sqlite3.OperationalError, StoreError) as exc:
                if "locked" not in str(exc) or attempt == 49:
                    if isinstance(exc, StoreError):
                        raise
                    raise StoreError(f"cannot set up the SQLite store: {exc}") from exc
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()

    # -- dialect -----------------------------------------------------------------------------

    def filter_sql(self, conditions: Filter, params: list[Any], column: str) -> str:
        return sqlite_sql(conditions, params, column)

    @property
    def vector_search(self) -> str:
        return "numpy" if self._vec_problem is not None else "sqlite-vec"

    def rank(
        self, prefix: tuple[str, ...], conditions: Filter, query: Any, want: int, now: float
    ) -> Ranked | None:
        if self._vec_problem is not None:
            return None
        params: list[Any] = [to_blob(unit(query))]
        where = self.where(prefix, conditions, now, params, alias="i.")
        params.append(want)
        sql = self.q(
            "SELECT v.ns, v.key, MAX(1.0 - vec_distance_cosine(v.vector, ?)) AS score "
            "FROM {p}vectors v JOIN {p}items i ON i.ns = v.ns AND i.key = v.key "
            f"WHERE {where} GROUP BY v.ns, v.key ORDER BY score DESC, v.ns, v.key LIMIT ?"
        )

        def body(cur: Cursor) -> Ranked:
            cur.execute(sql, params)
            hits = [(ns_labels(ns), key, float(score)) for ns, key, score in cur.fetchall()]
            # The query already dropped expired and filtered rows: what came back is all.
            return Ranked(hits, len(hits) if len(hits) < want else want + 1)

        return self._read(body)  # type: ignore[no-any-return]


class SqliteStore(RowStore):
    """A store in a SQLite file (or ``":memory:"``): LangGraph's ``SqliteStore`` surface
    with TTLs and exact semantic search.

    Args:
        conn: a file path, ``":memory:"``, or an open ``sqlite3`` (or ``pysqlite3``)
            connection in autocommit mode (``isolation_level=None``), used as given and not
            closed.
        index: what to embed (:class:`~hone.store.IndexConfig`); None: no semantic search.
        ttl: how items expire (:class:`~hone.store.TTLConfig`).
        vectors: how semantic search ranks (:data:`VectorSearch`).
        timeout: seconds a writer waits for the file lock.

    Raises:
        ConfigError: a malformed config, or ``vectors="extension"`` where sqlite-vec does not
            load.
        EmbeddingMismatchError: the file holds vectors of another embedder or dimension (on
            first use).
        StoreError: the file cannot be opened, or a newer hone wrote it.
    """

    def __init__(
        self,
        conn: str | Path | Any = ":memory:",
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        vectors: VectorSearch = "numpy",
        timeout: float = 30.0,
    ) -> None:
        if vectors not in ("auto", "extension", "numpy"):
            raise ConfigError(f"vectors is 'auto', 'extension' or 'numpy', got {vectors!r}")
        self._sqlite = _SqliteBackend(conn, timeout=timeout, vectors=vectors)
        super().__init__(self._sqlite, index=index, ttl=ttl)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
    ) -> Iterator[SqliteStore]:
        """A store on the file ``conn_string``, closed when the ``with`` block ends
        (LangGraph's constructor)."""
        store = cls(conn_string, index=index, ttl=ttl)
        try:
            yield store
        finally:
            store.close()

    def setup(self) -> None:
        """Nothing to do: tables are created when the store opens (LangGraph's stores need
        this call; hone's accept it)."""

    @property
    def vector_search(self) -> str:
        """``"sqlite-vec"`` or ``"numpy"``: how semantic search ranks here."""
        return self._sqlite.vector_search

    def __repr__(self) -> str:
        return f"SqliteStore({self._sqlite._path or ':memory:'!r}, vectors={self.vector_search!r})"

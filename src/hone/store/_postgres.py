"""``PostgresStore``: the store in PostgreSQL (psycopg 3 and a connection pool).

Values are ``jsonb`` (filters run in the database), vectors ``bytea``. Semantic search is
exact with numpy over a cache of the stored vectors, checked against the write counter
before each search; the pgvector extension is not needed. Every operation is one
transaction on a pooled connection; the async methods run in a worker thread.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from hone.errors import ConfigError, StoreError
from hone.store._core import RowStore
from hone.store._filter import Filter, postgres_sql
from hone.store._sql import Cursor, SqlBackend, TxKind, schema
from hone.store._types import IndexConfig, TTLConfig

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore"]

logger = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# One advisory lock key for creating the tables ("hone" "stor").
_SETUP_LOCK = 0x686F6E65_73746F72


def _import_psycopg() -> tuple[ModuleType, ModuleType]:
    try:
        return importlib.import_module("psycopg"), importlib.import_module("psycopg_pool")
    except ImportError as exc:
        raise ConfigError(
            "PostgresStore needs psycopg 3 and psycopg_pool: pip install 'hone[postgres]'"
        ) from exc


class _PostgresBackend(SqlBackend):
    offload = True
    placeholder = "%s"
    json_param = "?::jsonb"
    decodes_json = True

    def __init__(self, pool: ConnectionPool[Any], *, owns_pool: bool, schema_name: str) -> None:
        super().__init__()
        self._psycopg, self._pool_module = _import_psycopg()
        self._pool = pool
        self._owns_pool = owns_pool
        self._schema = schema_name
        self.prefix = f'"{schema_name}".hone_store_'
        self._ready = False
        self._ready_lock = threading.Lock()

    def setup(self) -> None:
        with self._attempt("write") as cur:
            cur.execute(f"SELECT pg_advisory_xact_lock({_SETUP_LOCK})")
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            for statement in schema("JSONB", "DOUBLE PRECISION", "BYTEA", 'TEXT COLLATE "C"'):
                # Index names take no schema qualifier in PostgreSQL.
                statement = statement.replace("EXISTS {p}items_", "EXISTS hone_store_items_")
                statement = statement.replace(
                    "EXISTS {p}namespaces_", "EXISTS hone_store_namespaces_"
                )
                cur.execute(self.q(statement))
            self.check_format(cur, f"PostgreSQL schema {self._schema!r}")
        self._ready = True

    @contextmanager
    def _attempt(self, kind: TxKind) -> Iterator[Cursor]:
        psycopg = self._psycopg
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._pool_module.PoolClosed as exc:
            raise StoreError("this PostgresStore is closed") from exc
        except self._pool_module.PoolTimeout as exc:
            raise StoreError(f"no PostgreSQL connection available: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL store error: {exc}") from exc

    @contextmanager
    def tx(self, kind: TxKind) -> Iterator[Cursor]:
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self.setup()
        with self._attempt(kind) as cur:
            yield cur

    def filter_sql(self, conditions: Filter, params: list[Any], column: str) -> str:
        return postgres_sql(conditions, params, column)

    def close(self) -> None:
        if self._owns_pool:
            self._pool.close()


class PostgresStore(RowStore):
    """A store in PostgreSQL: LangGraph's ``PostgresStore`` surface with TTLs and exact
    semantic search. Tables are created on first use (or by :meth:`setup`).

    Args:
        conninfo_or_pool: a libpq connection string (a pool of up to ``max_size``
            connections is opened from it) or an open ``psycopg_pool.ConnectionPool`` (used,
            not closed).
        index: what to embed (:class:`~hone.store.IndexConfig`); None: no semantic search.
        ttl: how items expire (:class:`~hone.store.TTLConfig`).
        schema: the PostgreSQL schema holding the tables (created if missing).
        max_size: the most connections a pool opened from a string holds.

    Raises:
        ConfigError: psycopg is not installed, or a setting is invalid.
    """

    def __init__(
        self,
        conninfo_or_pool: str | ConnectionPool[Any],
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        schema: str = "public",
        max_size: int = 10,
    ) -> None:
        _, pool_module = _import_psycopg()
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"schema must be a plain SQL identifier, got {schema!r}")
        if isinstance(conninfo_or_pool, str):
            if max_size < 1:
                raise ConfigError(f"max_size must be at least 1, got {max_size}")
            pool_cls = pool_module.ConnectionPool
            pool = pool_cls(
                conninfo_or_pool,
                min_size=1,
                max_size=max_size,
                check=pool_cls.check_connection,
                kwargs={"autocommit": True},
                open=True,
                name="hone-store",
            )
            backend = _PostgresBackend(pool, owns_pool=True, schema_name=schema)
        else:
            backend = _PostgresBackend(conninfo_or_pool, owns_pool=False, schema_name=schema)
        self._pg = backend
        super().__init__(backend, index=index, ttl=ttl)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        schema: str = "public",
    ) -> Iterator[PostgresStore]:
        """A store on a new pool for ``conn_string``, closed when the ``with`` block ends
        (LangGraph's constructor)::

            with PostgresStore.from_conn_string("postgresql://app@db/agents") as store:
                store.setup()
        """
        store = cls(conn_string, index=index, ttl=ttl, schema=schema)
        try:
            yield store
        finally:
            store.close()

    def setup(self) -> None:
        """Create the schema and tables if missing; safe to call concurrently."""
        self._pg.setup()

    @property
    def vector_search(self) -> str:
        """``"numpy"``: how semantic search ranks here."""
        return "numpy"

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self._pg._schema!r})"

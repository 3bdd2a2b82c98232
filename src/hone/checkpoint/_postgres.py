"""A saver on PostgreSQL (psycopg 3 and a ``psycopg_pool.ConnectionPool``).

The tables match the SQLite saver's (values in ``BYTEA``). Every operation is one transaction
on a pooled connection; the pool checks a connection before lending it, so one the server
dropped is replaced, and an operation that still loses its connection (``OperationalError``)
runs once more on a fresh one — every operation is idempotent, so a retry after a commit whose
answer was lost is harmless. Writes of one thread take a shared advisory lock and deletions
(``prune``, ``delete_thread``) an exclusive one, so a delete never removes a value a
concurrent write is about to refer to.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from hone.checkpoint._migration import Migration, check_format_version
from hone.checkpoint._protocol import FORMAT_VERSION
from hone.checkpoint._saver import RowSaver
from hone.checkpoint._serde import Serializer, TypedSerializer
from hone.checkpoint._sql import Cursor, SqlBackend, TxKind
from hone.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

__all__ = ["PoolConfig", "PostgresSaver"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Advisory lock keys: a fixed space for per-thread locks ("hone"), one key for setup.
_LOCK_SPACE = 0x686F6E65
# Per-chain locks of puts that append (see SqlBackend.lock_chains): another key space.
_CHAIN_LOCK_SPACE = 0x686F6E66
_SETUP_LOCK = 0x686F6E65_73657475

_DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {meta} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {cp} (
    thread_id TEXT NOT NULL, ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL, parent_id TEXT,
    step INTEGER NOT NULL, source TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    format_version INTEGER NOT NULL, schema_version INTEGER NOT NULL,
    refs TEXT NOT NULL, body BYTEA NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id)
);
CREATE TABLE IF NOT EXISTS {blobs} (
    thread_id TEXT NOT NULL, ns TEXT NOT NULL, channel TEXT NOT NULL, blob_id TEXT NOT NULL,
    base_id TEXT, data BYTEA NOT NULL,
    PRIMARY KEY (thread_id, ns, channel, blob_id)
);
CREATE TABLE IF NOT EXISTS {seg} (
    thread_id TEXT NOT NULL, ns TEXT NOT NULL, channel TEXT NOT NULL, chain_id TEXT NOT NULL,
    start_idx BIGINT NOT NULL, end_idx BIGINT NOT NULL, base_id TEXT, base_len BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (thread_id, ns, channel, chain_id, start_idx)
);
CREATE TABLE IF NOT EXISTS {writes} (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, thread_id TEXT NOT NULL,
    ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, idx INTEGER NOT NULL,
    task_path TEXT NOT NULL, channel TEXT NOT NULL, data BYTEA NOT NULL,
    UNIQUE (thread_id, ns, checkpoint_id, task_id, idx)
)
"""


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Settings of the connection pool a :class:`PostgresSaver` opens from a conninfo.

    Attributes:
        min_size: connections kept open.
        max_size: most connections open at once.
        timeout: seconds to wait for a free connection before failing.
        max_idle: seconds an unused connection above ``min_size`` stays open.
        max_lifetime: seconds after which a connection is replaced.
    """

    min_size: int = 1
    max_size: int = 10
    timeout: float = 30.0
    max_idle: float = 600.0
    max_lifetime: float = 3600.0


def _import_psycopg() -> tuple[ModuleType, ModuleType]:
    try:
        return importlib.import_module("psycopg"), importlib.import_module("psycopg_pool")
    except ImportError as exc:
        raise ConfigError(
            "PostgresSaver needs psycopg 3 and psycopg_pool: pip install 'hone[postgres]'"
        ) from exc


class _PostgresBackend(SqlBackend):
    placeholder = "%s"

    def __init__(self, pool: ConnectionPool[Any], *, owns_pool: bool, schema: str) -> None:
        super().__init__()
        self._psycopg, self._pool_module = _import_psycopg()
        self._pool = pool
        self._owns_pool = owns_pool
        self._schema = schema
        self.prefix = f'"{schema}".hone_'
        self._ready = False
        self._ready_lock = threading.Lock()

    def setup(self) -> None:
        """Create the schema and tables if missing (under an advisory lock)."""

        def body(cur: Cursor) -> None:
            cur.execute(f"SELECT pg_advisory_xact_lock({_SETUP_LOCK})")
            ddl = _DDL.replace("{schema}", f'"{self._schema}"')
            for statement in self._q(ddl).split(";"):
                cur.execute(statement)
            cur.execute(
                self._q(
                    "INSERT INTO {meta} (key, value) VALUES ('format_version', ?) "
                    "ON CONFLICT (key) DO NOTHING"
                ),
                (str(FORMAT_VERSION),),
            )
            cur.execute(self._q("SELECT value FROM {meta} WHERE key = 'format_version'"))
            ((version,),) = cur.fetchall()
            check_format_version(int(version), f"PostgreSQL schema {self._schema!r}")
            if int(version) < FORMAT_VERSION:
                # Rows of the new format follow: an older hone must refuse the schema.
                cur.execute(
                    self._q("UPDATE {meta} SET value = ? WHERE key = 'format_version'"),
                    (str(FORMAT_VERSION),),
                )

        self._attempt("exclusive", None, body)
        self._ready = True

    def _run(self, kind: TxKind, thread_id: str | None, body: Callable[[Cursor], T]) -> T:
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self.setup()
        return self._attempt(kind, thread_id, body)

    def _attempt(self, kind: TxKind, thread_id: str | None, body: Callable[[Cursor], T]) -> T:
        psycopg = self._psycopg
        for attempt in (1, 2):
            try:
                with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                    if kind == "snapshot":
                        # READ COMMITTED would give each statement a snapshot of its own.
                        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    elif thread_id is not None and kind != "read":
                        lock = "pg_advisory_xact_lock" + ("_shared" if kind == "write" else "")
                        cur.execute(f"SELECT {lock}({_LOCK_SPACE}, hashtext(%s))", (thread_id,))
                    return body(cur)
            # The pool's errors are OperationalErrors too: handle them first (no retry).
            except self._pool_module.PoolClosed as exc:
                raise CheckpointError("this PostgresSaver is closed") from exc
            except self._pool_module.PoolTimeout as exc:
                raise CheckpointError(f"no PostgreSQL connection available: {exc}") from exc
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise CheckpointError(f"PostgreSQL operation failed: {exc}") from exc
                logger.warning("PostgreSQL connection lost (%s); retrying once", exc)
            except psycopg.Error as exc:
                raise CheckpointError(f"PostgreSQL error: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def lock_chains(self, cur: Cursor, thread_id: str, ns: str, chains: Mapping[str, str]) -> None:
        # Puts of one thread share its lock; two appending to one chain must not interleave
        # (both would write the segment after the same tail). Sorted: no lock-order deadlock.
        for key in sorted(f"{thread_id}|{ns}|{c}|{chain}" for c, chain in chains.items()):
            cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_CHAIN_LOCK_SPACE, key))

    def close(self) -> None:
        if self._owns_pool:
            self._pool.close()


class PostgresSaver(RowSaver):
    """Checkpoints in PostgreSQL. Tables are created on first use (or by :meth:`setup`).

    Its async methods (``aput``, ``aget_tuple``, ...) run in a worker thread, so waiting on
    the server never blocks the event loop.

    Args:
        conninfo_or_pool: a libpq connection string (a pool is opened from it with
            ``pool_config``) or an open ``psycopg_pool.ConnectionPool`` (used, not closed).
        pool_config: pool settings when a connection string is given.
        schema: the PostgreSQL schema holding hone's tables (created if missing).
        serde: value encoding: a ``Serializer`` (default: safe, no pickle; ``cipher=`` to
            encrypt) or a LangGraph serializer (see :func:`~hone.checkpoint.as_serializer`).
        schema_version: the version of your state schema; see :class:`Migration`.
        migrations: upgrades of older state schema versions, keyed by the version upgraded.

    Raises:
        ConfigError: psycopg is not installed, or a setting is invalid.
    """

    def __init__(
        self,
        conninfo_or_pool: str | ConnectionPool[Any],
        *,
        pool_config: PoolConfig | None = None,
        schema: str = "public",
        serde: Serializer | TypedSerializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> None:
        _, pool_module = _import_psycopg()
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"schema must be a plain SQL identifier, got {schema!r}")
        if isinstance(conninfo_or_pool, str):
            config = pool_config or PoolConfig()
            if not 0 <= config.min_size <= config.max_size or config.max_size < 1:
                raise ConfigError(f"invalid pool sizes in {config}")
            pool_cls = pool_module.ConnectionPool
            pool = pool_cls(
                conninfo_or_pool,
                min_size=config.min_size,
                max_size=config.max_size,
                timeout=config.timeout,
                max_idle=config.max_idle,
                max_lifetime=config.max_lifetime,
                check=pool_cls.check_connection,
                kwargs={"autocommit": True},
                open=True,
                name="hone-checkpoints",
            )
            backend = _PostgresBackend(pool, owns_pool=True, schema=schema)
        else:
            if pool_config is not None:
                raise ConfigError("pool_config applies to a connection string, not to a pool")
            backend = _PostgresBackend(conninfo_or_pool, owns_pool=False, schema=schema)
        self._pg = backend
        super().__init__(backend, serde=serde, schema_version=schema_version, migrations=migrations)

    offload = True

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        pool_config: PoolConfig | None = None,
        schema: str = "public",
        serde: Serializer | TypedSerializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
    ) -> Iterator[PostgresSaver]:
        """A saver on a new pool for ``conn_string``, closed when the ``with`` block ends —
        LangGraph's constructor::

            with PostgresSaver.from_conn_string("postgresql://app@db/agents") as saver:
                saver.setup()
                graph = builder.compile(checkpointer=saver)
        """
        saver = cls(
            conn_string,
            pool_config=pool_config,
            schema=schema,
            serde=serde,
            schema_version=schema_version,
            migrations=migrations,
        )
        try:
            yield saver
        finally:
            saver.close()

    def setup(self) -> None:
        """Create the schema and tables if they do not exist; safe to call concurrently."""
        self._pg.setup()

    def __repr__(self) -> str:
        return f"PostgresSaver(schema={self._pg._schema!r})"

"""The database backends the server's tables live on: SQLite (the default) and PostgreSQL.

Each is a small :class:`Backend`: transactions with a cursor, its SQL placeholder, how it
compares a JSON value under a key, and whether its calls leave the event loop (SQLite runs
them on the loop, as they take microseconds; PostgreSQL in a worker thread, as hone's savers
do).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from hone.errors import ConfigError

__all__ = ["Backend", "Cursor", "PostgresBackend", "SqliteBackend", "is_postgres"]

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def is_postgres(database: str) -> bool:
    """Whether ``database`` names a PostgreSQL server (a URL or a libpq key=value string)."""
    text = database.strip()
    return text.startswith(("postgres://", "postgresql://")) or (
        "=" in text and any(k in text for k in ("host=", "dbname=", "user="))
    )


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchone(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...


class Backend(Protocol):
    placeholder: str
    #: Run operations in a worker thread (a network round trip) rather than on the loop.
    offload: bool
    tables: dict[str, str]

    def transaction(self) -> Any: ...
    def json_equals(self, column: str, key: str) -> tuple[str, Any]: ...
    def close(self) -> None: ...


class SqliteBackend:
    placeholder = "?"
    offload = False

    def __init__(self, path: str) -> None:
        if path not in ("", ":memory:"):
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            path or ":memory:", timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA busy_timeout = 30000")
        if path not in ("", ":memory:"):
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._lock = threading.Lock()
        self.tables = {
            "assistants": "hone_server_assistants",
            "threads": "hone_server_threads",
            "runs": "hone_server_runs",
            "prefix": "hone_server_",
        }

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()

    def json_equals(self, column: str, key: str) -> tuple[str, Any]:
        # json_each rather than a JSON path: a path cannot spell every key (quotes, NUL).
        return (
            f"EXISTS (SELECT 1 FROM json_each({column}) AS j "
            "WHERE j.key = ? AND j.value IS json_extract(?, '$'))",
            key,
        )

    def close(self) -> None:
        self._conn.close()


class PostgresBackend:
    placeholder = "%s"
    offload = True

    def __init__(self, dsn: str, schema: str) -> None:
        try:
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise ConfigError(
                "a PostgreSQL database needs psycopg 3: pip install 'hone[postgres]'"
            ) from exc
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"schema must be a plain SQL identifier, got {schema!r}")
        self._pool: Any = ConnectionPool(
            dsn,
            min_size=1,
            max_size=10,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            open=True,
            name="hone-server",
        )
        self.schema = schema
        self.tables = {
            "assistants": f'"{schema}".hone_server_assistants',
            "threads": f'"{schema}".hone_server_threads',
            "runs": f'"{schema}".hone_server_runs',
            "prefix": "hone_server_",
        }

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def json_equals(self, column: str, key: str) -> tuple[str, Any]:
        return f"(({column})::jsonb -> %s) IS NOT DISTINCT FROM (%s)::jsonb", key

    def close(self) -> None:
        self._pool.close()

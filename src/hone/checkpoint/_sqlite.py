"""A saver on a SQLite file: the default of the command line.

Safe with many threads and many processes at once: the database runs in WAL mode (readers
never block the writer), every thread gets its own connection, every write is one
``BEGIN IMMEDIATE`` transaction (so two writers queue on the lock instead of failing on an
upgrade), and a writer that finds the file locked waits up to ``timeout`` seconds.

Durability (``synchronous=``): with ``"normal"``, the default, a commit is written to the WAL
file but not flushed to the disk. A committed ``put`` survives the process crashing or being
killed at any point (the operating system still holds the write), which is what resuming a
crashed run needs, and the database is never corrupted; a power loss or operating-system crash
may lose the last commits. ``"full"`` flushes the WAL on every commit, so commits also survive
power loss, at the cost of one ``fsync`` per ``put`` and per task's writes (often milliseconds).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Literal, Self, TypeAlias, TypeVar

from hone._sqlite import read_only_uri
from hone.checkpoint._migration import Migration, check_format_version
from hone.checkpoint._protocol import FORMAT_VERSION
from hone.checkpoint._saver import RowSaver
from hone.checkpoint._serde import Serializer, TypedSerializer
from hone.checkpoint._sql import Cursor, SqlBackend, TxKind
from hone.errors import CheckpointError, ConfigError

__all__ = ["SqliteSaver"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hone_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hone_checkpoints (
    thread_id TEXT NOT NULL, ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL, parent_id TEXT,
    step INTEGER NOT NULL, source TEXT NOT NULL, created_at REAL NOT NULL,
    format_version INTEGER NOT NULL, schema_version INTEGER NOT NULL,
    refs TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hone_blobs (
    thread_id TEXT NOT NULL, ns TEXT NOT NULL, channel TEXT NOT NULL, blob_id TEXT NOT NULL,
    base_id TEXT, data BLOB NOT NULL,
    PRIMARY KEY (thread_id, ns, channel, blob_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hone_segments (
    thread_id TEXT NOT NULL, ns TEXT NOT NULL, channel TEXT NOT NULL, chain_id TEXT NOT NULL,
    start_idx INTEGER NOT NULL, end_idx INTEGER NOT NULL, base_id TEXT,
    base_len INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (thread_id, ns, channel, chain_id, start_idx)
);
CREATE TABLE IF NOT EXISTS hone_writes (
    seq INTEGER PRIMARY KEY, thread_id TEXT NOT NULL, ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL, idx INTEGER NOT NULL,
    task_path TEXT NOT NULL, channel TEXT NOT NULL, data BLOB NOT NULL,
    UNIQUE (thread_id, ns, checkpoint_id, task_id, idx)
);
"""
_SETUP_ATTEMPTS = 50
T = TypeVar("T")

#: How hard a commit is pushed to the disk; see the module docstring.
Synchronous: TypeAlias = Literal["normal", "full"]


class _SqliteBackend(SqlBackend):
    def __init__(
        self,
        target: str | Path | sqlite3.Connection,
        timeout: float,
        synchronous: Synchronous,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self._timeout = timeout
        self._synchronous = synchronous
        self._read_only = read_only
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._shared: sqlite3.Connection | None = None
        # One connection (and a lock around it) when the caller gives one or the database
        # lives in memory; otherwise one connection per thread.
        self._shared_lock = threading.RLock()
        if read_only and (
            isinstance(target, sqlite3.Connection) or str(target) in ("", ":memory:")
        ):
            raise ConfigError("read_only needs a database file, not a connection or :memory:")
        if isinstance(target, sqlite3.Connection):
            self._path = ""
            self._shared = target
            self._owns_shared = False
        else:
            self._path = str(target)
            self._owns_shared = True
            if self._path in ("", ":memory:"):
                self._shared = self._connect()
        if read_only:
            self._check_readable()
        else:
            self._setup()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            read_only_uri(self._path) if self._read_only else self._path or ":memory:",
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=self._read_only,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        conn.execute(f"PRAGMA synchronous = {self._synchronous.upper()}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise CheckpointError("this SqliteSaver is closed")
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _setup(self) -> None:
        # Several processes may create the file at once; setting WAL needs a moment alone.
        for attempt in range(_SETUP_ATTEMPTS):
            try:
                self._setup_once()
                return
            except (sqlite3.OperationalError, CheckpointError) as exc:
                if "locked" not in str(exc) or attempt == _SETUP_ATTEMPTS - 1:
                    if isinstance(exc, CheckpointError):
                        raise
                    raise CheckpointError(f"cannot set up SQLite checkpoints: {exc}") from exc
                time.sleep(0.05 * (attempt + 1))

    def _setup_once(self) -> None:
        conn = self._conn()
        if self._path:
            conn.execute("PRAGMA journal_mode = WAL")
        with self._tx("write") as cur:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    cur.execute(statement)
            cur.execute(
                "INSERT INTO hone_meta (key, value) VALUES ('format_version', ?) "
                "ON CONFLICT (key) DO NOTHING",
                (str(FORMAT_VERSION),),
            )
            cur.execute("SELECT value FROM hone_meta WHERE key = 'format_version'")
            ((version,),) = cur.fetchall()
            check_format_version(int(version), f"SQLite database {self._path or '(connection)'!r}")
            if int(version) < FORMAT_VERSION:
                # Rows of the new format follow: an older hone must refuse the database.
                cur.execute(
                    "UPDATE hone_meta SET value = ? WHERE key = 'format_version'",
                    (str(FORMAT_VERSION),),
                )

    def _check_readable(self) -> None:
        """A read-only saver's check: an existing hone checkpoint database this hone reads."""
        if not Path(self._path).is_file():
            raise CheckpointError(f"no checkpoint database at {self._path}")
        try:
            with self._tx("read") as cur:
                cur.execute("SELECT value FROM hone_meta WHERE key = 'format_version'")
                rows = cur.fetchall()
        except CheckpointError as exc:
            raise CheckpointError(
                f"{self._path} is not a hone checkpoint database ({exc.__cause__ or exc})"
            ) from exc
        if not rows:
            raise CheckpointError(f"{self._path} is not a hone checkpoint database (no version)")
        check_format_version(int(rows[0][0]), f"SQLite database {self._path!r}")

    def _run(self, kind: TxKind, thread_id: str | None, body: Callable[[Cursor], T]) -> T:
        if self._read_only and kind in ("write", "exclusive"):
            raise CheckpointError(
                f"this SqliteSaver opened {self._path} read only (read_only=True): it cannot "
                "write checkpoints"
            )
        with self._tx(kind) as cur:
            return body(cur)

    @contextmanager
    def _tx(self, kind: TxKind) -> Iterator[Cursor]:
        conn = self._conn()
        with self._shared_lock if self._shared is not None else nullcontext():
            if conn.in_transaction:
                raise CheckpointError(
                    "the sqlite3 connection given to SqliteSaver has a transaction open; "
                    "commit it first, or give the saver a connection of its own"
                )
            cur = conn.cursor()
            try:
                if kind == "read":  # one statement is a transaction of its own
                    yield cur
                    return
                cur.execute("BEGIN" if kind == "snapshot" else "BEGIN IMMEDIATE")
                yield cur
                cur.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise CheckpointError(f"SQLite checkpoint storage failed: {exc}") from exc
            except BaseException:
                self._rollback(conn)
                raise
            finally:
                cur.close()

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            if conn is not self._shared or self._owns_shared:
                conn.close()


class SqliteSaver(RowSaver):
    """Checkpoints in a SQLite database file (created, with its tables, on first use).

    Args:
        path_or_conn: a file path, ``":memory:"``, or an open ``sqlite3.Connection`` (shared
            behind a lock; open it with ``check_same_thread=False`` to use it from threads).
        serde: value encoding: a ``Serializer`` (default: safe, no pickle; ``cipher=`` to
            encrypt) or a LangGraph serializer (see :func:`~hone.checkpoint.as_serializer`).
        schema_version: the version of your state schema; see :class:`Migration`.
        migrations: upgrades of older state schema versions, keyed by the version upgraded.
        timeout: seconds a writer waits for another to release the database.
        synchronous: ``"normal"`` (commits survive a crash of the process) or ``"full"``
            (they also survive power loss, at one ``fsync`` per commit); see the module
            docstring. Applies to the connections the saver opens, not to one you pass in.
        read_only: open an existing database file read only: nothing is written to it (no
            tables created, no journal mode or format version changed); a write raises
            :class:`~hone.errors.CheckpointError`. For tools that inspect checkpoints.

    Raises:
        CheckpointVersionError: the database was written by a newer hone.
        CheckpointError: ``read_only`` and no hone checkpoint database at the path.
        ConfigError: a setting out of range, or ``read_only`` without a file.
    """

    def __init__(
        self,
        path_or_conn: str | Path | sqlite3.Connection,
        *,
        serde: Serializer | TypedSerializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
        timeout: float = 30.0,
        synchronous: Synchronous = "normal",
        read_only: bool = False,
    ) -> None:
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout}")
        if synchronous not in ("normal", "full"):
            raise ConfigError(f'synchronous must be "normal" or "full", got {synchronous!r}')
        self._target = path_or_conn
        self._sqlite = _SqliteBackend(path_or_conn, timeout, synchronous, read_only)
        super().__init__(
            self._sqlite,
            serde=serde,
            schema_version=schema_version,
            migrations=migrations,
        )

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        serde: Serializer | TypedSerializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
        timeout: float = 30.0,
        synchronous: Synchronous = "normal",
        read_only: bool = False,
    ) -> Iterator[SqliteSaver]:
        """A saver on ``conn_string`` (a path or ``":memory:"``), closed when the ``with``
        block ends — LangGraph's constructor::

            with SqliteSaver.from_conn_string("checkpoints.db") as saver:
                graph = builder.compile(checkpointer=saver)
        """
        saver = cls(
            conn_string,
            serde=serde,
            schema_version=schema_version,
            migrations=migrations,
            timeout=timeout,
            synchronous=synchronous,
            read_only=read_only,
        )
        try:
            yield saver
        finally:
            saver.close()

    def setup(self) -> None:
        """Create the tables if they do not exist (the constructor already does)."""
        self._sqlite._setup()

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        serde: Serializer | TypedSerializer | None = None,
        schema_version: int = 1,
        migrations: Mapping[int, Migration] | None = None,
        timeout: float = 30.0,
        synchronous: Synchronous = "normal",
    ) -> Self:
        """A saver on the database file at ``path``, creating its folder if needed."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return cls(
            path,
            serde=serde,
            schema_version=schema_version,
            migrations=migrations,
            timeout=timeout,
            synchronous=synchronous,
        )

    def __repr__(self) -> str:
        target = "connection" if isinstance(self._target, sqlite3.Connection) else self._target
        return f"SqliteSaver({str(target)!r})"

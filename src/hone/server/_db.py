"""Where the server keeps assistants, threads and runs, on one of :mod:`._backends`.

The tables live beside the checkpoint tables, in the same SQLite file or PostgreSQL schema,
so one database holds everything a deployment needs. Every operation is one short
transaction. SQLite runs them on the event loop (they take microseconds and a thread hop
costs more); PostgreSQL runs them in a worker thread, as hone's savers do.

Metadata and values filters compare the JSON value under each key: SQLite with
``json_extract``, PostgreSQL with ``jsonb`` equality.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hone.server._backends import Backend, PostgresBackend, SqliteBackend, is_postgres
from hone.server._records import (
    ACTIVE_RUN_STATUSES,
    AssistantRecord,
    RunRecord,
    ThreadRecord,
)

__all__ = ["Database", "SearchQuery", "open_database"]

T = TypeVar("T")

_TABLES = """
CREATE TABLE IF NOT EXISTS {assistants} (
    assistant_id TEXT PRIMARY KEY, graph_id TEXT NOT NULL, owner TEXT, name TEXT NOT NULL,
    description TEXT, config TEXT NOT NULL, context TEXT NOT NULL, metadata TEXT NOT NULL,
    version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {threads} (
    thread_id TEXT PRIMARY KEY, owner TEXT NOT NULL, metadata TEXT NOT NULL,
    status TEXT NOT NULL, graph_id TEXT, state_values TEXT, interrupts TEXT NOT NULL,
    error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {prefix}threads_owner ON {threads} (owner, updated_at);
CREATE TABLE IF NOT EXISTS {runs} (
    run_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, owner TEXT NOT NULL,
    assistant_id TEXT NOT NULL, graph_id TEXT NOT NULL, kwargs TEXT NOT NULL,
    status TEXT NOT NULL, metadata TEXT NOT NULL, multitask_strategy TEXT NOT NULL,
    stateless INTEGER NOT NULL, output TEXT, error TEXT, cancel_reason TEXT,
    attempt INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {prefix}runs_thread ON {runs} (thread_id, created_at);
CREATE INDEX IF NOT EXISTS {prefix}runs_status ON {runs} (status)
"""

_ASSISTANT_COLS = (
    "assistant_id, graph_id, owner, name, description, config, context, metadata, version, "
    "created_at, updated_at"
)
_THREAD_COLS = (
    "thread_id, owner, metadata, status, graph_id, state_values, interrupts, error, "
    "created_at, updated_at"
)
_RUN_COLS = (
    "run_id, thread_id, owner, assistant_id, graph_id, kwargs, status, metadata, "
    "multitask_strategy, stateless, output, error, cancel_reason, attempt, created_at, "
    "updated_at"
)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Filters, order and page of a search (every filter optional)."""

    owner: str | None = None
    metadata: Mapping[str, Any] | None = None
    values: Mapping[str, Any] | None = None
    ids: Sequence[str] | None = None
    status: str | None = None
    graph_id: str | None = None
    name: str | None = None
    limit: int = 10
    offset: int = 0
    sort_by: str = "created_at"
    sort_order: str = "desc"


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Database:
    """The server's tables on one backend; every method is one transaction."""

    def __init__(self, backend: Backend) -> None:
        self._b = backend
        self._t = backend.tables

    # -------------------------------------------------------------------- plumbing

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._b.offload:
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    def _sql(self, text: str) -> str:
        sql = text.format(**self._t)
        return sql.replace("?", self._b.placeholder) if self._b.placeholder != "?" else sql

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._b.transaction() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return list(cur.fetchall())

    def _write(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._b.transaction() as cur:
            cur.execute(self._sql(sql), tuple(params))
            return int(cur.rowcount)

    def setup_sync(self) -> None:
        """Create the tables if they are missing."""
        with self._b.transaction() as cur:
            if isinstance(self._b, PostgresBackend):
                cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._b.schema}"')
            for statement in _TABLES.format(**self._t).split(";"):
                if statement.strip():
                    cur.execute(statement)

    async def setup(self) -> None:
        """Create the tables if they are missing."""
        await self._call(self.setup_sync)

    def close(self) -> None:
        """Close the connections."""
        self._b.close()

    def _filters(self, query: SearchQuery, *, table: str) -> tuple[str, list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if query.owner is not None:
            if table == "assistants":
                where.append("(owner IS NULL OR owner = ?)")
            else:
                where.append("owner = ?")
            params.append(query.owner)
        for column, filters in (("metadata", query.metadata), ("state_values", query.values)):
            for key, value in (filters or {}).items():
                sql, key_param = self._b.json_equals(column, str(key))
                where.append(sql)
                params.extend([key_param, _dump(value)])
        if query.ids:
            where.append(f"thread_id IN ({', '.join('?' for _ in query.ids)})")
            params.extend(query.ids)
        for column, value in (
            ("status", query.status),
            ("graph_id", query.graph_id),
            ("name", query.name),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        return (" WHERE " + " AND ".join(where)) if where else "", params

    # -------------------------------------------------------------------- assistants

    async def put_assistant(self, record: AssistantRecord) -> None:
        """Insert or replace an assistant."""
        updates = ", ".join(
            f"{c} = excluded.{c}" for c in _ASSISTANT_COLS.split(", ") if c != "assistant_id"
        )
        await self._call(
            self._write,
            f"INSERT INTO {{assistants}} ({_ASSISTANT_COLS}) VALUES ({', '.join('?' * 11)}) "
            f"ON CONFLICT (assistant_id) DO UPDATE SET {updates}",
            (
                record.assistant_id,
                record.graph_id,
                record.owner,
                record.name,
                record.description,
                _dump(record.config),
                _dump(record.context),
                _dump(record.metadata),
                record.version,
                record.created_at,
                record.updated_at,
            ),
        )

    async def get_assistant(self, assistant_id: str) -> AssistantRecord | None:
        """The assistant, or None."""
        rows = await self._call(
            self._query,
            f"SELECT {_ASSISTANT_COLS} FROM {{assistants}} WHERE assistant_id = ?",
            (assistant_id,),
        )
        return _assistant(rows[0]) if rows else None

    async def search_assistants(self, query: SearchQuery) -> list[AssistantRecord]:
        """Assistants matching ``query``, one page."""
        where, params = self._filters(query, table="assistants")
        sql = (
            f"SELECT {_ASSISTANT_COLS} FROM {{assistants}}{where} "
            f"ORDER BY {query.sort_by} {query.sort_order}, assistant_id LIMIT ? OFFSET ?"
        )
        rows = await self._call(self._query, sql, (*params, query.limit, query.offset))
        return [_assistant(r) for r in rows]

    async def count_assistants(self, query: SearchQuery) -> int:
        """How many assistants match ``query``."""
        where, params = self._filters(query, table="assistants")
        rows = await self._call(self._query, f"SELECT COUNT(*) FROM {{assistants}}{where}", params)
        return int(rows[0][0])

    async def delete_assistant(self, assistant_id: str) -> bool:
        """Delete an assistant; whether there was one."""
        n = await self._call(
            self._write, "DELETE FROM {assistants} WHERE assistant_id = ?", (assistant_id,)
        )
        return n > 0

    # -------------------------------------------------------------------- threads

    async def insert_thread(self, record: ThreadRecord) -> bool:
        """Insert a thread unless its id is taken; whether it was inserted."""
        n = await self._call(
            self._write,
            f"INSERT INTO {{threads}} ({_THREAD_COLS}) VALUES ({', '.join('?' * 10)}) "
            "ON CONFLICT (thread_id) DO NOTHING",
            _thread_params(record),
        )
        return n > 0

    async def save_thread(self, record: ThreadRecord) -> None:
        """Write every field of an existing thread."""
        await self._call(
            self._write,
            "UPDATE {threads} SET owner = ?, metadata = ?, status = ?, graph_id = ?, "
            "state_values = ?, interrupts = ?, error = ?, created_at = ?, updated_at = ? "
            "WHERE thread_id = ?",
            (*_thread_params(record)[1:], record.thread_id),
        )

    async def get_thread(self, thread_id: str) -> ThreadRecord | None:
        """The thread, or None."""
        rows = await self._call(
            self._query,
            f"SELECT {_THREAD_COLS} FROM {{threads}} WHERE thread_id = ?",
            (thread_id,),
        )
        return _thread(rows[0]) if rows else None

    async def search_threads(self, query: SearchQuery) -> list[ThreadRecord]:
        """Threads matching ``query``, one page."""
        where, params = self._filters(query, table="threads")
        sql = (
            f"SELECT {_THREAD_COLS} FROM {{threads}}{where} "
            f"ORDER BY {query.sort_by} {query.sort_order}, thread_id LIMIT ? OFFSET ?"
        )
        rows = await self._call(self._query, sql, (*params, query.limit, query.offset))
        return [_thread(r) for r in rows]

    async def count_threads(self, query: SearchQuery) -> int:
        """How many threads match ``query``."""
        where, params = self._filters(query, table="threads")
        rows = await self._call(self._query, f"SELECT COUNT(*) FROM {{threads}}{where}", params)
        return int(rows[0][0])

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete a thread and its runs; whether there was one."""
        await self._call(self._write, "DELETE FROM {runs} WHERE thread_id = ?", (thread_id,))
        n = await self._call(self._write, "DELETE FROM {threads} WHERE thread_id = ?", (thread_id,))
        return n > 0

    # -------------------------------------------------------------------- runs

    async def insert_run(self, record: RunRecord) -> None:
        """Insert a new run."""
        await self._call(
            self._write,
            f"INSERT INTO {{runs}} ({_RUN_COLS}) VALUES ({', '.join('?' * 16)})",
            _run_params(record),
        )

    async def save_run(self, record: RunRecord) -> None:
        """Write every field of an existing run."""
        params = _run_params(record)
        await self._call(
            self._write,
            "UPDATE {runs} SET thread_id = ?, owner = ?, assistant_id = ?, graph_id = ?, "
            "kwargs = ?, status = ?, metadata = ?, multitask_strategy = ?, stateless = ?, "
            "output = ?, error = ?, cancel_reason = ?, attempt = ?, created_at = ?, "
            "updated_at = ? WHERE run_id = ?",
            (*params[1:], record.run_id),
        )

    async def get_run(self, run_id: str) -> RunRecord | None:
        """The run, or None."""
        rows = await self._call(
            self._query, f"SELECT {_RUN_COLS} FROM {{runs}} WHERE run_id = ?", (run_id,)
        )
        return _run(rows[0]) if rows else None

    async def list_runs(
        self, thread_id: str, *, limit: int, offset: int, status: str | None = None
    ) -> list[RunRecord]:
        """A thread's runs, newest first, one page."""
        extra = " AND status = ?" if status else ""
        params: list[Any] = [thread_id, *([status] if status else []), limit, offset]
        rows = await self._call(
            self._query,
            f"SELECT {_RUN_COLS} FROM {{runs}} WHERE thread_id = ?{extra} "
            "ORDER BY created_at DESC, run_id LIMIT ? OFFSET ?",
            params,
        )
        return [_run(r) for r in rows]

    async def runs_with_status(
        self, statuses: Sequence[str], *, thread_id: str | None = None
    ) -> list[RunRecord]:
        """Runs in one of ``statuses`` (of one thread), oldest first."""
        where = f"status IN ({', '.join('?' for _ in statuses)})"
        params: list[Any] = list(statuses)
        if thread_id is not None:
            where += " AND thread_id = ?"
            params.append(thread_id)
        rows = await self._call(
            self._query,
            f"SELECT {_RUN_COLS} FROM {{runs}} WHERE {where} ORDER BY created_at, run_id",
            params,
        )
        return [_run(r) for r in rows]

    async def active_runs(self, thread_id: str) -> list[RunRecord]:
        """The thread's pending and running runs, oldest first."""
        return await self.runs_with_status(ACTIVE_RUN_STATUSES, thread_id=thread_id)

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run; whether there was one."""
        n = await self._call(self._write, "DELETE FROM {runs} WHERE run_id = ?", (run_id,))
        return n > 0


def open_database(database: str, *, postgres_schema: str = "public") -> Database:
    """The database at ``database``: a SQLite path (or ``":memory:"``) or a PostgreSQL URL.

    Raises:
        ConfigError: psycopg is missing for a PostgreSQL URL, or the schema name is invalid.
    """
    if is_postgres(database):
        return Database(PostgresBackend(database, postgres_schema))
    return Database(SqliteBackend(database))


def _thread_params(r: ThreadRecord) -> tuple[Any, ...]:
    return (
        r.thread_id,
        r.owner,
        _dump(r.metadata),
        r.status,
        r.graph_id,
        None if r.values is None else _dump(r.values),
        _dump(r.interrupts),
        r.error,
        r.created_at,
        r.updated_at,
    )


def _run_params(r: RunRecord) -> tuple[Any, ...]:
    return (
        r.run_id,
        r.thread_id,
        r.owner,
        r.assistant_id,
        r.graph_id,
        _dump(r.kwargs),
        r.status,
        _dump(r.metadata),
        r.multitask_strategy,
        int(r.stateless),
        None if r.output is None else _dump(r.output),
        r.error,
        r.cancel_reason,
        r.attempt,
        r.created_at,
        r.updated_at,
    )


def _assistant(row: Any) -> AssistantRecord:
    return AssistantRecord(
        assistant_id=row[0],
        graph_id=row[1],
        owner=row[2],
        name=row[3],
        description=row[4],
        config=_load(row[5]),
        context=_load(row[6]),
        metadata=_load(row[7]),
        version=int(row[8]),
        created_at=row[9],
        updated_at=row[10],
    )


def _thread(row: Any) -> ThreadRecord:
    return ThreadRecord(
        thread_id=row[0],
        owner=row[1],
        metadata=_load(row[2]),
        status=row[3],
        graph_id=row[4],
        values=_load(row[5]),
        interrupts=_load(row[6]),
        error=row[7],
        created_at=row[8],
        updated_at=row[9],
    )


def _run(row: Any) -> RunRecord:
    return RunRecord(
        run_id=row[0],
        thread_id=row[1],
        owner=row[2],
        assistant_id=row[3],
        graph_id=row[4],
        kwargs=_load(row[5]),
        status=row[6],
        metadata=_load(row[7]),
        multitask_strategy=row[8],
        stateless=bool(row[9]),
        output=_load(row[10]),
        error=row[11],
        cancel_reason=row[12],
        attempt=int(row[13]),
        created_at=row[14],
        updated_at=row[15],
    )

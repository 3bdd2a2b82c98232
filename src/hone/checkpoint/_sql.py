"""Row storage on a SQL database: the statements SQLite and PostgreSQL share.

Subclasses supply the connection handling (:meth:`SqlBackend._run`) and the DDL; the tables
are described in :mod:`hone.checkpoint._rows`. Statements are written with ``?``
placeholders and table names in braces; :meth:`SqlBackend._q` adapts them to the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

from hone.checkpoint._retention import kept_segments
from hone.checkpoint._rows import (
    BlobRow,
    CheckpointRow,
    PruneInfo,
    ReadTx,
    SegmentInfo,
    SegmentRow,
    WriteRow,
    WriteTx,
    reachable_blobs,
    refs_from_json,
    refs_to_json,
)

__all__ = ["Cursor", "SqlBackend", "TxKind"]

#: "read": statements that need no common snapshot; "snapshot": several reads that must see
#: one snapshot of the data; "write": writes that may run beside other writes of the thread;
#: "exclusive": deletes that must not interleave with other writes of the thread.
TxKind = Literal["read", "snapshot", "write", "exclusive"]
#: Most pending writes read in one statement (keeps the parameter count small).
_WRITES_PER_QUERY = 200

T = TypeVar("T")

_CP_COLUMNS = (
    "thread_id, ns, checkpoint_id, parent_id, step, source, created_at, "
    "format_version, schema_version, refs, body"
)
_SEG_INFO = "channel, chain_id, start_idx, end_idx, base_id, base_len"


class Cursor(Protocol):
    """The part of a DB-API cursor the backend uses (sqlite3 and psycopg both have it)."""

    def execute(self, query: Any, params: Sequence[Any] = ..., /) -> Any:
        """Run one statement."""
        ...

    def executemany(self, query: Any, params: Sequence[Sequence[Any]], /) -> Any:
        """Run one statement for each parameter row."""
        ...

    def fetchall(self) -> list[Any]:
        """All result rows."""
        ...


def _row(values: Sequence[Any]) -> CheckpointRow:
    (thread_id, ns, cid, parent, step, source, created, fmt, schema, refs, body) = values
    return CheckpointRow(
        thread_id=thread_id,
        ns=ns,
        checkpoint_id=cid,
        parent_id=parent,
        step=int(step),
        source=source,
        created_at=float(created),
        format_version=int(fmt),
        schema_version=int(schema),
        refs=refs_from_json(refs),
        body=bytes(body),
    )


def _pairs(wanted: Mapping[str, str], second: str) -> tuple[str, list[Any]]:
    # One primary-key lookup per pair: "IN (...)" on the second column alone would scan
    # every row of the thread, making each put O(N).
    pairs = sorted(wanted.items())
    terms = " OR ".join([f"(channel = ? AND {second} = ?)"] * len(pairs))
    return terms, [x for pair in pairs for x in pair]


class _SqlTx:
    """The read and write primitives of :mod:`._rows` on one cursor."""

    def __init__(self, backend: SqlBackend, cur: Cursor) -> None:
        self._backend, self._q, self.cur = backend, backend._q, cur

    def _all(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self.cur.execute(self._q(sql), params)
        return self.cur.fetchall()

    # -- reads ----------------------------------------------------------------------------

    def checkpoint(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> CheckpointRow | None:
        if checkpoint_id is None:
            rows = self._all(_LATEST, (thread_id, ns))
        else:
            rows = self._all(_ONE, (thread_id, ns, checkpoint_id))
        return _row(rows[0]) if rows else None

    def checkpoints(
        self,
        thread_id: str | None,
        ns: str | None,
        *,
        checkpoint_id: str | None,
        before: str | None,
        limit: int | None,
    ) -> list[CheckpointRow]:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("thread_id", thread_id),
            ("ns", ns),
            ("checkpoint_id", checkpoint_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if before is not None:
            where.append("checkpoint_id < ?")
            params.append(before)
        sql = f"SELECT {_CP_COLUMNS} FROM {{cp}}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY checkpoint_id DESC, thread_id DESC, ns DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row(r) for r in self._all(sql, params)]

    def blob_chains(
        self, thread_id: str, ns: str, refs: Mapping[str, str]
    ) -> dict[str, dict[str, BlobRow]]:
        out: dict[str, dict[str, BlobRow]] = {}
        for channel, blob_id in refs.items():
            rows = self._all(_CHAIN, (thread_id, ns, channel, blob_id, thread_id, ns, channel))
            out[channel] = {b: BlobRow(channel, b, base, bytes(data)) for b, base, data in rows}
        return out

    def segments(
        self, thread_id: str, ns: str, channel: str, chain_id: str, *, start: int = 0, end: int
    ) -> list[SegmentRow]:
        rows = self._all(_SEGMENTS, (thread_id, ns, channel, chain_id, start, end))
        return [
            SegmentRow(channel, chain_id, int(s), int(e), b, int(n), bytes(d))
            for s, e, b, n, d in rows
        ]

    def writes(
        self, thread_id: str, ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[WriteRow]]:
        out: dict[str, list[WriteRow]] = {}
        for start in range(0, len(checkpoint_ids), _WRITES_PER_QUERY):
            chunk = checkpoint_ids[start : start + _WRITES_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = self._all(
                "SELECT checkpoint_id, task_id, idx, task_path, channel, data FROM {writes} "
                "WHERE thread_id = ? AND ns = ? AND checkpoint_id IN (" + marks + ") "
                "ORDER BY checkpoint_id, task_path, task_id, idx",
                (thread_id, ns, *chunk),
            )
            for cid, t, i, p, c, d in rows:
                out.setdefault(cid, []).append(WriteRow(t, int(i), p, c, bytes(d)))
        return out

    # -- writes ---------------------------------------------------------------------------

    def existing_blobs(self, thread_id: str, ns: str, wanted: Mapping[str, str]) -> set[str]:
        terms, params = _pairs(wanted, "blob_id")
        rows = self._all(
            "SELECT channel, blob_id FROM {blobs} WHERE thread_id = ? AND ns = ? AND ("
            + terms
            + ")",
            (thread_id, ns, *params),
        )
        found = {(c, b) for c, b in rows}
        return {c for c, b in wanted.items() if (c, b) in found}

    def chain_segments(
        self, thread_id: str, ns: str, wanted: Mapping[str, str]
    ) -> dict[str, list[SegmentInfo]]:
        self._backend.lock_chains(self.cur, thread_id, ns, wanted)
        terms, params = _pairs(wanted, "chain_id")
        rows = self._all(
            f"SELECT {_SEG_INFO} FROM {{seg}} WHERE thread_id = ? AND ns = ? AND ("
            + terms
            + ") ORDER BY channel, chain_id, start_idx",
            (thread_id, ns, *params),
        )
        out: dict[str, list[SegmentInfo]] = {c: [] for c in wanted}
        for c, chain, s, e, b, n in rows:
            if wanted.get(c) == chain:
                out[c].append(SegmentInfo(ns, c, chain, int(s), int(e), b, int(n)))
        return out

    def delete_segments(
        self, thread_id: str, ns: str, channel: str, chain_id: str, start: int
    ) -> None:
        self.cur.execute(
            self._q(
                "DELETE FROM {seg} WHERE thread_id = ? AND ns = ? AND channel = ? "
                "AND chain_id = ? AND start_idx >= ?"
            ),
            (thread_id, ns, channel, chain_id, start),
        )

    def put_rows(
        self, row: CheckpointRow, blobs: Sequence[BlobRow], segments: Sequence[SegmentRow]
    ) -> None:
        t, ns = row.thread_id, row.ns
        if blobs:
            self.cur.executemany(
                self._q(_UPSERT_BLOB),
                [(t, ns, b.channel, b.blob_id, b.base_id, b.data) for b in blobs],
            )
        if segments:
            self.cur.executemany(
                self._q(_UPSERT_SEGMENT),
                [
                    (t, ns, s.channel, s.chain_id, s.start, s.end, s.base_id, s.base_len, s.data)
                    for s in segments
                ],
            )
        self.cur.execute(self._q(_UPSERT_CHECKPOINT), _checkpoint_params(row))

    def put_writes(
        self, thread_id: str, ns: str, checkpoint_id: str, rows: Sequence[WriteRow]
    ) -> None:
        for replace in (False, True):
            params = [
                (thread_id, ns, checkpoint_id, w.task_id, w.idx, w.task_path, w.channel, w.data)
                for w in rows
                if (w.idx < 0) is replace
            ]
            if params:
                sql = _REPLACE_WRITE if replace else _INSERT_WRITE
                self.cur.executemany(self._q(sql), params)


class SqlBackend:
    """The shared statements; see the module docstring."""

    #: Placeholder of the driver ("?" for sqlite3, "%s" for psycopg).
    placeholder = "?"
    #: Table name prefix, e.g. "hone_" or '"schema".hone_'.
    prefix = "hone_"

    def __init__(self) -> None:
        # Statement text -> the driver's text, built once: the drivers cache prepared
        # statements by their text, so the same text each time also reuses the statement.
        self._statements: dict[str, str] = {}

    def _run(self, kind: TxKind, thread_id: str | None, body: Callable[[Cursor], T]) -> T:
        """Run ``body`` in one transaction (a backend may run it again after a lost
        connection, so bodies only do idempotent work)."""
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        done = self._statements.get(sql)
        if done is None:
            done = sql.format(
                cp=f"{self.prefix}checkpoints",
                blobs=f"{self.prefix}blobs",
                seg=f"{self.prefix}segments",
                writes=f"{self.prefix}writes",
                meta=f"{self.prefix}meta",
            )
            if self.placeholder != "?":
                done = done.replace("?", self.placeholder)
            self._statements[sql] = done
        return done

    def close(self) -> None:
        """Release connections."""

    def lock_chains(self, cur: Cursor, thread_id: str, ns: str, chains: Mapping[str, str]) -> None:
        """Before a put reads the chains it appends to: keep other writers of those chains
        out until this transaction ends, so two puts extending one chain see each other's
        segments (the second forks). A database whose write transactions already exclude
        each other (SQLite's ``BEGIN IMMEDIATE``) needs nothing."""

    def read(self, body: Callable[[ReadTx], T], *, snapshot: bool) -> T:
        """Run ``body`` in a read transaction (one snapshot when ``snapshot``)."""
        return self._run(
            "snapshot" if snapshot else "read", None, lambda cur: body(_SqlTx(self, cur))
        )

    def write(self, thread_id: str, body: Callable[[WriteTx], T]) -> T:
        """Run ``body`` in one write transaction."""
        return self._run("write", thread_id, lambda cur: body(_SqlTx(self, cur)))

    def thread_ids(self) -> list[str]:
        """Every thread with a checkpoint, sorted."""
        sql = self._q("SELECT DISTINCT thread_id FROM {cp} ORDER BY thread_id")

        def body(cur: Cursor) -> list[Any]:
            cur.execute(sql, ())
            return cur.fetchall()

        return [t for (t,) in self._run("read", None, body)]

    def delete_thread(self, thread_id: str) -> None:
        """Delete all rows of a thread."""

        def body(cur: Cursor) -> None:
            for table in ("{cp}", "{blobs}", "{seg}", "{writes}"):
                cur.execute(self._q(f"DELETE FROM {table} WHERE thread_id = ?"), (thread_id,))

        self._run("exclusive", thread_id, body)

    def prune(
        self, thread_id: str, choose: Callable[[list[PruneInfo]], set[tuple[str, str]]]
    ) -> int:
        """Delete chosen checkpoints, their writes and unneeded values in one transaction."""

        def body(cur: Cursor) -> int:
            cur.execute(
                self._q(
                    "SELECT ns, checkpoint_id, parent_id, created_at FROM {cp} WHERE thread_id = ?"
                ),
                (thread_id,),
            )
            infos = [PruneInfo(n, c, p, float(t)) for n, c, p, t in cur.fetchall()]
            doomed = sorted(choose(infos))
            if not doomed:
                return 0
            for table in ("{cp}", "{writes}"):
                cur.executemany(
                    self._q(
                        f"DELETE FROM {table} WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?"
                    ),
                    [(thread_id, ns, cid) for ns, cid in doomed],
                )
            self._collect(cur, thread_id)
            return len(doomed)

        return self._run("exclusive", thread_id, body)

    def _collect(self, cur: Cursor, thread_id: str) -> None:
        cur.execute(self._q("SELECT ns, refs FROM {cp} WHERE thread_id = ?"), (thread_id,))
        refs = [(ns, c, r) for ns, text in cur.fetchall() for c, r in refs_from_json(text).items()]
        cur.execute(
            self._q("SELECT ns, channel, blob_id, base_id FROM {blobs} WHERE thread_id = ?"),
            (thread_id,),
        )
        bases = {(n, c, b): base for n, c, b, base in cur.fetchall()}
        blob_refs = ((ns, c, r.key) for ns, c, r in refs if r.length is None)
        unreachable = sorted(set(bases) - reachable_blobs(blob_refs, bases))
        if unreachable:
            cur.executemany(
                self._q(
                    "DELETE FROM {blobs} WHERE thread_id = ? AND ns = ? AND channel = ? "
                    "AND blob_id = ?"
                ),
                [(thread_id, *key) for key in unreachable],
            )
        cur.execute(
            self._q(f"SELECT ns, {_SEG_INFO} FROM {{seg}} WHERE thread_id = ?"), (thread_id,)
        )
        segments = [
            SegmentInfo(n, c, chain, int(s), int(e), b, int(bl))
            for n, c, chain, s, e, b, bl in cur.fetchall()
        ]
        chain_refs = [(ns, c, r.key, r.length) for ns, c, r in refs if r.length]
        kept = kept_segments(chain_refs, segments)
        unneeded = sorted(
            (s.ns, s.channel, s.chain_id, s.start)
            for s in segments
            if (s.ns, s.channel, s.chain_id, s.start) not in kept
        )
        if unneeded:
            cur.executemany(
                self._q(
                    "DELETE FROM {seg} WHERE thread_id = ? AND ns = ? AND channel = ? "
                    "AND chain_id = ? AND start_idx = ?"
                ),
                [(thread_id, *key) for key in unneeded],
            )


_LATEST = (
    f"SELECT {_CP_COLUMNS} FROM {{cp}} WHERE thread_id = ? AND ns = ? "
    "ORDER BY checkpoint_id DESC LIMIT 1"
)
_ONE = f"SELECT {_CP_COLUMNS} FROM {{cp}} WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?"

_SEGMENTS = (
    "SELECT start_idx, end_idx, base_id, base_len, data FROM {seg} WHERE thread_id = ? "
    "AND ns = ? AND channel = ? AND chain_id = ? AND start_idx >= ? AND start_idx < ? "
    "ORDER BY start_idx"
)

_UPSERT_BLOB = (
    "INSERT INTO {blobs} (thread_id, ns, channel, blob_id, base_id, data) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, ns, channel, blob_id) "
    "DO UPDATE SET base_id = excluded.base_id, data = excluded.data"
)

_UPSERT_SEGMENT = (
    "INSERT INTO {seg} (thread_id, ns, channel, chain_id, start_idx, end_idx, base_id, "
    "base_len, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (thread_id, ns, channel, chain_id, start_idx) DO UPDATE SET "
    "end_idx = excluded.end_idx, base_id = excluded.base_id, base_len = excluded.base_len, "
    "data = excluded.data"
)

_WRITE_COLUMNS = (
    "INSERT INTO {writes} (thread_id, ns, checkpoint_id, task_id, idx, task_path, channel, "
    "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (thread_id, ns, checkpoint_id, task_id, idx) "
)
_INSERT_WRITE = _WRITE_COLUMNS + "DO NOTHING"
_REPLACE_WRITE = (
    _WRITE_COLUMNS + "DO UPDATE SET task_path = excluded.task_path, channel = excluded.channel, "
    "data = excluded.data"
)

_UPSERT_CHECKPOINT = (
    f"INSERT INTO {{cp}} ({_CP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (thread_id, ns, checkpoint_id) DO UPDATE SET "
    "parent_id = excluded.parent_id, step = excluded.step, source = excluded.source, "
    "created_at = excluded.created_at, format_version = excluded.format_version, "
    "schema_version = excluded.schema_version, refs = excluded.refs, body = excluded.body"
)

# The blob, then each base it points at. UNION (not UNION ALL) ends the walk on a cycle,
# which only a damaged table could hold; the saver reports that as corruption.
_CHAIN = (
    "WITH RECURSIVE chain(blob_id, base_id, data) AS ("
    " SELECT blob_id, base_id, data FROM {blobs}"
    "  WHERE thread_id = ? AND ns = ? AND channel = ? AND blob_id = ?"
    " UNION"
    " SELECT b.blob_id, b.base_id, b.data FROM {blobs} b JOIN chain c"
    "  ON b.blob_id = c.base_id WHERE b.thread_id = ? AND b.ns = ? AND b.channel = ?"
    ") SELECT blob_id, base_id, data FROM chain"
)


def _checkpoint_params(row: CheckpointRow) -> tuple[Any, ...]:
    return (
        row.thread_id,
        row.ns,
        row.checkpoint_id,
        row.parent_id,
        row.step,
        row.source,
        row.created_at,
        row.format_version,
        row.schema_version,
        refs_to_json(row.refs),
        row.body,
    )

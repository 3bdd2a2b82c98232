"""Row storage on a SQL database: the statements SQLite and PostgreSQL share.

Subclasses supply the connection handling (:meth:`SqlBackend._run`) and the DDL; the tables
are described in :mod:`hone.checkpoint._rows`. Statements are written with ``?``
placeholders and table names in braces; :meth:`SqlBackend._q` adapts them to the driver.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeVar

from hone.checkpoint._rows import (
    BlobRow,
    CheckpointRow,
    PruneInfo,
    PutPlan,
    StoredState,
    WriteRow,
    reachable_blobs,
)
from hone.errors import CheckpointCorruptError

__all__ = ["Cursor", "SqlBackend", "TxKind"]

#: "read": one statement; "snapshot": several reads that must see one snapshot of the data;
#: "write": writes that may run beside other writes of the thread; "exclusive": deletes that
#: must not interleave with other writes of the thread.
TxKind = Literal["read", "snapshot", "write", "exclusive"]
#: Most pending writes read in one statement (keeps the parameter count small).
_WRITES_PER_QUERY = 200

T = TypeVar("T")

_CP_COLUMNS = (
    "thread_id, ns, checkpoint_id, parent_id, step, source, created_at, "
    "format_version, schema_version, refs, body"
)


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


def _refs_from_json(text: str) -> dict[str, tuple[int, str]]:
    try:
        raw = json.loads(text)
        return {channel: (int(v), str(b)) for channel, (v, b) in raw.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise CheckpointCorruptError(f"a checkpoint row has malformed references: {exc}") from exc


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
        refs=_refs_from_json(refs),
        body=bytes(body),
    )


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
                writes=f"{self.prefix}writes",
                meta=f"{self.prefix}meta",
            )
            if self.placeholder != "?":
                done = done.replace("?", self.placeholder)
            self._statements[sql] = done
        return done

    def close(self) -> None:
        """Release connections."""

    # -- checkpoints --------------------------------------------------------------------

    def write_checkpoint(self, thread_id: str, ns: str, plan: PutPlan) -> None:
        """Store a checkpoint and its new blobs in one transaction."""

        def body(cur: Cursor) -> None:
            missing = self._missing(cur, thread_id, ns, plan.required)
            row, blobs = plan.finalize(missing)
            if blobs:
                cur.executemany(
                    self._q(_UPSERT_BLOB),
                    [(thread_id, ns, b.channel, b.blob_id, b.base_id, b.data) for b in blobs],
                )
            cur.execute(self._q(_UPSERT_CHECKPOINT), _checkpoint_params(row))

        self._run("write", thread_id, body)

    def _missing(
        self, cur: Cursor, thread_id: str, ns: str, required: Mapping[str, str]
    ) -> set[str]:
        if not required:
            return set()
        # One primary-key lookup per (channel, blob id): "blob_id IN (...)" alone would scan
        # every blob of the thread, making each put O(N).
        pairs = sorted(required.items())
        terms = " OR ".join(["(channel = ? AND blob_id = ?)"] * len(pairs))
        cur.execute(
            self._q(
                "SELECT channel, blob_id FROM {blobs} WHERE thread_id = ? AND ns = ? AND ("
                + terms
                + ")"
            ),
            (thread_id, ns, *(x for pair in pairs for x in pair)),
        )
        found = {(c, b) for c, b in cur.fetchall()}
        return {c for c, b in pairs if (c, b) not in found}

    def read_checkpoint(
        self, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> CheckpointRow | None:
        """One checkpoint row, or the newest of the thread and namespace."""
        return self._run(
            "read", None, lambda cur: self._checkpoint(cur, thread_id, ns, checkpoint_id)
        )

    def _checkpoint(
        self, cur: Cursor, thread_id: str, ns: str, checkpoint_id: str | None
    ) -> CheckpointRow | None:
        if checkpoint_id is None:
            cur.execute(self._q(_LATEST), (thread_id, ns))
        else:
            cur.execute(self._q(_ONE), (thread_id, ns, checkpoint_id))
        rows = cur.fetchall()
        return _row(rows[0]) if rows else None

    def read_state(
        self,
        thread_id: str,
        ns: str,
        checkpoint_id: str | None,
        *,
        cached: Callable[[str, str], bool],
    ) -> StoredState | None:
        """A checkpoint row, the chains of its values and its writes, in one snapshot."""

        def body(cur: Cursor) -> StoredState | None:
            row = self._checkpoint(cur, thread_id, ns, checkpoint_id)
            if row is None:
                return None
            refs = {c: b for c, (_, b) in row.refs.items() if not cached(c, b)}
            chains = self._chains(cur, thread_id, ns, refs)
            writes = self._writes(cur, thread_id, ns, [row.checkpoint_id])
            return StoredState(row, chains, writes.get(row.checkpoint_id, []))

        return self._run("snapshot", None, body)

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        def body(cur: Cursor) -> list[Any]:
            cur.execute(self._q(sql), params)
            return cur.fetchall()

        return self._run("read", None, body)

    def read_checkpoints(
        self, thread_id: str, ns: str, *, before: str | None, limit: int | None
    ) -> Iterator[CheckpointRow]:
        """Checkpoint rows, newest first."""
        sql = f"SELECT {_CP_COLUMNS} FROM {{cp}} WHERE thread_id = ? AND ns = ?"
        params: list[Any] = [thread_id, ns]
        if before is not None:
            sql += " AND checkpoint_id < ?"
            params.append(before)
        sql += " ORDER BY checkpoint_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return (_row(r) for r in self._fetch(sql, params))

    def read_chains(
        self, thread_id: str, ns: str, refs: Mapping[str, str]
    ) -> dict[str, dict[str, BlobRow]]:
        """Each blob and its delta chain, one recursive query per channel."""
        return self._run(
            "snapshot" if len(refs) > 1 else "read",
            None,
            lambda cur: self._chains(cur, thread_id, ns, refs),
        )

    def _chains(
        self, cur: Cursor, thread_id: str, ns: str, refs: Mapping[str, str]
    ) -> dict[str, dict[str, BlobRow]]:
        sql = self._q(_CHAIN)
        out: dict[str, dict[str, BlobRow]] = {}
        for channel, blob_id in refs.items():
            cur.execute(sql, (thread_id, ns, channel, blob_id, thread_id, ns, channel))
            out[channel] = {
                b: BlobRow(channel, b, base, bytes(data)) for b, base, data in cur.fetchall()
            }
        return out

    # -- writes -------------------------------------------------------------------------

    def write_writes(
        self, thread_id: str, ns: str, checkpoint_id: str, rows: Sequence[WriteRow]
    ) -> None:
        """Store pending writes; a (task_id, idx) already stored is kept."""
        params = [
            (thread_id, ns, checkpoint_id, w.task_id, w.idx, w.task_path, w.channel, w.data)
            for w in rows
        ]
        sql = self._q(_INSERT_WRITE)
        self._run("write", thread_id, lambda cur: cur.executemany(sql, params))

    def read_writes(
        self, thread_id: str, ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[WriteRow]]:
        """Pending writes of some checkpoints, each in insertion order."""
        if not checkpoint_ids:
            return {}
        return self._run(
            "read" if len(checkpoint_ids) <= _WRITES_PER_QUERY else "snapshot",
            None,
            lambda cur: self._writes(cur, thread_id, ns, checkpoint_ids),
        )

    def _writes(
        self, cur: Cursor, thread_id: str, ns: str, checkpoint_ids: Sequence[str]
    ) -> dict[str, list[WriteRow]]:
        out: dict[str, list[WriteRow]] = {}
        for start in range(0, len(checkpoint_ids), _WRITES_PER_QUERY):
            chunk = checkpoint_ids[start : start + _WRITES_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            cur.execute(
                self._q(
                    "SELECT checkpoint_id, task_id, idx, task_path, channel, data FROM {writes} "
                    "WHERE thread_id = ? AND ns = ? AND checkpoint_id IN (" + marks + ") "
                    "ORDER BY seq"
                ),
                (thread_id, ns, *chunk),
            )
            for cid, t, i, p, c, d in cur.fetchall():
                out.setdefault(cid, []).append(WriteRow(t, int(i), p, c, bytes(d)))
        return out

    # -- thread admin -------------------------------------------------------------------

    def thread_ids(self) -> list[str]:
        """Every thread with a checkpoint, sorted."""
        rows = self._fetch("SELECT DISTINCT thread_id FROM {cp} ORDER BY thread_id", ())
        return [t for (t,) in rows]

    def delete_thread(self, thread_id: str) -> None:
        """Delete all rows of a thread."""

        def body(cur: Cursor) -> None:
            for table in ("{cp}", "{blobs}", "{writes}"):
                cur.execute(self._q(f"DELETE FROM {table} WHERE thread_id = ?"), (thread_id,))

        self._run("exclusive", thread_id, body)

    def prune(
        self, thread_id: str, choose: Callable[[list[PruneInfo]], set[tuple[str, str]]]
    ) -> int:
        """Delete chosen checkpoints, their writes and unreachable blobs in one transaction."""

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
            self._collect_blobs(cur, thread_id)
            return len(doomed)

        return self._run("exclusive", thread_id, body)

    def _collect_blobs(self, cur: Cursor, thread_id: str) -> None:
        cur.execute(self._q("SELECT ns, refs FROM {cp} WHERE thread_id = ?"), (thread_id,))
        refs = [
            (ns, channel, blob_id)
            for ns, text in cur.fetchall()
            for channel, (_, blob_id) in _refs_from_json(text).items()
        ]
        cur.execute(
            self._q("SELECT ns, channel, blob_id, base_id FROM {blobs} WHERE thread_id = ?"),
            (thread_id,),
        )
        bases = {(n, c, b): base for n, c, b, base in cur.fetchall()}
        unreachable = sorted(set(bases) - reachable_blobs(iter(refs), bases))
        if unreachable:
            cur.executemany(
                self._q(
                    "DELETE FROM {blobs} WHERE thread_id = ? AND ns = ? AND channel = ? "
                    "AND blob_id = ?"
                ),
                [(thread_id, *key) for key in unreachable],
            )


_LATEST = (
    f"SELECT {_CP_COLUMNS} FROM {{cp}} WHERE thread_id = ? AND ns = ? "
    "ORDER BY checkpoint_id DESC LIMIT 1"
)
_ONE = f"SELECT {_CP_COLUMNS} FROM {{cp}} WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?"

_UPSERT_BLOB = (
    "INSERT INTO {blobs} (thread_id, ns, channel, blob_id, base_id, data) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, ns, channel, blob_id) "
    "DO UPDATE SET base_id = excluded.base_id, data = excluded.data"
)

_INSERT_WRITE = (
    "INSERT INTO {writes} (thread_id, ns, checkpoint_id, task_id, idx, task_path, channel, "
    "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (thread_id, ns, checkpoint_id, task_id, idx) DO NOTHING"
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


# json.dumps with separators builds an encoder per call; one encoder serves every row.
_REFS_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _checkpoint_params(row: CheckpointRow) -> tuple[Any, ...]:
    refs = _REFS_ENCODER.encode({c: [v, b] for c, (v, b) in row.refs.items()})
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
        refs,
        row.body,
    )

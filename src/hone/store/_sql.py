"""The row backend of the SQL stores, written once for SQLite and PostgreSQL.

Tables (``{p}`` is the dialect's table prefix)::

    {p}items      (ns, key) -> value (JSON), created_at, updated_at, expires_at, ttl
    {p}vectors    (ns, key, field) -> dims, vector (float32 bytes)
    {p}namespaces ns -> version: the write that last touched the namespace
    {p}clock      the write counter, bumped by every write transaction
    {p}meta       key -> value: the embedder's name and dimension, the format version

A namespace is stored as its labels joined by ``.`` (labels cannot hold one), so the items
under a prefix ``p`` are ``ns = p`` or ``p. <= ns < p/`` in byte order: one index range.
Writers bump the clock inside their transaction, which orders them; the vector cache of a
reader compares the clock with what it loaded and reloads only namespaces stamped later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, TypeAlias

from hone.errors import EmbeddingMismatchError, StoreError
from hone.store._backend import Ref, Row, Write, ttl_expiry
from hone.store._filter import Filter
from hone.store._vectors import Ranked, VectorCache, VectorSet, from_blob, to_blob

__all__ = ["FORMAT_VERSION", "Cursor", "SqlBackend", "TxKind", "ns_labels", "ns_text"]

#: The version of the store's table layout.
FORMAT_VERSION = 1

#: ``"read"``: statements see committed data; ``"write"``: one write transaction.
TxKind: TypeAlias = Literal["read", "write"]


class Cursor(Protocol):
    """The part of a DB-API cursor the backend uses."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


def ns_text(namespace: tuple[str, ...]) -> str:
    """A namespace as stored."""
    return ".".join(namespace)


def ns_labels(text: str) -> tuple[str, ...]:
    """The namespace of stored text."""
    return tuple(text.split(".")) if text else ()


class SqlBackend:
    """Rows in SQL. Subclasses give the dialect (placeholder, JSON and blob types, filter
    compiler) and transactions (:meth:`tx`)."""

    offload = False
    placeholder = "?"
    prefix = "hone_store_"
    #: Cast applied to a JSON text parameter written to the value column.
    json_param = "?"
    #: Whether rows come back with the value already decoded.
    decodes_json = False

    def __init__(self) -> None:
        self._cache = VectorCache(
            version=self._version, changed=self._changed, load=self._load_vectors
        )
        self._dims = 0

    # -- dialect hooks -----------------------------------------------------------------------

    def tx(self, kind: TxKind) -> AbstractContextManager[Cursor]:
        """A transaction (``"write"``) or an autocommit read context."""
        raise NotImplementedError

    def filter_sql(self, conditions: Filter, params: list[Any], column: str) -> str:
        """SQL that holds where the filter does on the JSON in ``column`` (parameters
        appended)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""

    # -- helpers -----------------------------------------------------------------------------

    def q(self, sql: str) -> str:
        """``sql`` with table names prefixed and ``?`` placeholders in the dialect's form."""
        sql = sql.replace("{p}", self.prefix)
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    def _read(self, body: Callable[[Cursor], Any]) -> Any:
        with self.tx("read") as cur:
            return body(cur)

    @staticmethod
    def _under(prefix: tuple[str, ...], params: list[Any], column: str = "ns") -> str:
        if not prefix:
            return "1 = 1"
        text = ns_text(prefix)
        params.extend([text, text + ".", text + "/"])
        return f"({column} = ? OR ({column} >= ? AND {column} < ?))"

    def _row(self, record: Sequence[Any]) -> Row:
        ns, key, value, created, updated, ttl = record
        if not self.decodes_json:
            import json

            value = json.loads(value)
        return Row(
            ns_labels(ns),
            key,
            value,
            float(created),
            float(updated),
            None if ttl is None else float(ttl),
        )

    # -- the backend protocol ----------------------------------------------------------------

    def bind_index(self, name: str, dims: int) -> None:
        def body(cur: Cursor) -> None:
            cur.execute(self.q("SELECT key, value FROM {p}meta WHERE key IN ('embedder', 'dims')"))
            stored = dict(cur.fetchall())
            if not stored:
                cur.executemany(
                    self.q("INSERT INTO {p}meta (key, value) VALUES (?, ?)"),
                    [("embedder", name), ("dims", str(dims))],
                )
                return
            if stored.get("embedder") != name or stored.get("dims") != str(dims):
                raise EmbeddingMismatchError(
                    f"this store's vectors were made by {stored.get('embedder')!r} with "
                    f"{stored.get('dims')} dimensions; the index config gives {name!r} with "
                    f"{dims}. Open it with the same embedder, or use a new database"
                )

        with self.tx("write") as cur:
            body(cur)
        self._dims = dims

    def rows(self, refs: Sequence[Ref], now: float) -> dict[Ref, Row]:
        if not refs:
            return {}
        by_ns: dict[tuple[str, ...], list[str]] = {}
        for namespace, key in refs:
            by_ns.setdefault(namespace, []).append(key)

        def body(cur: Cursor) -> dict[Ref, Row]:
            out: dict[Ref, Row] = {}
            for namespace, keys in by_ns.items():
                unique = sorted(set(keys))
                marks = ", ".join("?" * len(unique))
                cur.execute(
                    self.q(
                        "SELECT ns, key, value, created_at, updated_at, ttl FROM {p}items "
                        f"WHERE ns = ? AND key IN ({marks}) "
                        "AND (expires_at IS NULL OR expires_at > ?)"
                    ),
                    [ns_text(namespace), *unique, now],
                )
                for record in cur.fetchall():
                    row = self._row(record)
                    out[(row.namespace, row.key)] = row
            return out

        return self._read(body)  # type: ignore[no-any-return]

    def where(
        self,
        prefix: tuple[str, ...],
        conditions: Filter,
        now: float,
        params: list[Any],
        alias: str = "",
    ) -> str:
        """SQL selecting live items under ``prefix`` meeting ``conditions`` (columns of the
        items table, qualified by ``alias`` such as ``"i."``)."""
        under = self._under(prefix, params, f"{alias}ns")
        params.append(now)
        parts = [under, f"({alias}expires_at IS NULL OR {alias}expires_at > ?)"]
        if conditions:
            parts.append(self.filter_sql(conditions, params, f"{alias}value"))
        return " AND ".join(parts)

    def search(
        self,
        prefix: tuple[str, ...],
        conditions: Filter,
        limit: int,
        offset: int,
        now: float,
        *,
        without_vectors: bool = False,
    ) -> list[Row]:
        params: list[Any] = []
        where = self.where(prefix, conditions, now, params)
        if without_vectors:
            where += (
                " AND NOT EXISTS (SELECT 1 FROM {p}vectors v "
                "WHERE v.ns = {p}items.ns AND v.key = {p}items.key)"
            )
        params.extend([limit, offset])
        sql = self.q(
            "SELECT ns, key, value, created_at, updated_at, ttl FROM {p}items "
            f"WHERE {where} ORDER BY updated_at DESC, ns, key LIMIT ? OFFSET ?"
        )

        def body(cur: Cursor) -> list[Row]:
            cur.execute(sql, params)
            return [self._row(r) for r in cur.fetchall()]

        return self._read(body)  # type: ignore[no-any-return]

    def allowed(
        self, prefix: tuple[str, ...], conditions: Filter, now: float
    ) -> dict[tuple[str, ...], set[str]]:
        params: list[Any] = []
        sql = self.q(
            f"SELECT ns, key FROM {{p}}items WHERE {self.where(prefix, conditions, now, params)}"
        )

        def body(cur: Cursor) -> dict[tuple[str, ...], set[str]]:
            cur.execute(sql, params)
            out: dict[tuple[str, ...], set[str]] = {}
            for ns, key in cur.fetchall():
                out.setdefault(ns_labels(ns), set()).add(key)
            return out

        return self._read(body)  # type: ignore[no-any-return]

    def vector_sets(self, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], VectorSet]]:
        return self._cache.sets(prefix)

    def rank(
        self, prefix: tuple[str, ...], conditions: Filter, query: Any, want: int, now: float
    ) -> Ranked | None:
        return None

    def _version(self) -> int:
        def body(cur: Cursor) -> int:
            cur.execute(self.q("SELECT version FROM {p}clock WHERE id = 1"))
            return int(cur.fetchone()[0])

        return self._read(body)  # type: ignore[no-any-return]

    def _changed(self, since: int) -> dict[tuple[str, ...], int]:
        def body(cur: Cursor) -> dict[tuple[str, ...], int]:
            cur.execute(self.q("SELECT ns, version FROM {p}namespaces WHERE version > ?"), [since])
            return {ns_labels(ns): int(v) for ns, v in cur.fetchall()}

        return self._read(body)  # type: ignore[no-any-return]

    def _load_vectors(self, namespace: tuple[str, ...]) -> VectorSet:
        def body(cur: Cursor) -> VectorSet:
            cur.execute(
                self.q("SELECT key, vector FROM {p}vectors WHERE ns = ? ORDER BY key, field"),
                [ns_text(namespace)],
            )
            pairs = [(key, from_blob(bytes(blob))) for key, blob in cur.fetchall()]
            return VectorSet.build(pairs, self._dims)

        return self._read(body)  # type: ignore[no-any-return]

    def refresh(self, refs: Sequence[Ref], now: float) -> None:
        unique = sorted({(ns_text(ns), key) for ns, key in refs})
        with self.tx("write") as cur:
            cur.executemany(
                self.q(
                    "UPDATE {p}items SET expires_at = ? + ttl * 60.0 "
                    "WHERE ns = ? AND key = ? AND ttl IS NOT NULL"
                ),
                [(now, ns, key) for ns, key in unique],
            )

    def namespaces(self, prefix: tuple[str, ...], now: float) -> list[tuple[str, ...]]:
        params: list[Any] = []
        under = self._under(prefix, params)
        params.append(now)
        sql = self.q(
            f"SELECT DISTINCT ns FROM {{p}}items WHERE {under} "
            "AND (expires_at IS NULL OR expires_at > ?)"
        )

        def body(cur: Cursor) -> list[tuple[str, ...]]:
            cur.execute(sql, params)
            return [ns_labels(ns) for (ns,) in cur.fetchall()]

        return self._read(body)  # type: ignore[no-any-return]

    def _bump(self, cur: Cursor, namespaces: set[str]) -> None:
        cur.execute(self.q("UPDATE {p}clock SET version = version + 1 WHERE id = 1"))
        cur.execute(self.q("SELECT version FROM {p}clock WHERE id = 1"))
        version = int(cur.fetchone()[0])
        cur.executemany(
            self.q(
                "INSERT INTO {p}namespaces (ns, version) VALUES (?, ?) "
                "ON CONFLICT (ns) DO UPDATE SET version = excluded.version"
            ),
            [(ns, version) for ns in sorted(namespaces)],
        )

    def write(self, writes: Sequence[Write], now: float) -> None:
        deletes = [(ns_text(w.namespace), w.key) for w in writes]
        puts = [
            (ns_text(w.namespace), w.key, w.encoded, now, now, ttl_expiry(now, w.ttl), w.ttl, now)
            for w in writes
            if w.encoded is not None
        ]
        gone = [(ns_text(w.namespace), w.key) for w in writes if w.encoded is None]
        vectors = [
            (ns_text(w.namespace), w.key, name, len(vector), to_blob(vector))
            for w in writes
            for name, vector in w.vectors
        ]
        with self.tx("write") as cur:
            # An expired row is a new item: its created_at restarts.
            cur.executemany(
                self.q(
                    "INSERT INTO {p}items (ns, key, value, created_at, updated_at, expires_at, ttl) "
                    f"VALUES (?, ?, {self.json_param}, ?, ?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET "
                    "value = excluded.value, updated_at = excluded.updated_at, "
                    "expires_at = excluded.expires_at, ttl = excluded.ttl, created_at = CASE "
                    "WHEN {p}items.expires_at IS NOT NULL AND {p}items.expires_at <= ? "
                    "THEN excluded.created_at ELSE {p}items.created_at END"
                ),
                puts,
            )
            cur.executemany(self.q("DELETE FROM {p}items WHERE ns = ? AND key = ?"), gone)
            cur.executemany(self.q("DELETE FROM {p}vectors WHERE ns = ? AND key = ?"), deletes)
            cur.executemany(
                self.q(
                    "INSERT INTO {p}vectors (ns, key, field, dims, vector) VALUES (?, ?, ?, ?, ?)"
                ),
                vectors,
            )
            self._bump(cur, {ns for ns, _ in deletes})

    def sweep(self, now: float) -> int:
        with self.tx("write") as cur:
            cur.execute(
                self.q(
                    "SELECT ns, key FROM {p}items WHERE expires_at IS NOT NULL AND expires_at <= ?"
                ),
                [now],
            )
            expired = [tuple(r) for r in cur.fetchall()]
            if not expired:
                return 0
            cur.executemany(self.q("DELETE FROM {p}vectors WHERE ns = ? AND key = ?"), expired)
            cur.executemany(self.q("DELETE FROM {p}items WHERE ns = ? AND key = ?"), expired)
            self._bump(cur, {ns for ns, _ in expired})
            return len(expired)

    def check_format(self, cur: Cursor, where: str) -> None:
        """Record the table layout's version, or refuse a newer one."""
        cur.execute(self.q("SELECT value FROM {p}meta WHERE key = 'format_version'"))
        found = cur.fetchone()
        if found is None:
            cur.execute(
                self.q("INSERT INTO {p}meta (key, value) VALUES ('format_version', ?)"),
                [str(FORMAT_VERSION)],
            )
            cur.execute(self.q("INSERT INTO {p}clock (id, version) VALUES (1, 0)"))
        elif int(found[0]) > FORMAT_VERSION:
            raise StoreError(
                f"{where} was written by a newer hone (store format {found[0]}; this hone "
                f"reads up to {FORMAT_VERSION})"
            )


def schema(json_type: str, real: str, blob: str, text: str) -> Iterator[str]:
    """The CREATE statements, one at a time (``{p}`` still to be replaced)."""
    yield (
        f"CREATE TABLE IF NOT EXISTS {{p}}items (ns {text} NOT NULL, key {text} NOT NULL, "
        f"value {json_type} NOT NULL, created_at {real} NOT NULL, updated_at {real} NOT NULL, "
        f"expires_at {real}, ttl {real}, PRIMARY KEY (ns, key))"
    )
    yield "CREATE INDEX IF NOT EXISTS {p}items_updated ON {p}items (ns, updated_at)"
    yield (
        "CREATE INDEX IF NOT EXISTS {p}items_expiry ON {p}items (expires_at) "
        "WHERE expires_at IS NOT NULL"
    )
    yield (
        f"CREATE TABLE IF NOT EXISTS {{p}}vectors (ns {text} NOT NULL, key {text} NOT NULL, "
        f"field {text} NOT NULL, dims INTEGER NOT NULL, vector {blob} NOT NULL, "
        "PRIMARY KEY (ns, key, field))"
    )
    yield (
        f"CREATE TABLE IF NOT EXISTS {{p}}namespaces (ns {text} PRIMARY KEY, "
        "version BIGINT NOT NULL)"
    )
    yield "CREATE INDEX IF NOT EXISTS {p}namespaces_version ON {p}namespaces (version)"
    yield "CREATE TABLE IF NOT EXISTS {p}clock (id INTEGER PRIMARY KEY, version BIGINT NOT NULL)"
    yield f"CREATE TABLE IF NOT EXISTS {{p}}meta (key {text} PRIMARY KEY, value {text} NOT NULL)"

"""A SQLite store of episodes: one row per episode, the full episode as JSON plus indexed
columns for the questions a training run asks (which run, which step, which status)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from hone._sqlite import read_only_uri
from hone.errors import TrajectoryError
from hone.trajectory._schema import Episode, EpisodeStatus

__all__ = ["TrajectoryStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS episodes (
    id TEXT PRIMARY KEY,
    run TEXT NOT NULL,
    step INTEGER,
    task_id TEXT NOT NULL,
    group_id TEXT,
    role TEXT NOT NULL,
    reward REAL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    version INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS episodes_run_step ON episodes (run, step);
CREATE INDEX IF NOT EXISTS episodes_task ON episodes (task_id);
CREATE INDEX IF NOT EXISTS episodes_group ON episodes (group_id);
CREATE INDEX IF NOT EXISTS episodes_status ON episodes (status);
"""


class TrajectoryStore:
    """Episodes in a SQLite file (WAL mode, safe to share between threads).

    ::

        store = TrajectoryStore("runs/trajectories.db")
        store.add(batch.episodes, run="grpo-1", step=3)
        failed = store.query(run="grpo-1", status="error")

    Args:
        path: the database file (created with its folder if missing), or ``":memory:"``.
        read_only: open an existing store without writing to the file: no tables created, no
            journal mode changed (readers such as ``hone traj show`` use this). ``add``
            raises.

    Raises:
        TrajectoryError: with ``read_only``, the file is missing, is not a SQLite database,
            or has no ``episodes`` table (it is left unchanged).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = str(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        if read_only:
            self._conn = _open_read_only(Path(path))
            return
        if self.path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def add(
        self, episodes: Iterable[Episode], *, run: str = "default", step: int | None = None
    ) -> int:
        """Store episodes (replacing any with the same id) under ``run`` and ``step``; returns
        how many were written."""
        if self.read_only:
            raise TrajectoryError(f"{self.path} was opened read only; open it without read_only")
        rows = [
            (
                e.id,
                run,
                step,
                e.task_id,
                e.group_id,
                e.role,
                e.reward,
                e.status,
                e.created_at,
                e.version,
                e.to_json(),
            )
            for e in episodes
        ]
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO episodes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return len(rows)

    def get(self, episode_id: str) -> Episode | None:
        """The episode with this id, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT payload FROM episodes WHERE id = ?", (episode_id,)
            ).fetchone()
        return None if row is None else _decode(row[0])

    def query(
        self,
        *,
        run: str | None = None,
        step: int | None = None,
        status: EpisodeStatus | None = None,
        task_id: str | None = None,
        group_id: str | None = None,
        role: str | None = None,
        limit: int | None = None,
    ) -> list[Episode]:
        """Episodes matching every given filter, oldest first."""
        filters = {
            "run": run,
            "step": step,
            "status": status,
            "task_id": task_id,
            "group_id": group_id,
            "role": role,
        }
        where = [f"{name} = ?" for name, value in filters.items() if value is not None]
        params: list[Any] = [value for value in filters.values() if value is not None]
        sql = "SELECT payload FROM episodes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at, rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_decode(row[0]) for row in rows]

    def runs(self) -> list[str]:
        """The names of the runs stored, sorted."""
        with self._lock:
            rows = self._conn.execute("SELECT DISTINCT run FROM episodes ORDER BY run").fetchall()
        return [row[0] for row in rows]

    def count(self, *, run: str | None = None) -> int:
        """How many episodes are stored (in ``run``, if given)."""
        sql, params = "SELECT COUNT(*) FROM episodes", [run] if run is not None else []
        if run is not None:
            sql += " WHERE run = ?"
        with self._lock:
            return int(self._conn.execute(sql, params).fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> TrajectoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to an existing store; nothing is written to the file."""
    if not path.is_file():
        raise TrajectoryError(f"no trajectory store at {path}")
    conn = sqlite3.connect(
        read_only_uri(path),
        uri=True,
        check_same_thread=False,
        isolation_level=None,
    )
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise TrajectoryError(f"{path} is not a SQLite database ({exc})") from exc
    tables = sorted(str(row[0]) for row in rows)
    if "episodes" not in tables:
        conn.close()
        raise TrajectoryError(
            f"{path} is a SQLite database but not a trajectory store: it has no episodes table "
            f"(tables: {', '.join(tables) or 'none'}); it was left unchanged"
        )
    return conn


def _decode(payload: str) -> Episode:
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise TrajectoryError(f"a stored episode cannot be decoded: {exc}") from exc
    return Episode.from_dict(data)

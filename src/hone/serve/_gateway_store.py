"""The gateway's SQLite database: every model call of every session, and the rewards that
arrive later.

One file holds three tables. ``gateway_calls`` is append-only: one row per model call, written
(and committed) before the gateway answers the call, so a call the client saw is never lost.
``gateway_sessions`` holds one row per session: its call count and, once scored, its reward.
When a reward arrives, the scored session is also written as an :class:`~hone.trajectory.Episode`
into the ``episodes`` table of a :class:`~hone.trajectory.TrajectoryStore` in the same file, so
``hone traj show``, ``hone traj export`` and ``sft.trajectories: gateway.db`` read it as they
read any trajectory store. Those episode rows are derived data: opening the store rewrites any
that a crash between the two writes left missing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from hone.errors import SessionNotFoundError, SessionRewardedError, TrajectoryError
from hone.serve._gateway_export import SessionReward, session_episode
from hone.trajectory import Episode, ModelCall, TrajectoryStore

__all__ = ["GATEWAY_RUN", "GatewayStore", "SessionSummary"]

#: The ``run`` name scored sessions are stored under in the ``episodes`` table.
GATEWAY_RUN = "gateway"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gateway_sessions (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    calls INTEGER NOT NULL,
    reward REAL,
    rewarded_at REAL,
    reward_payload TEXT
);
CREATE TABLE IF NOT EXISTS gateway_calls (
    session_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    created_at REAL NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (session_id, idx)
);
CREATE INDEX IF NOT EXISTS gateway_sessions_rewarded ON gateway_sessions (rewarded_at);
"""

_SUMMARY = "SELECT id, calls, created_at, updated_at, reward, rewarded_at FROM gateway_sessions"


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One gateway session: how many calls it made, and its reward once scored."""

    id: str
    calls: int
    created_at: float
    updated_at: float
    #: None until the session is rewarded.
    reward: float | None = None
    rewarded_at: float | None = None

    @property
    def rewarded(self) -> bool:
        """Whether a reward was recorded for the session."""
        return self.rewarded_at is not None


class GatewayStore:
    """The gateway's sessions, calls and rewards in one SQLite file (WAL mode, thread-safe).

    ::

        store = GatewayStore("gateway.db")
        store.record("s1", call)                      # the gateway does this per call
        store.reward("s1", SessionReward(reward=1.0))  # the scored session, as an Episode
        best = store.episodes(min_reward=1.0)

    Args:
        path: the database file (created with its folder if missing), or ``":memory:"``.
    """

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a call is on disk before the client sees its reply, even across a power loss.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        # The episodes of scored sessions; in memory a second connection would be another db.
        self._episodes = TrajectoryStore(self.path) if self.path != ":memory:" else None
        self._memory_episodes: dict[str, Episode] = {}
        self._repair()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def record(self, session_id: str, call: ModelCall) -> int:
        """Append ``call`` to the session (created by its first call); returns the call's
        index in the session, which is also set on ``call``.

        Raises:
            SessionRewardedError: the session was already rewarded (it is closed).
        """
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT calls, rewarded_at FROM gateway_sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is not None and row[1] is not None:
                raise SessionRewardedError(
                    f"session {session_id!r} was already rewarded; its trajectory is closed. "
                    "Start a new session id for new calls."
                )
            index = 0 if row is None else int(row[0])
            call.index = index
            conn.execute(
                "INSERT INTO gateway_calls VALUES (?, ?, ?, ?)",
                (session_id, index, now, json.dumps(call.to_dict(), ensure_ascii=False)),
            )
            if row is None:
                conn.execute(
                    "INSERT INTO gateway_sessions VALUES (?, ?, ?, 1, NULL, NULL, NULL)",
                    (session_id, now, now),
                )
            else:
                conn.execute(
                    "UPDATE gateway_sessions SET calls = ?, updated_at = ? WHERE id = ?",
                    (index + 1, now, session_id),
                )
        return index

    def check_open(self, session_id: str) -> None:
        """Raise :class:`SessionRewardedError` when the session was already rewarded (checked
        before a call is made, so no generation is wasted; :meth:`record` checks again)."""
        found = self._summary(session_id)
        if found is not None and found.rewarded:
            raise SessionRewardedError(
                f"session {session_id!r} was already rewarded; its trajectory is closed. "
                "Start a new session id for new calls."
            )

    def calls(self, session_id: str) -> list[ModelCall]:
        """The session's calls, in order.

        Raises:
            SessionNotFoundError: the session has no recorded call.
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT payload FROM gateway_calls WHERE session_id = ? ORDER BY idx",
                (session_id,),
            ).fetchall()
        if not rows:
            raise SessionNotFoundError(_unknown(session_id))
        return [ModelCall.from_dict(_decode(row[0], session_id)) for row in rows]

    def session(self, session_id: str) -> SessionSummary:
        """The session's summary.

        Raises:
            SessionNotFoundError: the session has no recorded call.
        """
        found = self._summary(session_id)
        if found is None:
            raise SessionNotFoundError(_unknown(session_id))
        return found

    def _summary(self, session_id: str) -> SessionSummary | None:
        with self._lock:
            row = self._conn.execute(f"{_SUMMARY} WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else SessionSummary(*row)

    def sessions(
        self, *, rewarded: bool | None = None, limit: int | None = None
    ) -> list[SessionSummary]:
        """Sessions, oldest first; ``rewarded`` keeps only scored (True) or unscored (False)."""
        sql, params = _SUMMARY, []
        if rewarded is not None:
            sql += f" WHERE rewarded_at IS {'NOT ' if rewarded else ''}NULL"
        sql += " ORDER BY created_at, rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [SessionSummary(*row) for row in rows]

    def reward(self, session_id: str, reward: SessionReward) -> Episode:
        """Record the session's reward (once) and return the scored session as an episode,
        also written to the ``episodes`` table under run ``"gateway"``.

        Raises:
            SessionNotFoundError: the session has no recorded call.
            SessionRewardedError: the session was already rewarded.
        """
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT rewarded_at FROM gateway_sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise SessionNotFoundError(_unknown(session_id))
            if row[0] is not None:
                raise SessionRewardedError(
                    f"session {session_id!r} was already rewarded; a session is scored once"
                )
            conn.execute(
                "UPDATE gateway_sessions SET reward = ?, rewarded_at = ?, reward_payload = ? "
                "WHERE id = ?",
                (reward.reward, now, json.dumps(reward.to_dict()), session_id),
            )
        episode = self._episode(session_id, reward)
        self._save_episode(episode)
        return episode

    def episode(self, session_id: str) -> Episode:
        """The session as an episode (with its reward when scored, else unscored).

        Raises:
            SessionNotFoundError: the session has no recorded call.
        """
        return self._episode(session_id, self._reward_of(session_id))

    def _episode(self, session_id: str, reward: SessionReward | None) -> Episode:
        summary = self.session(session_id)
        calls = self.calls(session_id)
        return session_episode(session_id, calls, reward, created_at=summary.created_at)

    def episodes(self, *, min_reward: float | None = None) -> list[Episode]:
        """The scored sessions as episodes, oldest first; ``min_reward`` keeps those whose
        reward reached it (the best sessions, for SFT)."""
        out = []
        for summary in self.sessions(rewarded=True):
            if min_reward is not None and (summary.reward is None or summary.reward < min_reward):
                continue
            out.append(self.episode(summary.id))
        return out

    def _reward_of(self, session_id: str) -> SessionReward | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT reward_payload FROM gateway_sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return SessionReward.from_dict(_decode(row[0], session_id))

    def _save_episode(self, episode: Episode) -> None:
        if self._episodes is None:
            self._memory_episodes[episode.id] = episode
        else:
            self._episodes.add([episode], run=GATEWAY_RUN)

    def _repair(self) -> None:
        """Write the episodes of rewarded sessions that a crash left unwritten."""
        if self._episodes is None:
            return
        with self._lock:  # ids only: decoding every stored episode would be slow
            rows = self._conn.execute(
                "SELECT id FROM episodes WHERE run = ?", (GATEWAY_RUN,)
            ).fetchall()
        stored = {row[0] for row in rows}
        for summary in self.sessions(rewarded=True):
            episode = self.episode(summary.id)
            if episode.id not in stored:
                self._save_episode(episode)

    def close(self) -> None:
        """Close the database connections."""
        with self._lock:
            self._conn.close()
        if self._episodes is not None:
            self._episodes.close()

    def __enter__(self) -> GatewayStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _unknown(session_id: str) -> str:
    return f"no session {session_id!r}: it has made no model call through this gateway"


def _decode(payload: str, session_id: str) -> Any:
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        raise TrajectoryError(f"a stored row of session {session_id!r} is corrupt: {exc}") from exc

"""Reading episodes from any file hone writes them to: a SQLite :class:`TrajectoryStore`, a
``.jsonl`` or a ``.parquet`` file. ``hone traj`` and ``hone view`` both read through here."""

from __future__ import annotations

from pathlib import Path

from hone.errors import ConfigError, TrajectoryError
from hone.trajectory._export import read_jsonl, read_parquet
from hone.trajectory._schema import Episode
from hone.trajectory._store import TrajectoryStore

__all__ = ["STORE_SUFFIXES", "read_episodes"]

#: File suffixes read as a SQLite trajectory store.
STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def read_episodes(
    path: str | Path,
    *,
    episode_id: str | None = None,
    run: str | None = None,
    limit: int | None = None,
) -> list[Episode]:
    """Episodes from a SQLite store, a ``.jsonl`` or a ``.parquet`` file: all of them, the one
    ``episode_id`` names, those of ``run`` (stores only), at most ``limit``.

    Raises:
        ConfigError: no such file, or a kind hone does not read.
        TrajectoryError: ``episode_id`` is not in the file; the file is not a trajectory file
            or was written by a newer schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no trajectory file at {path}")
    if path.suffix in STORE_SUFFIXES:
        with TrajectoryStore(path, read_only=True) as store:
            if episode_id is not None:
                found = store.get(episode_id)
                if found is None:
                    raise TrajectoryError(f"no episode {episode_id!r} in {path}")
                return [found]
            return store.query(run=run, limit=limit)
    if path.suffix == ".jsonl":
        episodes = read_jsonl(path)
    elif path.suffix == ".parquet":
        episodes = read_parquet(path)
    else:
        raise ConfigError(f"{path.name}: read .db (a TrajectoryStore), .jsonl or .parquet files")
    if episode_id is not None:
        episodes = [e for e in episodes if e.id == episode_id]
        if not episodes:
            raise TrajectoryError(f"no episode {episode_id!r} in {path}")
    return episodes[:limit] if limit is not None else episodes

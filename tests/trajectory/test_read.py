"""read_episodes: one reader for every file hone writes episodes to."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hone.errors import ConfigError, TrajectoryError
from hone.trajectory import Episode, TrajectoryStore, read_episodes, write_jsonl, write_parquet


def _episodes() -> list[Episode]:
    return [Episode(task_id=name, reward=float(i)) for i, name in enumerate("abc")]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".db"])
def test_every_kind_reads_back_and_filters(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"episodes{suffix}"
    episodes = _episodes()
    if suffix == ".jsonl":
        write_jsonl(episodes, path)
    elif suffix == ".parquet":
        write_parquet(episodes, path)
    else:
        with TrajectoryStore(path) as store:
            store.add(episodes)
    assert sorted(e.task_id for e in read_episodes(path)) == ["a", "b", "c"]
    assert [e.task_id for e in read_episodes(path, episode_id=episodes[1].id)] == ["b"]
    assert len(read_episodes(path, limit=2)) == 2
    with pytest.raises(TrajectoryError, match="no episode 'nope'"):
        read_episodes(path, episode_id="nope")


def test_missing_and_unknown_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no trajectory file at"):
        read_episodes(tmp_path / "absent.jsonl")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ConfigError, match=r"notes\.txt: read \.db"):
        read_episodes(tmp_path / "notes.txt")


def _fingerprint(path: Path) -> tuple[bytes, list[str]]:
    """The file's bytes and the files beside it (a -wal or -shm file appears on a write)."""
    return path.read_bytes(), sorted(p.name for p in path.parent.iterdir())


def test_reading_never_writes_to_the_file(tmp_path: Path) -> None:
    """A reader of an unrelated SQLite file or of a text file named .db gets a precise error
    and the file stays byte for byte as it was (no tables added, no journal mode changed)."""
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    conn.close()
    before = _fingerprint(other)
    with pytest.raises(
        TrajectoryError, match=r"not a trajectory store.*\(tables: users\).*unchanged"
    ):
        read_episodes(other)
    assert _fingerprint(other) == before

    text = tmp_path / "notes.db"
    text.write_text("not a database, just notes\n" * 50)
    before = _fingerprint(text)
    with pytest.raises(TrajectoryError, match="is not a SQLite database"):
        read_episodes(text)
    assert _fingerprint(text) == before


def test_a_store_opened_read_only_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    writer = TrajectoryStore(path)
    writer.add(_episodes())
    try:  # the writer still has it open (WAL mode): a reader sees the committed rows
        with TrajectoryStore(path, read_only=True) as store:
            assert store.count() == 3
            with pytest.raises(TrajectoryError, match="read only"):
                store.add(_episodes())
    finally:
        writer.close()
    with TrajectoryStore(path, read_only=True) as store:  # and after it closed
        assert store.count() == 3

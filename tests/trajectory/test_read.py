"""read_episodes: one reader for every file hone writes episodes to."""

from __future__ import annotations

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

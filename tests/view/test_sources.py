"""Reading files and folders into a page, and the refusals: newer schema versions, unknown
files, databases that are neither episodes nor checkpoints."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hone.errors import ConfigError, TrajectoryVersionError
from hone.trajectory import TRAJECTORY_VERSION, TrajectoryStore, read_jsonl
from hone.view import find_tokenizer, load_decoder, load_view


def test_a_run_folder_gives_curves_and_decoded_episodes(data: Any) -> None:
    view = load_view([data.run_dir])
    assert [r.name for r in view.runs] == ["run"]
    with TrajectoryStore(data.run_dir / "trajectories.db") as store:
        stored = store.query()
    assert [e.id for e in view.episodes] == [e.id for e in stored]
    decode = load_decoder(find_tokenizer(data.run_dir) or "")
    episode, source = view.episodes[-1], stored[-1]
    tokens = episode.sequences[0].tokens
    sampled = [t for t in tokens if t.sampled]
    assert [t.id for t in sampled] == source.calls[0].token_ids
    assert [t.text for t in sampled] == [decode(i) for i in source.calls[0].token_ids or []]
    assert [t.logprob for t in sampled] == source.calls[0].logprobs
    assert all(t.trained for t in sampled) and not any(t.trained for t in tokens if not t.sampled)
    assert view.notes == []  # every token has its text


def test_limit_keeps_the_last_episodes_with_their_groups(data: Any) -> None:
    everything = load_view([data.run_dir, data.agent_jsonl])
    last = load_view([data.run_dir, data.agent_jsonl], limit=2)
    assert [e.id for e in last.episodes] == [e.id for e in everything.episodes[-3:]]  # 1 group
    advantages = {e.id: e.advantage for e in everything.episodes}
    assert all(e.advantage == advantages[e.id] for e in last.episodes)
    with pytest.raises(ConfigError, match="limit must be at least 1"):
        load_view([data.agent_jsonl], limit=0)


def test_groups_and_reasons(data: Any) -> None:
    view = load_view([data.run_dir])
    by_task: dict[str, set[str]] = {}
    for e in view.episodes:
        by_task.setdefault(e.task_id, set()).add(e.advantage_note)
    assert by_task["none"] == {"excluded: no reward"}
    assert by_task["flat"] == {"no signal: every reward in its group is equal"}
    assert len(view.groups) == 6  # 3 tasks × 2 steps, 2 rollouts each
    assert all(len(g.episode_ids) == 2 for g in view.groups)


def test_episodes_of_another_model_get_their_own_tokenizer(data: Any) -> None:
    without = load_view([data.agent_jsonl])
    assert without.notes and "--tokenizer" in without.notes[0]
    assert without.episodes[0].sequences[0].tokens[0].text.startswith("⟨")
    tiny = data.run_dir.parent / "tiny"
    view = load_view([data.agent_jsonl], tokenizer=tiny)
    assert view.episodes[0].sequences[0].tokens[0].text == "<|im_start|>"
    timeline = [m.role for m in view.episodes[0].messages]
    assert timeline == ["system", "user", "assistant", "tool", "assistant"]
    assert view.episodes[0].messages[2].tool_calls[0].name == "add"


def test_a_trajectory_file_from_a_newer_hone_is_refused(data: Any, tmp_path: Path) -> None:
    [episode, *_] = read_jsonl(data.agent_jsonl)
    record = episode.to_dict() | {"version": TRAJECTORY_VERSION + 1}
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps(record) + "\n")
    with pytest.raises(TrajectoryVersionError, match="upgrade hone to read it"):
        load_view([newer])


def test_paths_hone_view_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no file or folder"):
        load_view([tmp_path / "missing.jsonl"])
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ConfigError, match="hone view reads trajectory files"):
        load_view([tmp_path / "notes.txt"])
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(
        ConfigError, match=r"neither hone episodes nor checkpoints \(tables: users\)"
    ):
        load_view([other])
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]
    with pytest.raises(ConfigError, match="not a `hone train` output folder"):
        load_view([tmp_path])
    with pytest.raises(ConfigError, match="nothing to show"):
        load_view([])
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    with pytest.raises(ConfigError, match="line 1: not JSON"):
        load_view([tmp_path / "bad.jsonl"])


def test_a_database_whose_name_has_uri_characters(data: Any, tmp_path: Path) -> None:
    odd = tmp_path / "run #1 ?50%.db"
    odd.write_bytes(data.checkpoints.read_bytes())
    view = load_view([odd])
    assert view.threads and odd.read_bytes() == data.checkpoints.read_bytes()
    # No file opened, or made, under a name cut off at "#" or "?" (WAL sidecars are SQLite's).
    assert {p.name for p in tmp_path.iterdir()} <= {odd.name, f"{odd.name}-wal", f"{odd.name}-shm"}

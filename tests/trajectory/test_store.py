"""TrajectoryStore: SQLite storage of episodes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hone.errors import TrajectoryError, TrajectoryVersionError
from hone.trajectory import Episode, ModelCall, TrajectoryStore


def episode(i: int, *, status: str = "ok", reward: float | None = 1.0) -> Episode:
    call = ModelCall(
        index=0,
        role="agent",
        model="m",
        messages=[{"role": "user", "content": f"q{i}"}],
        output={"role": "assistant", "content": f"a{i}"},
        prompt_token_ids=[1],
        token_ids=[2],
        logprobs=[-0.1],
    )
    return Episode(
        task_id=f"t{i % 2}",
        task={"i": i},
        calls=[call],
        reward=reward,
        status=status,  # type: ignore[arg-type]
        group_id=f"g{i % 2}",
        created_at=1000.0 + i,
    )


def test_add_get_query(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "traj.db"
    with TrajectoryStore(path) as store:
        eps = [episode(i) for i in range(4)] + [episode(4, status="error", reward=None)]
        assert store.add(eps[:3], run="r1", step=0) == 3
        store.add(eps[3:], run="r1", step=1)
        store.add([episode(9)], run="r0", step=0)
        assert store.get(eps[4].id) == eps[4]
        assert store.get("missing") is None
        assert [e.id for e in store.query(run="r1", step=0)] == [e.id for e in eps[:3]]
        assert [e.id for e in store.query(status="error")] == [eps[4].id]
        assert len(store.query(run="r1", group_id="g1")) == 2
        assert len(store.query(task_id="t0", limit=1)) == 1
        assert store.runs() == ["r0", "r1"]
        assert store.count() == 6 and store.count(run="r1") == 5
        # Adding an episode again replaces it.
        eps[0].reward = 0.25
        store.add([eps[0]], run="r1", step=0)
        assert store.count() == 6 and store.get(eps[0].id).reward == 0.25  # type: ignore[union-attr]
    # The data is on disk, in WAL mode.
    with TrajectoryStore(path) as again:
        assert again.count() == 6
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_corrupt_and_newer_rows_raise(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = TrajectoryStore(path)
    first, second = episode(1), episode(2)
    store.add([first, second])
    data = second.to_dict() | {"version": 99}
    conn = sqlite3.connect(path)
    conn.execute("UPDATE episodes SET payload = 'nope' WHERE id = ?", (first.id,))
    import json

    conn.execute("UPDATE episodes SET payload = ? WHERE id = ?", (json.dumps(data), second.id))
    conn.commit()
    with pytest.raises(TrajectoryError, match="cannot be decoded"):
        store.get(first.id)
    with pytest.raises(TrajectoryVersionError):
        store.get(second.id)
    store.close()

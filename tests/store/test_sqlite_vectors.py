"""SQLite's two ways of ranking: sqlite-vec inside SQLite where extensions load, numpy
elsewhere (this Python's sqlite3 cannot load extensions) — same results either way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hone.errors import ConfigError
from hone.store import HashingEmbedder, SqliteStore
from hone.store._sqlite import load_sqlite_vec

INDEX = {"dims": 64, "embed": HashingEmbedder(64), "fields": ["text"]}
TEXTS = [f"note {i} about {'cats' if i % 3 == 0 else 'stocks'} and item {i}" for i in range(60)]


def _fill(store: SqliteStore) -> None:
    for i, text in enumerate(TEXTS):
        store.put(("n", str(i % 4)), f"k{i}", {"text": text, "i": i})


def _ranking(store: SqliteStore, **kwargs: object) -> list[tuple[tuple[str, ...], str, float]]:
    hits = store.search(("n",), query="cats item 9", limit=15, **kwargs)  # type: ignore[arg-type]
    return [(h.namespace, h.key, round(h.score or 0.0, 5)) for h in hits]


def test_stdlib_sqlite_falls_back_to_numpy(tmp_path: Path) -> None:
    problem = load_sqlite_vec(sqlite3.connect(":memory:"))
    assert SqliteStore(tmp_path / "default.db", index=INDEX).vector_search == "numpy"
    store = SqliteStore(tmp_path / "a.db", index=INDEX, vectors="auto")
    if problem is None:
        assert store.vector_search == "sqlite-vec"
        pytest.skip("this Python's sqlite3 loads extensions: no fallback to see here")
    assert store.vector_search == "numpy"
    _fill(store)
    assert _ranking(store)[0][1] == "k9"
    with pytest.raises(ConfigError, match="vectors='extension'"):
        SqliteStore(tmp_path / "b.db", index=INDEX, vectors="extension")


def test_sqlite_vec_ranks_like_numpy(tmp_path: Path) -> None:
    pysqlite3 = pytest.importorskip("pysqlite3.dbapi2", reason="pysqlite3 loads extensions")
    pytest.importorskip("sqlite_vec")
    conn = pysqlite3.connect(
        str(tmp_path / "vec.db"), isolation_level=None, check_same_thread=False
    )
    with_vec = SqliteStore(conn, index=INDEX, vectors="extension")
    assert with_vec.vector_search == "sqlite-vec"
    _fill(with_vec)
    numpy_store = SqliteStore(tmp_path / "vec.db", index=INDEX, vectors="numpy")
    assert numpy_store.vector_search == "numpy"
    for kwargs in ({}, {"filter": {"i": {"$gte": 30}}}, {"offset": 5}):
        a, b = _ranking(with_vec, **kwargs), _ranking(numpy_store, **kwargs)
        # Same scores in the same order; equal scores may come in either order (float noise).
        assert np.allclose([x[2] for x in a], [x[2] for x in b], atol=1e-4), kwargs
        assert a[0][:2] == b[0][:2]
        scores_b = {x[:2]: x[2] for x in b}
        for ref, score in ((x[:2], x[2]) for x in a):
            assert ref not in scores_b or abs(scores_b[ref] - score) < 1e-4
    with_vec.put(("n", "1"), "k9", {"text": "nothing relevant"})
    assert _ranking(with_vec)[0][1] != "k9"
    assert _ranking(numpy_store)[0][1] != "k9", "the numpy cache missed another writer's update"
    with_vec.close()
    numpy_store.close()
    conn.close()


def test_numpy_cache_sees_other_processes_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    reader = SqliteStore(path, index=INDEX)
    writer = SqliteStore(path, index=INDEX)
    writer.put(("p",), "a", {"text": "first cats"})
    assert [h.key for h in reader.search(("p",), query="cats")] == ["a"]
    writer.put(("p",), "b", {"text": "more cats cats"})
    writer.delete(("p",), "a")
    assert [h.key for h in reader.search(("p",), query="cats")] == ["b"]
    writer.put(("q",), "c", {"text": "cats elsewhere"})
    assert {h.key for h in reader.search((), query="cats")} == {"b", "c"}

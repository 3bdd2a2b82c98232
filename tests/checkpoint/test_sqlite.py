"""SqliteSaver beyond conformance: concurrency, processes, versions, migrations, lifecycle."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hone.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    PendingWrite,
    Serializer,
    SqliteSaver,
    TaskWrites,
)
from hone.checkpoint.conformance import (
    Chain,
    check_chain,
    concurrent_forks,
    concurrent_writes,
    config,
    write_chain,
)
from hone.errors import CheckpointError, CheckpointVersionError, ConfigError
from hone.messages import UserMessage


def test_fifty_threads_write_at_once(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "threads.db") as saver:
        concurrent_writes(saver, writers=50, steps=5)
        assert len(saver.list_threads()) == 51


def _process_main(path: str, tag: str, steps: int) -> None:
    with SqliteSaver(path) as saver:
        write_chain(saver, f"proc-{tag}", tag, steps)
        write_chain(saver, "shared", tag, steps)


def test_processes_write_to_one_file(tmp_path: Path) -> None:
    path = str(tmp_path / "procs.db")
    # fork: the children run a function of this test module, which spawn could not import.
    ctx = multiprocessing.get_context("fork")
    tags = [f"p{i}" for i in range(4)]
    procs = [ctx.Process(target=_process_main, args=(path, tag, 15)) for tag in tags]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    with SqliteSaver(path) as saver:
        for tag in tags:
            ids = [t.checkpoint["id"] for t in saver.list(config(f"proc-{tag}"))][::-1]
            assert len(ids) == 15
            check_chain(saver, f"proc-{tag}", tag, ids)
        assert len(list(saver.list(config("shared")))) == 4 * 15


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    SqliteSaver(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE hone_meta SET value = '7' WHERE key = 'format_version'")
    with pytest.raises(CheckpointVersionError, match=rf"version 7.*up to {FORMAT_VERSION}"):
        SqliteSaver(path)


def _rename_msgs(cp: Checkpoint) -> Checkpoint:
    values, versions = dict(cp["channel_values"]), dict(cp["channel_versions"])
    values["messages"] = values.pop("msgs")
    versions["messages"] = versions.pop("msgs")
    return {**cp, "channel_values": values, "channel_versions": versions}


def _add_title(cp: Checkpoint) -> Checkpoint:
    return {**cp, "channel_values": {**cp["channel_values"], "title": "untitled"}}


def test_migrations_upgrade_old_state_on_read(tmp_path: Path) -> None:
    path = tmp_path / "migrate.db"
    with SqliteSaver(path) as old:
        Chain(old, "t").put(msgs=["hello"])
    migrations = {1: _rename_msgs, 2: _add_title}
    with SqliteSaver(path, schema_version=3, migrations=migrations) as new:
        got = new.get(config("t"))
        assert got is not None
        assert got["channel_values"] == {"messages": ["hello"], "title": "untitled"}
        Chain(new, "t2").put(messages=["v3"])
    partial = SqliteSaver(path, schema_version=2, migrations={1: _rename_msgs})
    with partial, pytest.raises(CheckpointVersionError, match="newer"):
        partial.get(config("t2"))
    missing = SqliteSaver(path, schema_version=3, migrations={2: _add_title})
    with missing, pytest.raises(CheckpointVersionError, match=r"migrations=\{1: fn\}"):
        missing.get(config("t"))


def test_migration_keys_are_checked() -> None:
    with pytest.raises(ConfigError, match="keys must be in"):
        SqliteSaver(":memory:", schema_version=2, migrations={2: _add_title})


def test_lifecycle(tmp_path: Path) -> None:
    with SqliteSaver.from_path(tmp_path / "sub" / "dir" / "c.db") as saver:
        Chain(saver, "t").put(n=1)
    with pytest.raises(Exception, match="closed"):
        saver.get(config("t"))
    memory = SqliteSaver(":memory:")
    Chain(memory, "t").put(n=2)
    assert memory.get(config("t")) is not None
    memory.close()
    conn = sqlite3.connect(tmp_path / "own.db", check_same_thread=False, isolation_level=None)
    with SqliteSaver(conn) as shared:
        Chain(shared, "t").put(n=3)
    assert conn.execute("SELECT count(*) FROM hone_checkpoints").fetchone() == (1,)
    conn.close()


class _RenameMsgs:
    """A migration that renames a channel in the state and in pending writes."""

    def __call__(self, cp: Checkpoint) -> Checkpoint:
        return _rename_msgs(cp)

    def writes(self, pending: list[PendingWrite]) -> list[PendingWrite]:
        return [(t, "messages" if c == "msgs" else c, v) for t, c, v in pending]


def test_migrations_upgrade_pending_writes_when_they_say_how(tmp_path: Path) -> None:
    path = tmp_path / "writes.db"
    with SqliteSaver(path) as old:
        chain = Chain(old, "t")
        cid = chain.put(msgs=["hello"])
        chain.write(cid, "task", [("msgs", ["hi"]), ("other", 1)], "node")
    with SqliteSaver(path, schema_version=2, migrations={1: _RenameMsgs()}) as new:
        got = new.get_tuple(config("t"))
        assert got is not None and set(got.checkpoint["channel_values"]) == {"messages"}
        assert got.pending_writes == [("task", "messages", ["hi"]), ("task", "other", 1)]
        listed = next(iter(new.list(config("t"))))
        assert [w[1] for w in listed.pending_writes or []] == ["messages", "other"]
    # A plain function upgrades the checkpoint and leaves the writes as stored.
    with SqliteSaver(path, schema_version=2, migrations={1: _rename_msgs}) as plain:
        got = plain.get_tuple(config("t"))
        assert got is not None and [w[1] for w in got.pending_writes or []] == ["msgs", "other"]


@pytest.mark.parametrize(("synchronous", "pragma"), [("normal", 1), ("full", 2)])
def test_synchronous_sets_the_pragma(tmp_path: Path, synchronous: Any, pragma: int) -> None:
    with SqliteSaver(tmp_path / "s.db", synchronous=synchronous) as saver:
        Chain(saver, "t").put(n=1)
        conn = saver._backend._conn()  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA synchronous").fetchone() == (pragma,)
        assert saver.get(config("t")) is not None


def test_an_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="synchronous"):
        SqliteSaver(tmp_path / "s.db", synchronous="off")  # type: ignore[arg-type]


def test_rows_of_format_1_are_read_and_continued(tmp_path: Path) -> None:
    """A database written before format 2 (delta blobs, source and step in columns) still
    loads, continues, and is marked so that an older hone refuses it."""
    path = tmp_path / "v1.db"
    SqliteSaver(path).close()
    serde = Serializer()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE hone_meta SET value = '1' WHERE key = 'format_version'")
        blobs = [
            ("b1", None, serde.dumps([UserMessage(content="m0")])),
            ("b2", "b1", serde.dumps([UserMessage(content="m1")])),  # a delta on b1
        ]
        conn.executemany("INSERT INTO hone_blobs VALUES ('t', '', 'messages', ?, ?, ?)", blobs)
        conn.execute(
            "INSERT INTO hone_blobs VALUES ('t', '', 'n', 'n1', NULL, ?)", (serde.dumps(7),)
        )
        body = serde.dumps(
            {"versions": {"messages": 2, "n": 1}, "seen": {"a": {"n": 1}}, "metadata": {"u": 1}}
        )
        conn.execute(
            "INSERT INTO hone_checkpoints VALUES ('t', '', 'c1', NULL, 3, 'loop', 1700000000.0, "
            "1, 1, ?, ?)",
            ('{"messages": [2, "b2"], "n": [1, "n1"]}', body),
        )
    with SqliteSaver(path) as saver:
        got = saver.get_tuple(config("t"))
        assert got is not None
        assert got.checkpoint["channel_values"] == {
            "messages": [UserMessage(content="m0"), UserMessage(content="m1")],
            "n": 7,
        }
        assert got.metadata == {"u": 1, "source": "loop", "step": 3}
        assert got.checkpoint["ts"].startswith("2023-11-14T22:13:20")
        chain = Chain(saver, "t")
        chain.last, chain.versions = "c1", {"messages": 2, "n": 1}
        chain.values = dict(got.checkpoint["channel_values"])
        child = chain.put(messages=[*chain.values["messages"], UserMessage(content="m2")])
        value = saver.get(config("t", "", child))
        assert value is not None and [m.text for m in value["channel_values"]["messages"]] == [
            "m0",
            "m1",
            "m2",
        ]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM hone_meta").fetchall() == [(str(FORMAT_VERSION),)]


def test_a_put_and_the_writes_it_carries_commit_together(tmp_path: Path) -> None:
    """A failure inside put's transaction stores neither the checkpoint nor its writes."""
    path = tmp_path / "atomic.db"
    with SqliteSaver(path) as saver:
        chain = Chain(saver, "t")
        parent = chain.put(n=1)
        backend = saver._backend
        real_write = backend.write

        class Boom(Exception):
            pass

        def failing_write(thread_id: str, body: Any) -> Any:
            def wrapped(tx: Any) -> Any:
                class Tx:
                    def put_writes(self, *args: Any) -> None:
                        tx.put_writes(*args)
                        raise Boom  # after the checkpoint row and the writes were written

                    def __getattr__(self, name: str) -> Any:
                        return getattr(tx, name)

                return body(Tx())

            return real_write(thread_id, wrapped)

        backend.write = failing_write  # type: ignore[method-assign]
        with pytest.raises(Boom):
            chain.put(n=2, _writes=[TaskWrites("task", "~n", [("n", 2)])])
        backend.write = real_write  # type: ignore[method-assign]
    with SqliteSaver(path) as fresh:
        latest = fresh.get_tuple(config("t"))
        assert latest is not None and latest.checkpoint["id"] == parent
        assert latest.pending_writes == []


def test_concurrent_appends_to_one_chain_fork(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "forks.db") as saver:
        concurrent_forks(saver, writers=20, rounds=3)


def test_a_read_only_saver_reads_and_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "run #1.db"  # URI characters in the name are the file's
    with SqliteSaver(path) as saver:
        ids = write_chain(saver, "t", "t", 3)
    # As an older hone left it: its format version, and the default (rollback) journal.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE hone_meta SET value = '1' WHERE key = 'format_version'")
    assert conn.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    conn.close()
    before = path.read_bytes()
    with SqliteSaver.from_conn_string(str(path), read_only=True) as saver:
        check_chain(saver, "t", "t", ids)
        assert list(saver.list_threads()) == ["t"]
        with pytest.raises(CheckpointError, match="read only"):
            write_chain(saver, "u", "u", 1)
    assert path.read_bytes() == before  # no version bump, no journal mode, no tables
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run #1.db"]


def test_a_read_only_saver_needs_a_hone_checkpoint_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint database"):
        SqliteSaver(tmp_path / "missing.db", read_only=True)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(CheckpointError, match="not a hone checkpoint database"):
        SqliteSaver(other, read_only=True)
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]
    with pytest.raises(ConfigError, match="read_only needs a database file"):
        SqliteSaver(":memory:", read_only=True)
    newer = tmp_path / "newer.db"
    SqliteSaver(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE hone_meta SET value = '7' WHERE key = 'format_version'")
    with pytest.raises(CheckpointVersionError, match="version 7"):
        SqliteSaver(newer, read_only=True)

"""SqliteSaver beyond conformance: concurrency, processes, versions, migrations, lifecycle."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hone.checkpoint import Checkpoint, PendingWrite, SqliteSaver
from hone.checkpoint.conformance import Chain, check_chain, concurrent_writes, write_chain
from hone.errors import CheckpointVersionError, ConfigError


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
            ids = [t.checkpoint.id for t in saver.list(f"proc-{tag}")][::-1]
            assert len(ids) == 15
            check_chain(saver, f"proc-{tag}", tag, ids)
        assert len(list(saver.list("shared"))) == 4 * 15


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    SqliteSaver(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE hone_meta SET value = '7' WHERE key = 'format_version'")
    with pytest.raises(CheckpointVersionError, match=r"version 7.*up to 1"):
        SqliteSaver(path)


def _rename_msgs(cp: Checkpoint) -> Checkpoint:
    values, versions = dict(cp.channel_values), dict(cp.channel_versions)
    values["messages"] = values.pop("msgs")
    versions["messages"] = versions.pop("msgs")
    return dataclasses.replace(cp, channel_values=values, channel_versions=versions)


def _add_title(cp: Checkpoint) -> Checkpoint:
    return dataclasses.replace(cp, channel_values={**cp.channel_values, "title": "untitled"})


def test_migrations_upgrade_old_state_on_read(tmp_path: Path) -> None:
    path = tmp_path / "migrate.db"
    with SqliteSaver(path) as old:
        Chain(old, "t").put(msgs=["hello"])
    migrations = {1: _rename_msgs, 2: _add_title}
    with SqliteSaver(path, schema_version=3, migrations=migrations) as new:
        got = new.get("t")
        assert got is not None
        assert dict(got.checkpoint.channel_values) == {"messages": ["hello"], "title": "untitled"}
        Chain(new, "t2").put(messages=["v3"])
    partial = SqliteSaver(path, schema_version=2, migrations={1: _rename_msgs})
    with partial, pytest.raises(CheckpointVersionError, match="newer"):
        partial.get("t2")
    missing = SqliteSaver(path, schema_version=3, migrations={2: _add_title})
    with missing, pytest.raises(CheckpointVersionError, match=r"migrations=\{1: fn\}"):
        missing.get("t")


def test_migration_keys_are_checked() -> None:
    with pytest.raises(ConfigError, match="keys must be in"):
        SqliteSaver(":memory:", schema_version=2, migrations={2: _add_title})


def test_lifecycle(tmp_path: Path) -> None:
    with SqliteSaver.from_path(tmp_path / "sub" / "dir" / "c.db") as saver:
        Chain(saver, "t").put(n=1)
    with pytest.raises(Exception, match="closed"):
        saver.get("t")
    memory = SqliteSaver(":memory:")
    Chain(memory, "t").put(n=2)
    assert memory.get("t") is not None
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

    def writes(self, pending: tuple[PendingWrite, ...]) -> tuple[PendingWrite, ...]:
        return tuple(
            dataclasses.replace(w, channel="messages") if w.channel == "msgs" else w
            for w in pending
        )


def test_migrations_upgrade_pending_writes_when_they_say_how(tmp_path: Path) -> None:
    path = tmp_path / "writes.db"
    with SqliteSaver(path) as old:
        cid = Chain(old, "t").put(msgs=["hello"])
        old.put_writes(
            thread_id="t",
            ns="",
            checkpoint_id=cid,
            task_id="task",
            task_path="node",
            writes=[("msgs", ["hi"]), ("other", 1)],
        )
    with SqliteSaver(path, schema_version=2, migrations={1: _RenameMsgs()}) as new:
        got = new.get("t")
        assert got is not None and set(got.checkpoint.channel_values) == {"messages"}
        assert [(w.channel, w.value) for w in got.pending_writes] == [
            ("messages", ["hi"]),
            ("other", 1),
        ]
        listed = next(iter(new.list("t")))
        assert [w.channel for w in listed.pending_writes] == ["messages", "other"]
    # A plain function upgrades the checkpoint and leaves the writes as stored.
    with SqliteSaver(path, schema_version=2, migrations={1: _rename_msgs}) as plain:
        got = plain.get("t")
        assert got is not None and [w.channel for w in got.pending_writes] == ["msgs", "other"]


@pytest.mark.parametrize(("synchronous", "pragma"), [("normal", 1), ("full", 2)])
def test_synchronous_sets_the_pragma(tmp_path: Path, synchronous: Any, pragma: int) -> None:
    with SqliteSaver(tmp_path / "s.db", synchronous=synchronous) as saver:
        Chain(saver, "t").put(n=1)
        conn = saver._backend._conn()  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA synchronous").fetchone() == (pragma,)
        assert saver.get("t") is not None


def test_an_unknown_synchronous_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="synchronous"):
        SqliteSaver(tmp_path / "s.db", synchronous="off")  # type: ignore[arg-type]

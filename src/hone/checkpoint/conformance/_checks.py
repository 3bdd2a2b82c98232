"""The conformance checks, one function per behaviour, and how to run them."""

from __future__ import annotations

import dataclasses
import time
import unittest
from collections.abc import Callable
from typing import Any

from hone.checkpoint._protocol import (
    FORMAT_VERSION,
    Checkpoint,
    RetentionPolicy,
    new_checkpoint_id,
)
from hone.checkpoint.conformance._kit import (
    Chain,
    Saver,
    SaverHarness,
    chain_pending,
    expect,
    message,
    sample_values,
    values_of,
)
from hone.errors import CheckpointCorruptError, CheckpointVersionError, ConfigError
from hone.messages import UserMessage

__all__ = ["CHECKS", "run_all", "run_check"]


# -- basic storage ------------------------------------------------------------------------


def check_put_get(saver: Saver, _: SaverHarness) -> None:
    """The latest checkpoint and one by id come back with every field."""
    expect(saver.get("nobody") is None, "get of an unknown thread must be None")
    chain = Chain(saver, "t-put")
    first = chain.put(counter=1, text="hello")
    second = chain.put(counter=2)
    latest = chain.load().checkpoint
    expect(latest.id == second and latest.parent_id == first, "latest must be the newest")
    expect(dict(latest.channel_values) == {"counter": 2, "text": "hello"}, "values differ")
    expect(dict(latest.channel_versions) == {"counter": 2, "text": 1}, "versions differ")
    expect(dict(latest.versions_seen) == {"agent": {"counter": 2, "text": 1}}, "seen differs")
    expect(dict(latest.metadata) == {"step": 1} and latest.step == 1, "metadata differs")
    expect(latest.thread_id == "t-put" and latest.ns == "" and latest.source == "loop", "ids")
    expect(latest.format_version == FORMAT_VERSION, "format version must be the current one")
    expect(dict(values_of(chain, first)) == {"counter": 1, "text": "hello"}, "by id differs")
    expect(saver.get("t-put", "", "no-such-id") is None, "unknown id must be None")


def check_put_same_id_replaces(saver: Saver, _: SaverHarness) -> None:
    """Saving a checkpoint id again replaces it, without changing checkpoints built on it."""
    cp = Checkpoint(new_checkpoint_id(), "t-same", "", None, -1, "input", {"a": 1}, {"a": 1}, {})
    saver.put(cp, new_versions={"a": 1})
    saver.put(dataclasses.replace(cp, channel_values={"a": 2}), new_versions={"a": 1})
    got = saver.get("t-same")
    expect(got is not None and got.checkpoint.channel_values == {"a": 2}, "not replaced")
    expect(len(list(saver.list("t-same"))) == 1, "a replaced checkpoint must not duplicate")
    chain = Chain(saver, "t-same-base")
    base = chain.put(messages=[message(0)])
    child = chain.put(messages=[message(0), message(1)])
    again = dataclasses.replace(chain.load(base).checkpoint, channel_values={"messages": []})
    saver.put(again, new_versions={"messages": 1})
    expect(values_of(chain, base)["messages"] == [], "the base was not replaced")
    expect(values_of(chain, child)["messages"] == [message(0), message(1)], "child changed")


def check_list_order(saver: Saver, _: SaverHarness) -> None:
    """list() is newest first and honours ``before`` and ``limit``."""
    chain = Chain(saver, "t-list")
    ids = [chain.put(n=i) for i in range(5)]
    listed = [t.checkpoint.id for t in saver.list("t-list")]
    expect(listed == ids[::-1], f"list order {listed} != {ids[::-1]}")
    before = [t.checkpoint.id for t in saver.list("t-list", before=ids[3])]
    expect(before == ids[2::-1], "before must exclude that id and newer ones")
    limited = [t.checkpoint.id for t in saver.list("t-list", before=ids[4], limit=2)]
    expect(limited == [ids[3], ids[2]], "limit must keep the newest")
    expect(list(saver.list("t-list", limit=0)) == [], "limit=0 lists nothing")
    expect(list(saver.list("t-none")) == [], "unknown thread lists nothing")
    values = [t.checkpoint.channel_values["n"] for t in saver.list("t-list")]
    expect(values == [4, 3, 2, 1, 0], "listed checkpoints must carry their own values")


def check_list_values(saver: Saver, _: SaverHarness) -> None:
    """Listed checkpoints carry their own values, as mappings, in any order of reading; a
    change to one listed value changes no other checkpoint."""
    chain = Chain(saver, "t-list-values")
    msgs: list[Any] = []
    for i in range(6):
        msgs = [*msgs, message(i)]
        chain.put(messages=msgs, table={"i": i})
    listed = list(saver.list("t-list-values"))
    for n in (2, 5, 0, 3):  # older ones first, then newer: any order must work
        values = listed[n].checkpoint.channel_values
        expect(set(values) == {"messages", "table"}, f"keys of listed checkpoint {n}")
        expect(values["messages"] == [message(i) for i in range(6 - n)], f"listed {n}")
    newest = listed[0].checkpoint.channel_values
    newest["messages"].append(message(99))
    newest["table"]["i"] = -1
    again = list(saver.list("t-list-values", limit=2))
    expect(len(again[0].checkpoint.channel_values["messages"]) == 6, "a listed list is shared")
    expect(again[0].checkpoint.channel_values["table"] == {"i": 5}, "a listed dict is shared")
    expect(listed[1].checkpoint.channel_values["table"] == {"i": 4}, "values are shared")


def check_pending_writes(saver: Saver, _: SaverHarness) -> None:
    """Writes attach to their checkpoint, keep order, and the first (task, idx) wins."""
    chain = Chain(saver, "t-writes")
    first = chain.put(n=0)
    common = {"thread_id": "t-writes", "ns": "", "checkpoint_id": first}
    saver.put_writes(**common, task_id="a", task_path="node_a", writes=[("x", 1), ("y", (2,))])
    saver.put_writes(**common, task_id="b", task_path="node_b", writes=[("x", 3)])
    saver.put_writes(**common, task_id="a", task_path="node_a", writes=[("x", 99), ("y", 99)])
    second = chain.put(n=1)
    got = chain.load(first).pending_writes
    summary = [(w.task_id, w.task_path, w.channel, w.value, w.idx) for w in got]
    expected = [
        ("a", "node_a", "x", 1, 0),
        ("a", "node_a", "y", (2,), 1),
        ("b", "node_b", "x", 3, 0),
    ]
    expect(summary == expected, f"pending writes {summary} != {expected}")
    expect(chain.load(second).pending_writes == (), "writes belong to one checkpoint only")


def check_namespaces_isolated(saver: Saver, _: SaverHarness) -> None:
    """Namespaces of one thread do not see each other."""
    root, sub = Chain(saver, "t-ns"), Chain(saver, "t-ns", "agent:task1")
    root_id = root.put(messages=["root"])
    sub_id = sub.put(messages=["sub"])
    expect(values_of(root)["messages"] == ["root"], "root namespace sees the subgraph")
    expect(values_of(sub)["messages"] == ["sub"], "subgraph namespace sees the root")
    expect(saver.get("t-ns", "", sub_id) is None, "a checkpoint id is scoped to its namespace")
    expect([t.checkpoint.id for t in saver.list("t-ns")] == [root_id], "list mixes namespaces")


def check_threads_isolated(saver: Saver, _: SaverHarness) -> None:
    """Threads do not see each other, and list_threads names each once."""
    a, b = Chain(saver, "t-iso-a"), Chain(saver, "t-iso-b")
    a.put(messages=["a1"])
    b.put(messages=["b1"])
    a.put(messages=["a1", "a2"])
    expect(values_of(b)["messages"] == ["b1"], "thread b sees thread a")
    expect(values_of(a)["messages"] == ["a1", "a2"], "thread a lost its value")
    threads = saver.list_threads()
    expect(threads == sorted(set(threads)), "list_threads must be sorted and unique")
    expect({"t-iso-a", "t-iso-b"} <= set(threads), "list_threads misses a thread")


def check_new_versions(saver: Saver, _: SaverHarness) -> None:
    """Channels absent from new_versions keep loading; removed channels disappear."""
    chain = Chain(saver, "t-versions")
    chain.put(config={"model": "m"}, messages=[UserMessage(content="hi")], scratch="tmp")
    for i in range(3):
        chain.put(counter=i)
    last = chain.put(scratch=Chain.REMOVE)
    values = values_of(chain, last)
    expect(values["config"] == {"model": "m"}, "an unchanged channel must still load")
    expect(values["messages"] == [UserMessage(content="hi")], "an unchanged list must load")
    expect("scratch" not in values and values["counter"] == 2, "removal or update lost")


# -- the delta layout ---------------------------------------------------------------------


def check_append_deltas(saver: Saver, _: SaverHarness) -> None:
    """A growing list loads exactly at every checkpoint, including a new list object each step
    and the same object grown in place."""
    chain = Chain(saver, "t-append")
    messages: list[Any] = []
    ids = []
    for i in range(30):
        messages = [*messages, message(i)]
        ids.append(chain.put(messages=messages, turn=i))
    grown: list[Any] = list(messages)
    for i in range(30, 33):
        grown.append(message(i))  # the caller mutates its own list between puts
        ids.append(chain.put(messages=grown))
    for n, cid in enumerate(ids, start=1):
        expect(values_of(chain, cid)["messages"] == [message(i) for i in range(n)], f"step {n}")


def check_mutation_after_put(saver: Saver, _: SaverHarness) -> None:
    """Changing a value after saving it does not change the stored checkpoint."""
    chain = Chain(saver, "t-mutate")
    value = [{"k": 1}]
    cid = chain.put(items=value, table={"a": [1]})
    value.append({"k": 2})
    value[0]["k"] = 100
    chain.values["table"]["a"].append(2)
    expect(values_of(chain, cid)["items"] == [{"k": 1}], "stored list changed with the caller's")
    expect(values_of(chain, cid)["table"] == {"a": [1]}, "stored dict changed with the caller's")
    after = chain.put(items=[{"k": 100}, {"k": 2}, {"k": 3}])
    expect(values_of(chain, after)["items"] == [{"k": 100}, {"k": 2}, {"k": 3}], "in-place item")


def check_forks(saver: Saver, _: SaverHarness) -> None:
    """Two children of one checkpoint grow independently from the same base."""
    chain = Chain(saver, "t-fork")
    base_msgs = [message(i) for i in range(4)]
    base = chain.put(messages=base_msgs)
    left = chain.put(base, messages=[*base_msgs, UserMessage(content="left")])
    right = chain.put(base, messages=[*base_msgs, UserMessage(content="right")])
    right2 = chain.put(right, messages=[*base_msgs, UserMessage(content="right"), message(9)])
    left2 = chain.put(left, messages=[*base_msgs, UserMessage(content="left"), message(8)])
    expect(
        values_of(chain, left2)["messages"][4:] == [UserMessage(content="left"), message(8)], "L"
    )
    expect(
        values_of(chain, right2)["messages"][4:] == [UserMessage(content="right"), message(9)], "R"
    )
    expect(values_of(chain, base)["messages"] == base_msgs, "the fork base changed")
    expect(chain.load(right2).checkpoint.parent_id == right, "fork parent lost")


def check_replace_and_remove(saver: Saver, _: SaverHarness) -> None:
    """Replacing an item by id, removing items and shrinking store correct values."""
    chain = Chain(saver, "t-replace")
    msgs = [message(i) for i in range(5)]
    first = chain.put(messages=msgs)
    replaced = [*msgs[:2], UserMessage(id="m2", content="edited"), *msgs[3:]]
    second = chain.put(messages=replaced)
    third = chain.put(messages=replaced[1:])
    fourth = chain.put(messages=[*replaced[1:], message(7)])
    fifth = chain.put(messages=[])
    expect(values_of(chain, first)["messages"] == msgs, "original changed")
    expect(values_of(chain, second)["messages"] == replaced, "replace-by-id lost")
    expect(values_of(chain, third)["messages"] == replaced[1:], "removal lost")
    expect(values_of(chain, fourth)["messages"] == [*replaced[1:], message(7)], "append lost")
    expect(values_of(chain, fifth)["messages"] == [], "empty list lost")


# -- thread admin -------------------------------------------------------------------------


def check_delete_thread(saver: Saver, _: SaverHarness) -> None:
    """delete_thread removes every namespace and write of one thread only."""
    doomed, sub, kept = (
        Chain(saver, "t-del"),
        Chain(saver, "t-del", "sub:1"),
        Chain(saver, "t-keep"),
    )
    cid = doomed.put(messages=[message(0)])
    doomed.put(messages=[message(0), message(1)])
    sub.put(x=1)
    kept.put(messages=[message(0)])
    saver.put_writes(
        thread_id="t-del", ns="", checkpoint_id=cid, task_id="t", task_path="n", writes=[("x", 1)]
    )
    saver.delete_thread("t-del")
    expect(saver.get("t-del") is None and saver.get("t-del", "sub:1") is None, "not deleted")
    expect("t-del" not in saver.list_threads(), "deleted thread still listed")
    expect(values_of(kept)["messages"] == [message(0)], "another thread was touched")
    fresh = Chain(saver, "t-del")  # the id can be used again
    again = fresh.put(messages=[message(5)])
    expect(
        chain_pending(fresh, again) == 0 and values_of(fresh)["messages"] == [message(5)], "reuse"
    )
    saver.delete_thread("t-never-existed")


def check_prune_keep_last(saver: Saver, _: SaverHarness) -> None:
    """keep_last keeps the newest K, the parent of each kept one, and every value they need."""
    chain = Chain(saver, "t-prune")
    msgs: list[Any] = []
    ids = []
    for i in range(8):
        msgs = [*msgs, message(i)]
        ids.append(chain.put(messages=msgs, config="fixed" if i == 0 else f"c{i}"))
        saver.put_writes(
            thread_id="t-prune",
            ns="",
            checkpoint_id=ids[-1],
            task_id="t",
            task_path="n",
            writes=[("x", i)],
        )
    fork = chain.put(ids[1], messages=[*msgs[:2], UserMessage(content="fork")])
    deleted = saver.prune("t-prune", RetentionPolicy(keep_last=2))
    remaining = {t.checkpoint.id for t in saver.list("t-prune")}
    # Kept: the fork and ids[7] (the two newest), and their parents ids[1] and ids[6].
    expect(remaining == {fork, ids[7], ids[1], ids[6]}, f"kept {sorted(remaining)}")
    expect(deleted == 5, f"prune reported {deleted} deleted, expected 5")
    expect(values_of(chain, ids[7])["messages"] == msgs, "a kept delta chain broke")
    expect(values_of(chain, fork)["messages"][2].text == "fork", "the fork broke")
    expect(chain_pending(chain, ids[7]) == 1, "writes of a kept checkpoint were deleted")
    nxt = chain.put(ids[7], messages=[*msgs, message(20)])
    expect(values_of(chain, nxt)["messages"] == [*msgs, message(20)], "put after prune broke")
    expect(saver.prune("t-prune", RetentionPolicy()) == 0, "an empty policy deletes nothing")
    expect(saver.prune("t-unknown", RetentionPolicy(keep_last=1)) == 0, "unknown thread")
    for bad in (RetentionPolicy(keep_last=0), RetentionPolicy(max_age_seconds=-1)):
        try:
            saver.prune("t-prune", bad)
        except ConfigError:
            continue
        raise AssertionError(f"{bad} must raise ConfigError")


def check_prune_max_age(saver: Saver, _: SaverHarness) -> None:
    """max_age_seconds deletes old checkpoints but never the newest of a namespace."""
    old = time.time() - 3600
    for i, ns in enumerate(("", "sub:1")):
        parent = None
        for step in range(3):
            cid = new_checkpoint_id()
            cp = Checkpoint(
                cid,
                "t-age",
                ns,
                parent,
                step,
                "loop",
                {"n": step + i},
                {"n": step + 1},
                {},
                created_at=old + step,
            )
            saver.put(cp, new_versions={"n": step + 1})
            parent = cid
    deleted = saver.prune("t-age", RetentionPolicy(max_age_seconds=60))
    for ns in ("", "sub:1"):
        left = [t.checkpoint.step for t in saver.list("t-age", ns)]
        expect(left == [2, 1], f"namespace {ns!r} kept steps {left}, expected newest + parent")
    expect(deleted == 2, f"prune reported {deleted}")


# -- stored bytes ---------------------------------------------------------------------------


def check_format_version_refused(saver: Saver, harness: SaverHarness) -> None:
    """A row written by a newer format version raises CheckpointVersionError."""
    if harness.set_format_version is None:
        raise unittest.SkipTest("the harness cannot rewrite format versions")
    chain = Chain(saver, "t-format")
    cid = chain.put(n=1)
    harness.set_format_version(saver, "t-format", "", cid, FORMAT_VERSION + 1)
    try:
        saver.get("t-format", "", cid)
    except CheckpointVersionError as exc:
        expect(str(FORMAT_VERSION + 1) in str(exc), "the error must name the version")
        return
    raise AssertionError("a newer format version must raise CheckpointVersionError")


def check_corrupt_row(saver: Saver, harness: SaverHarness) -> None:
    """Damaged stored bytes raise CheckpointCorruptError."""
    if harness.corrupt is None:
        raise unittest.SkipTest("the harness cannot damage rows")
    chain = Chain(saver, "t-corrupt")
    cid = chain.put(messages=[message(0)], n=1)
    harness.corrupt(saver, "t-corrupt", "", cid)
    try:
        saver.get("t-corrupt", "", cid)
    except CheckpointCorruptError:
        return
    raise AssertionError("a damaged row must raise CheckpointCorruptError")


def check_value_types(saver: Saver, _: SaverHarness) -> None:
    """Values of every serialisable type come back equal, with their types."""
    chain = Chain(saver, "t-types")
    values = sample_values()
    cid = chain.put(**values)
    saver.put_writes(
        thread_id="t-types",
        ns="",
        checkpoint_id=cid,
        task_id="t",
        task_path="n",
        writes=list(values.items()),
    )
    got = chain.load(cid)
    for name, value in values.items():
        loaded = got.checkpoint.channel_values[name]
        expect(loaded == value and type(loaded) is type(value), f"{name}: {loaded!r}")
    written = {w.channel: w.value for w in got.pending_writes}
    expect(written == values, "pending write values differ")


CHECKS: dict[str, Callable[[Saver, SaverHarness], None]] = {
    fn.__name__.removeprefix("check_"): fn
    for fn in (
        check_put_get,
        check_put_same_id_replaces,
        check_list_order,
        check_list_values,
        check_pending_writes,
        check_namespaces_isolated,
        check_threads_isolated,
        check_new_versions,
        check_append_deltas,
        check_mutation_after_put,
        check_forks,
        check_replace_and_remove,
        check_delete_thread,
        check_prune_keep_last,
        check_prune_max_age,
        check_format_version_refused,
        check_corrupt_row,
        check_value_types,
    )
}


def run_check(harness: SaverHarness, name: str) -> None:
    """Run one check (by its name in :data:`CHECKS`) on a fresh saver."""
    saver = harness.make()
    try:
        CHECKS[name](saver, harness)
    finally:
        if harness.close is not None:
            harness.close(saver)
        else:
            close = getattr(saver, "close", None)
            if callable(close):
                close()


def run_all(harness: SaverHarness) -> None:
    """Run every check; a skipped check (missing hook) is skipped silently."""
    for name in CHECKS:
        try:
            run_check(harness, name)
        except unittest.SkipTest:
            continue

"""The conformance checks, one function per behaviour, and how to run them.

The protocol checks (shapes, configs, listing, writes, async twins) are in
:mod:`._protocol_checks`; here are the checks of stored values (deltas, forks, mutation,
retention, damaged rows, value types) and the runner.
"""

from __future__ import annotations

import datetime as dt
import time
import unittest
from collections.abc import Callable
from typing import Any

from hone.checkpoint._protocol import FORMAT_VERSION, RetentionPolicy
from hone.checkpoint.conformance._kit import (
    Chain,
    Saver,
    SaverHarness,
    chain_pending,
    config,
    expect,
    message,
    sample_values,
    values_of,
)
from hone.checkpoint.conformance._protocol_checks import PROTOCOL_CHECKS
from hone.errors import CheckpointCorruptError, CheckpointVersionError, ConfigError
from hone.messages import UserMessage

__all__ = ["CHECKS", "run_all", "run_check"]


# -- the O(N) layout ------------------------------------------------------------------------


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
    grown = chain.put(items=[{"k": 100}, {"k": 2}, {"k": 3}, {"k": 4}])
    expect(len(values_of(chain, grown)["items"]) == 4, "a list of dicts that grows")


def check_forks(saver: Saver, _: SaverHarness) -> None:
    """Two children of one checkpoint grow independently from the same base."""
    chain = Chain(saver, "t-fork")
    base_msgs = [message(i) for i in range(4)]
    base = chain.put(messages=base_msgs)
    left = chain.put(base, messages=[*base_msgs, UserMessage(content="left")])
    right = chain.put(base, messages=[*base_msgs, UserMessage(content="right")])
    right2 = chain.put(right, messages=[*base_msgs, UserMessage(content="right"), message(9)])
    left2 = chain.put(left, messages=[*base_msgs, UserMessage(content="left"), message(8)])
    deep = chain.put(
        right2, messages=[*base_msgs, UserMessage(content="right"), message(9), message(10)]
    )
    expect(
        values_of(chain, left2)["messages"][4:] == [UserMessage(content="left"), message(8)], "L"
    )
    expect(
        values_of(chain, right2)["messages"][4:] == [UserMessage(content="right"), message(9)], "R"
    )
    expect(
        values_of(chain, deep)["messages"][4:]
        == [UserMessage(content="right"), message(9), message(10)],
        "a fork of a fork",
    )
    expect(values_of(chain, base)["messages"] == base_msgs, "the fork base changed")
    parent = chain.load(right2).parent_config
    expect(parent is not None and parent["configurable"]["checkpoint_id"] == right, "parent lost")


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
    sixth = chain.put(messages=[message(8)])
    expect(values_of(chain, first)["messages"] == msgs, "original changed")
    expect(values_of(chain, second)["messages"] == replaced, "replace-by-id lost")
    expect(values_of(chain, third)["messages"] == replaced[1:], "removal lost")
    expect(values_of(chain, fourth)["messages"] == [*replaced[1:], message(7)], "append lost")
    expect(values_of(chain, fifth)["messages"] == [], "empty list lost")
    expect(values_of(chain, sixth)["messages"] == [message(8)], "append to an empty list lost")


# -- thread admin ---------------------------------------------------------------------------


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
    doomed.write(cid, "t", [("x", 1)], "n")
    saver.delete_thread("t-del")
    expect(saver.get_tuple(config("t-del")) is None, "root namespace not deleted")
    expect(saver.get_tuple(config("t-del", "sub:1")) is None, "subgraph namespace not deleted")
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
        chain.write(ids[-1], "t", [("x", i)], "n")
    fork = chain.put(ids[1], messages=[*msgs[:2], UserMessage(content="fork")])
    deleted = saver.prune("t-prune", RetentionPolicy(keep_last=2))
    remaining = {t.checkpoint["id"] for t in saver.list(config("t-prune"))}
    # Kept: the fork and ids[7] (the two newest), and their parents ids[1] and ids[6].
    expect(remaining == {fork, ids[7], ids[1], ids[6]}, f"kept {sorted(remaining)}")
    expect(deleted == 5, f"prune reported {deleted} deleted, expected 5")
    expect(values_of(chain, ids[7])["messages"] == msgs, "a kept list broke")
    expect(values_of(chain, fork)["messages"][2].text == "fork", "the fork broke")
    expect(values_of(chain, ids[1])["messages"] == msgs[:2], "a kept parent broke")
    expect(chain_pending(chain, ids[7]) == 1, "writes of a kept checkpoint were deleted")
    nxt = chain.put(ids[7], messages=[*msgs, message(20)])
    expect(values_of(chain, nxt)["messages"] == [*msgs, message(20)], "put after prune broke")
    mid = chain.put(ids[1], messages=[*msgs[:2], message(30)])
    expect(values_of(chain, mid)["messages"] == [*msgs[:2], message(30)], "fork after prune")
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
        chain = Chain(saver, "t-age", ns)
        for step in range(3):
            cp, versions = chain.checkpoint({"n": step + i})
            cp["ts"] = dt.datetime.fromtimestamp(old + step, dt.UTC).isoformat()
            saver.put(chain.config(chain.last), cp, {"step": step}, versions)
            chain.last = cp["id"]
    deleted = saver.prune("t-age", RetentionPolicy(max_age_seconds=60))
    for ns in ("", "sub:1"):
        left = [t.metadata["step"] for t in saver.list(config("t-age", ns))]
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
        saver.get_tuple(chain.config(cid))
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
        saver.get_tuple(chain.config(cid))
    except CheckpointCorruptError:
        return
    raise AssertionError("a damaged row must raise CheckpointCorruptError")


def check_value_types(saver: Saver, _: SaverHarness) -> None:
    """Values of every serialisable type come back equal, with their types."""
    chain = Chain(saver, "t-types")
    values = sample_values()
    cid = chain.put(**values)
    chain.write(cid, "t", list(values.items()), "n")
    got = chain.load(cid)
    for name, value in values.items():
        loaded = got.checkpoint["channel_values"][name]
        expect(loaded == value and type(loaded) is type(value), f"{name}: {loaded!r}")
    written = {channel: value for _, channel, value in got.pending_writes or []}
    expect(written == values, "pending write values differ")


CHECKS: dict[str, Callable[[Saver, SaverHarness], None]] = {
    **PROTOCOL_CHECKS,
    **{
        fn.__name__.removeprefix("check_"): fn
        for fn in (
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
    },
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

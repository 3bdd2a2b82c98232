"""Conformance checks of the saver protocol: shapes, configs, listing, writes, async twins."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from hone.checkpoint._protocol import (
    ERROR,
    INTERRUPT,
    RESUME,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    TaskWrites,
)
from hone.checkpoint.conformance._kit import (
    Chain,
    Saver,
    SaverHarness,
    config,
    expect,
    message,
    same_config,
    values_of,
)
from hone.errors import ConfigError
from hone.messages import UserMessage

__all__ = ["PROTOCOL_CHECKS"]


def check_put_get(saver: Saver, _: SaverHarness) -> None:
    """The newest checkpoint and one by id come back as LangGraph's CheckpointTuple."""
    expect(saver.get_tuple(config("nobody")) is None, "get_tuple of an unknown thread is None")
    expect(saver.get(config("nobody")) is None, "get of an unknown thread is None")
    chain = Chain(saver, "t-put")
    first = chain.put(counter=1, text="hello")
    second = chain.put(counter=2)
    got = chain.load()
    expect(isinstance(got, CheckpointTuple), "get_tuple must return a CheckpointTuple")
    expect(same_config(got.config, "t-put", "", second), f"config of the newest: {got.config}")
    expect(same_config(got.parent_config, "t-put", "", first), f"parent {got.parent_config}")
    cp = got.checkpoint
    expect(cp["id"] == second and cp["v"] == 4 and isinstance(cp["ts"], str), "id, v, ts")
    expect(cp["channel_values"] == {"counter": 2, "text": "hello"}, "values differ")
    expect(cp["channel_versions"] == {"counter": 2, "text": 1}, "versions differ")
    expect(cp["versions_seen"] == {"agent": {"counter": 2, "text": 1}}, "versions_seen differ")
    expect(cp["updated_channels"] == ["counter"], "updated_channels differ")
    expect(
        set(cp)
        == {
            "v",
            "id",
            "ts",
            "channel_values",
            "channel_versions",
            "versions_seen",
            "updated_channels",
        },
        f"checkpoint keys {sorted(cp)}",
    )
    expect(got.metadata == {"source": "loop", "step": 1, "parents": {}}, f"{got.metadata}")
    expect(got.pending_writes == [], "a checkpoint without writes has pending_writes == []")
    by_id = saver.get_tuple(chain.config(first))
    expect(
        by_id is not None and by_id.checkpoint["channel_values"] == {"counter": 1, "text": "hello"},
        "by id differs",
    )
    assert by_id is not None
    expect(by_id.parent_config is None, "the first checkpoint has no parent")
    expect(saver.get(chain.config(first)) == by_id.checkpoint, "get is get_tuple().checkpoint")
    expect(saver.get_tuple(chain.config("no-such-id")) is None, "unknown id must be None")
    default_ns = saver.get_tuple({"configurable": {"thread_id": "t-put"}})
    expect(default_ns is not None and default_ns.checkpoint["id"] == second, "ns defaults to ''")


def check_config_round_trip(saver: Saver, _: SaverHarness) -> None:
    """A config naming a checkpoint comes back as given; thread ids are strings; a config
    without a thread id is refused."""
    chain = Chain(saver, "t-config")
    cid = chain.put(n=1)
    asked = {
        "configurable": {
            "thread_id": "t-config",
            "checkpoint_ns": "",
            "checkpoint_id": cid,
            "user": "u",
        },
        "tags": ["x"],
    }
    got = saver.get_tuple(asked)
    expect(got is not None and got.config == asked, "get_tuple returns the config it was given")
    numeric = Chain(saver, "7")
    numeric.put(n=1)
    by_int = saver.get_tuple({"configurable": {"thread_id": 7}})
    expect(by_int is not None and by_int.config["configurable"]["thread_id"] == "7", "str ids")
    bad_configs: list[dict[str, Any]] = [
        {},
        {"configurable": {}},
        {"configurable": {"checkpoint_ns": ""}},
    ]
    for bad in bad_configs:
        try:
            saver.get_tuple(bad)
        except ConfigError as exc:
            expect("thread_id" in str(exc), "the error must name thread_id")
            continue
        raise AssertionError(f"get_tuple({bad!r}) must raise ConfigError")


def check_metadata_from_config(saver: Saver, _: SaverHarness) -> None:
    """put stores the run's config values in metadata, as LangGraph does."""
    chain = Chain(saver, "t-meta")
    checkpoint, versions = chain.checkpoint({"n": 1})
    run_config = {
        "configurable": {
            "thread_id": "t-meta",
            "checkpoint_ns": "",
            "user_id": "alice",
            "temperature": 0.5,
            "__hidden": "x",
            "model": object(),
            "langgraph_step": 3,
        },
        "metadata": {"run_name": "demo", "user_id": "not-this-one"},
    }
    metadata: dict[str, Any] = {"source": "input", "step": -1, "note": "a\x00b"}
    saver.put(run_config, checkpoint, cast(CheckpointMetadata, metadata), versions)
    got = chain.load()
    expect(
        got.metadata
        == {
            "source": "input",
            "step": -1,
            "note": "ab",
            "run_name": "demo",
            "user_id": "not-this-one",
            "temperature": 0.5,
        },
        f"metadata {got.metadata}",
    )


def check_put_same_id_replaces(saver: Saver, _: SaverHarness) -> None:
    """Saving a checkpoint id again replaces it, without changing checkpoints built on it."""
    chain = Chain(saver, "t-same")
    cp, versions = chain.checkpoint({"a": 1})
    saver.put(config("t-same"), cp, {"source": "input", "step": -1}, versions)
    saver.put(config("t-same"), {**cp, "channel_values": {"a": 2}}, {"step": -1}, versions)
    got = saver.get_tuple(config("t-same"))
    expect(got is not None and got.checkpoint["channel_values"] == {"a": 2}, "not replaced")
    expect(got is not None and got.metadata == {"step": -1}, "metadata not replaced")
    expect(len(list(saver.list(config("t-same")))) == 1, "a replaced checkpoint duplicates")
    chain = Chain(saver, "t-same-base")
    base = chain.put(messages=[message(0)])
    child = chain.put(messages=[message(0), message(1)])
    again: Checkpoint = {**chain.load(base).checkpoint, "channel_values": {"messages": []}}
    saver.put(config("t-same-base"), again, {"step": 0}, {"messages": 1})
    expect(values_of(chain, base)["messages"] == [], "the base was not replaced")
    expect(values_of(chain, child)["messages"] == [message(0), message(1)], "child changed")


def check_list_order(saver: Saver, _: SaverHarness) -> None:
    """list() is newest first and honours ``before``, ``limit`` and a checkpoint id."""
    chain = Chain(saver, "t-list")
    ids = [chain.put(n=i) for i in range(5)]
    listed = [t.checkpoint["id"] for t in saver.list(config("t-list"))]
    expect(listed == ids[::-1], f"list order {listed} != {ids[::-1]}")
    before = [t.checkpoint["id"] for t in saver.list(config("t-list"), before=chain.config(ids[3]))]
    expect(before == ids[2::-1], "before must exclude that id and newer ones")
    bare_before = {"configurable": {"checkpoint_id": ids[4]}}
    limited = [
        t.checkpoint["id"] for t in saver.list(config("t-list"), before=bare_before, limit=2)
    ]
    expect(limited == [ids[3], ids[2]], "limit must keep the newest")
    expect(list(saver.list(config("t-list"), limit=0)) == [], "limit=0 lists nothing")
    expect(list(saver.list(config("t-none"))) == [], "unknown thread lists nothing")
    one = list(saver.list(chain.config(ids[1])))
    expect([t.checkpoint["id"] for t in one] == [ids[1]], "a config's checkpoint_id selects it")
    values = [t.checkpoint["channel_values"]["n"] for t in saver.list(config("t-list"))]
    expect(values == [4, 3, 2, 1, 0], "listed checkpoints must carry their own values")
    tup = next(iter(saver.list(config("t-list"))))
    expect(same_config(tup.config, "t-list", "", ids[4]), "listed config")
    expect(same_config(tup.parent_config, "t-list", "", ids[3]), "listed parent config")


def check_list_filter_and_scope(saver: Saver, _: SaverHarness) -> None:
    """``filter`` matches metadata; a config without a namespace lists every namespace; no
    config lists every thread."""
    root, sub, other = Chain(saver, "t-scope"), Chain(saver, "t-scope", "n:1"), Chain(saver, "t-o")
    r1 = root.put(n=1)
    s1 = sub.put(n=2)
    o1 = other.put(n=3)
    r2 = root.put(n=4)
    every_ns = [t.checkpoint["id"] for t in saver.list(config("t-scope", None))]
    expect(every_ns == [r2, s1, r1], f"all namespaces of a thread, newest first: {every_ns}")
    everything = {t.checkpoint["id"] for t in saver.list(None)}
    expect({r1, r2, s1, o1} <= everything, "list(None) must list every thread")
    steps = [t.checkpoint["id"] for t in saver.list(config("t-scope"), filter={"step": 1})]
    expect(steps == [r2], f"filter on step: {steps}")
    both = list(saver.list(config("t-scope", None), filter={"source": "loop", "step": 0}))
    expect({t.checkpoint["id"] for t in both} == {r1, s1}, "filter with two keys")
    expect(list(saver.list(config("t-scope"), filter={"step": 99})) == [], "no match")
    limited = list(saver.list(config("t-scope", None), filter={"step": 0}, limit=1))
    expect([t.checkpoint["id"] for t in limited] == [s1], "limit applies after the filter")
    missing = list(saver.list(config("t-scope"), filter={"absent": None}))
    expect(len(missing) == 2, "a missing key matches None, as in LangGraph")


def check_list_values(saver: Saver, _: SaverHarness) -> None:
    """Listed checkpoints carry their own values, as dicts, in any order of reading; a
    change to one listed value changes no other checkpoint."""
    chain = Chain(saver, "t-list-values")
    msgs: list[Any] = []
    for i in range(6):
        msgs = [*msgs, message(i)]
        chain.put(messages=msgs, table={"i": i})
    listed = list(saver.list(config("t-list-values")))
    for n in (2, 5, 0, 3):  # older ones first, then newer: any order must work
        values = listed[n].checkpoint["channel_values"]
        expect(isinstance(values, dict), "channel_values must be a dict")
        expect(set(values) == {"messages", "table"}, f"keys of listed checkpoint {n}")
        expect(values["messages"] == [message(i) for i in range(6 - n)], f"listed {n}")
    newest = listed[0].checkpoint["channel_values"]
    expect(newest == {"messages": msgs, "table": {"i": 5}}, "a listed dict compares equal")
    newest["messages"].append(message(99))
    newest["table"]["i"] = -1
    again = list(saver.list(config("t-list-values"), limit=2))
    expect(len(again[0].checkpoint["channel_values"]["messages"]) == 6, "a listed list is shared")
    expect(again[0].checkpoint["channel_values"]["table"] == {"i": 5}, "a listed dict is shared")
    expect(listed[1].checkpoint["channel_values"]["table"] == {"i": 4}, "values are shared")


def check_pending_writes(saver: Saver, _: SaverHarness) -> None:
    """Writes attach to their checkpoint in (task_path, task_id, idx) order; an ordinary
    (task, idx) keeps its first value and a special channel's write is replaced."""
    chain = Chain(saver, "t-writes")
    first = chain.put(n=0)
    chain.write(first, "b", [("x", 1), ("y", (2,))], "~node_b")
    chain.write(first, "a", [("x", 3)], "~node_a")
    chain.write(first, "b", [("x", 99), ("y", 99)], "~node_b")
    chain.write(first, "a", [(ERROR, "boom")], "~node_a")
    chain.write(first, "a", [(ERROR, "boom again")], "~node_a")
    chain.write(first, "c", [(INTERRUPT, {"value": 1}), (RESUME, "yes")], "~node_c")
    chain.write(first, "c", [(INTERRUPT, {"value": 2})], "~node_c")
    second = chain.put(n=1)
    got = chain.load(first).pending_writes
    expected = [
        ("a", ERROR, "boom again"),
        ("a", "x", 3),
        ("b", "x", 1),
        ("b", "y", (2,)),
        ("c", RESUME, "yes"),
        ("c", INTERRUPT, {"value": 2}),
    ]
    expect(got == expected, f"pending writes {got} != {expected}")
    expect(chain.load(second).pending_writes == [], "writes belong to one checkpoint only")
    listed = next(iter(saver.list(chain.config(first))))
    expect(listed.pending_writes == expected, "listed pending writes differ")
    try:
        saver.put_writes(config("t-writes"), [("x", 1)], "t")
    except ConfigError:
        return
    raise AssertionError("put_writes without a checkpoint_id must raise ConfigError")


def check_put_with_writes(saver: Saver, _: SaverHarness) -> None:
    """put(..., writes=...) stores the parent's pending writes with the new checkpoint."""
    chain = Chain(saver, "t-put-writes")
    parent = chain.put(n=0)
    chain.write(parent, "early", [("x", "saved before")], "~a")
    task = TaskWrites("late", "~b", [("x", "saved with the child"), (ERROR, "e")])
    child = chain.put(n=1, _writes=[task, TaskWrites("idle", "~c", [])])
    got = chain.load(parent).pending_writes
    expect(
        got
        == [
            ("early", "x", "saved before"),
            ("late", ERROR, "e"),
            ("late", "x", "saved with the child"),
        ],
        f"parent writes {got}",
    )
    expect(chain.load(child).pending_writes == [], "the child has no writes")
    cp, versions = Chain(saver, "t-put-writes-none").checkpoint({"n": 1})
    try:
        saver.put(config("t-put-writes-none"), cp, {}, versions, writes=[task])
    except ConfigError:
        expect(saver.get_tuple(config("t-put-writes-none")) is None, "nothing was stored")
        return
    raise AssertionError("writes without a parent checkpoint must raise ConfigError")


def check_namespaces_isolated(saver: Saver, _: SaverHarness) -> None:
    """Namespaces of one thread do not see each other."""
    root, sub = Chain(saver, "t-ns"), Chain(saver, "t-ns", "agent:task1")
    root_id = root.put(messages=["root"])
    sub_id = sub.put(messages=["sub"])
    expect(values_of(root)["messages"] == ["root"], "root namespace sees the subgraph")
    expect(values_of(sub)["messages"] == ["sub"], "subgraph namespace sees the root")
    expect(saver.get_tuple(config("t-ns", "", sub_id)) is None, "ids are scoped to namespaces")
    listed = [t.checkpoint["id"] for t in saver.list(config("t-ns"))]
    expect(listed == [root_id], "list of one namespace mixes namespaces")
    sub_tuple = sub.load()
    expect(same_config(sub_tuple.config, "t-ns", "agent:task1", sub_id), "subgraph config")


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
    """Channels absent from new_versions keep loading; removed channels disappear; a channel
    written without a value has a version and no value."""
    chain = Chain(saver, "t-versions")
    chain.put(config={"model": "m"}, messages=[UserMessage(content="hi")], scratch="tmp")
    for i in range(3):
        chain.put(counter=i)
    last = chain.put(scratch=Chain.REMOVE)
    values = values_of(chain, last)
    expect(values["config"] == {"model": "m"}, "an unchanged channel must still load")
    expect(values["messages"] == [UserMessage(content="hi")], "an unchanged list must load")
    expect("scratch" not in values and values["counter"] == 2, "removal or update lost")
    expect(chain.load(last).checkpoint["channel_versions"]["scratch"] == 2, "version kept")


def check_string_versions(saver: Saver, _: SaverHarness) -> None:
    """Versions may be strings (LangGraph's savers) or floats; get_next_version counts up."""
    first = saver.get_next_version(None, None)
    expect(saver.get_next_version(first, None) > first, "get_next_version must increase")
    cp, _unused = Chain(saver, "t-strver").checkpoint({"a": 1, "b": 2})
    v1, v2 = "00000000000000000000000000000001.0.5", 2.5
    cp["channel_versions"] = {"a": v1, "b": v2}
    cp["versions_seen"] = {"n": {"a": v1}}
    saved = saver.put(config("t-strver"), cp, {"step": -1}, {"a": v1, "b": v2})
    got = saver.get_tuple(saved)
    expect(got is not None and got.checkpoint["channel_versions"] == {"a": v1, "b": v2}, "vers")
    assert got is not None
    expect(got.checkpoint["channel_values"] == {"a": 1, "b": 2}, "values with string versions")
    child: Checkpoint = {**cp, "id": Chain(saver, "x").checkpoint({})[0]["id"]}
    again = saver.put(saved, child, {"step": 0}, {})
    kept = saver.get_tuple(again)
    expect(kept is not None and kept.checkpoint["channel_values"] == {"a": 1, "b": 2}, "refs")
    bumped = saver.get_next_version(v1, None)
    expect(isinstance(bumped, str) and bumped > v1, f"next of a string version: {bumped!r}")


def check_async_twins(saver: Saver, _: SaverHarness) -> None:
    """aput, aput_writes, aget_tuple, aget, alist and adelete_thread match the sync methods."""

    async def run() -> None:
        chain = Chain(saver, "t-async")
        cp, versions = chain.checkpoint({"messages": [message(0)]})
        saved = await saver.aput(config("t-async"), cp, {"step": -1}, versions)
        await saver.aput_writes(saved, [("x", 1)], "task", "~p")
        got = await saver.aget_tuple(config("t-async"))
        expect(got is not None and got.pending_writes == [("task", "x", 1)], "aget_tuple")
        expect(got == saver.get_tuple(config("t-async")), "aget_tuple equals get_tuple")
        cp2, versions2 = chain.checkpoint({"messages": [message(0), message(1)]})
        await saver.aput(
            saved, cp2, {"step": 0}, versions2, writes=[TaskWrites("t2", "", [("y", 2)])]
        )
        fetched = await saver.aget(config("t-async"))
        expect(fetched is not None and fetched["id"] == cp2["id"], "aget")
        listed = [t async for t in saver.alist(config("t-async"), limit=5)]
        expect([t.checkpoint["id"] for t in listed] == [cp2["id"], cp["id"]], "alist")
        expect(listed[1].pending_writes == [("t2", "y", 2), ("task", "x", 1)], "alist writes")
        await saver.adelete_thread("t-async")
        expect(await saver.aget_tuple(config("t-async")) is None, "adelete_thread")

    asyncio.run(run())


PROTOCOL_CHECKS = {
    fn.__name__.removeprefix("check_"): fn
    for fn in (
        check_put_get,
        check_config_round_trip,
        check_metadata_from_config,
        check_put_same_id_replaces,
        check_list_order,
        check_list_filter_and_scope,
        check_list_values,
        check_pending_writes,
        check_put_with_writes,
        check_namespaces_isolated,
        check_threads_isolated,
        check_new_versions,
        check_string_versions,
        check_async_twins,
    )
}

"""The O(N) storage layout: deltas, growth on disk, long chains, retention of chain bases."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hone.checkpoint import InMemorySaver, RetentionPolicy, SqliteSaver
from hone.checkpoint.conformance import Chain
from hone.messages import AssistantMessage, UserMessage


def _message(i: int) -> UserMessage | AssistantMessage:
    text = f"message number {i}: " + "lorem ipsum " * 8
    return UserMessage(content=text) if i % 2 == 0 else AssistantMessage(content=text)


def _db_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def _blob_stats(path: Path) -> tuple[int, int, int]:
    """(rows, delta rows, bytes of stored values)."""
    with sqlite3.connect(path) as conn:
        rows, deltas, size = conn.execute(
            "SELECT count(*), count(base_id), coalesce(sum(length(data)), 0) FROM hone_blobs"
        ).fetchone()
    return int(rows), int(deltas), int(size)


def test_appends_grow_storage_linearly(tmp_path: Path) -> None:
    path = tmp_path / "growth.db"
    saver = SqliteSaver(path)
    empty = _db_bytes(path)
    chain = Chain(saver, "long")
    messages: list[Any] = []
    sizes = {}
    for i in range(1, 501):
        messages = [*messages, _message(i)]
        chain.put(messages=messages, step=i)
        if i in (100, 500):
            sizes[i] = _db_bytes(path) - empty
    saver.close()
    ratio = sizes[500] / sizes[100]
    assert 4.0 < ratio < 6.0, f"disk growth {sizes} is not linear (ratio {ratio:.2f})"
    assert sizes[500] < 1_500_000, f"500 turns take {sizes[500]} bytes"
    _, deltas, value_bytes = _blob_stats(path)
    assert deltas == 499, "every append after the first must be a delta"
    one_message = len(_message(0).model_dump_json())
    assert value_bytes < 500 * (one_message + 200), "messages are stored more than once"


def test_a_long_delta_chain_loads_exactly(tmp_path: Path) -> None:
    saver = SqliteSaver(tmp_path / "chain.db")
    chain = Chain(saver, "chain")
    messages: list[Any] = []
    ids = []
    for i in range(400):
        messages = [*messages, _message(i)]
        ids.append(chain.put(messages=messages))
    reopened = SqliteSaver(tmp_path / "chain.db")  # no cache: walks the stored chain
    got = reopened.get("chain")
    assert got is not None and got.checkpoint.channel_values["messages"] == messages
    middle = reopened.get("chain", "", ids[199])
    assert middle is not None and middle.checkpoint.channel_values["messages"] == messages[:200]
    # A new process continues the chain with deltas instead of storing the list again.
    Chain(reopened, "chain").put(ids[-1], messages=[*messages, _message(400)])
    assert _blob_stats(tmp_path / "chain.db")[1] == 400
    saver.close()
    reopened.close()


def test_prune_keeps_the_bases_a_kept_delta_needs(tmp_path: Path) -> None:
    path = tmp_path / "prune.db"
    saver = SqliteSaver(path)
    chain = Chain(saver, "p")
    messages: list[Any] = []
    for i in range(50):
        messages = [*messages, _message(i)]
        chain.put(messages=messages, scratch=i)
    before = _blob_stats(path)
    assert saver.prune("p", RetentionPolicy(keep_last=1)) == 48
    rows, deltas, _ = _blob_stats(path)
    # The 50 message blobs form one chain the kept checkpoint needs; of the 50 scratch
    # values only the two kept checkpoints' survive.
    assert (rows, deltas) == (52, 49), (before, rows, deltas)
    fresh = SqliteSaver(path)
    got = fresh.get("p")
    assert got is not None and got.checkpoint.channel_values["messages"] == messages
    saver.close()
    fresh.close()


def test_a_put_whose_base_was_deleted_stores_a_full_value() -> None:
    saver = InMemorySaver()
    chain = Chain(saver, "heal")
    chain.put(messages=[_message(0)], config="c")
    chain.put(messages=[_message(0), _message(1)])
    other = InMemorySaver()
    other._backend = saver._backend  # a second process sharing the storage
    other.delete_thread("heal")
    # This process still caches the deleted parent and its values; the put must not
    # point at blobs that are gone (neither the delta base nor the unchanged "config").
    child = chain.put(messages=[_message(0), _message(1), _message(2)])
    got = saver.get("heal", "", child)
    assert got is not None
    assert got.checkpoint.channel_values == {
        "messages": [_message(0), _message(1), _message(2)],
        "config": "c",
    }
    space = saver._backend.threads["heal"][""]  # type: ignore[attr-defined]
    assert all(blob.base_id is None for blob in space.blobs.values())


def test_unchanged_channels_are_not_stored_again(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    saver = SqliteSaver(path)
    chain = Chain(saver, "refs")
    chain.put(big=["x" * 1000] * 20)
    for i in range(20):
        chain.put(counter=i)
    rows, _, size = _blob_stats(path)
    assert rows == 21 and size < 25_000
    saver.close()


_op = st.tuples(
    st.sampled_from(["append", "append2", "replace", "drop_first", "same", "prune"]),
    st.integers(min_value=0, max_value=1_000),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_op, min_size=1, max_size=25))
def test_random_histories_with_forks_and_pruning_load_exactly(ops: list[tuple[str, int]]) -> None:
    saver = InMemorySaver()
    chain = Chain(saver, "h")
    expected: dict[str, list[Any]] = {chain.put(messages=[_message(0)]): [_message(0)]}
    for n, (op, pick) in enumerate(ops, start=1):
        alive = [t.checkpoint.id for t in saver.list("h")]
        if op == "prune":
            saver.prune("h", RetentionPolicy(keep_last=1 + pick % 3))
            expected = {cid: v for cid, v in expected.items() if saver.get("h", "", cid)}
            continue
        parent = alive[pick % len(alive)]  # a fork whenever it is not the newest
        old = expected[parent]
        new = {
            "append": [*old, _message(n)],
            "append2": [*old, _message(n), _message(n + 100)],
            "replace": [_message(-n), *old[1:]],
            "drop_first": old[1:],
            "same": list(old),
        }[op]
        expected[chain.put(parent, messages=new)] = new
    for cid, value in expected.items():
        got = saver.get("h", "", cid)
        assert got is not None and got.checkpoint.channel_values["messages"] == value

"""The O(N) storage layout: appended segments, bounded loads, growth on disk, retention."""

from __future__ import annotations

import itertools
import math
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hone.checkpoint import InMemorySaver, RetentionPolicy, SqliteSaver
from hone.checkpoint.conformance import Chain, concurrent_forks, config
from hone.messages import AssistantMessage, UserMessage


def _message(i: int) -> UserMessage | AssistantMessage:
    text = f"message number {i}: " + "lorem ipsum " * 8
    return UserMessage(content=text) if i % 2 == 0 else AssistantMessage(content=text)


def _db_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def _value_stats(path: Path) -> tuple[int, int, int, int]:
    """(blob rows, segment rows, items held by segments, bytes of stored values)."""
    with sqlite3.connect(path) as conn:
        blobs, blob_bytes = conn.execute(
            "SELECT count(*), coalesce(sum(length(data)), 0) FROM hone_blobs"
        ).fetchone()
        segments, items, seg_bytes = conn.execute(
            "SELECT count(*), coalesce(sum(end_idx - start_idx), 0), "
            "coalesce(sum(length(data)), 0) FROM hone_segments"
        ).fetchone()
    return int(blobs), int(segments), int(items), int(blob_bytes) + int(seg_bytes)


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
    _blobs, segments, items, value_bytes = _value_stats(path)
    assert items == 500, "every message must be stored exactly once"
    assert segments <= math.log2(500) + 1, f"{segments} segments: tail merging is off"
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
    reopened = SqliteSaver(tmp_path / "chain.db")  # no cache: reads the stored segments
    got = reopened.get(config("chain"))
    assert got is not None and got["channel_values"]["messages"] == messages
    middle = reopened.get(config("chain", "", ids[199]))
    assert middle is not None and middle["channel_values"]["messages"] == messages[:200]
    # A new process continues the chain instead of storing the list again.
    Chain(reopened, "chain").put(ids[-1], messages=[*messages, _message(400)])
    assert _value_stats(tmp_path / "chain.db")[2] == 401
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
    before = _value_stats(path)
    assert saver.prune("p", RetentionPolicy(keep_last=1)) == 48
    blobs, _, items, _ = _value_stats(path)
    # The 50 messages form one chain the kept checkpoint needs; of the 50 scratch values
    # only the two kept checkpoints' survive.
    assert (blobs, items) == (2, 50), (before, blobs, items)
    fresh = SqliteSaver(path)
    got = fresh.get(config("p"))
    assert got is not None and got["channel_values"]["messages"] == messages
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
    got = saver.get(config("heal", "", child))
    assert got is not None
    assert got["channel_values"] == {
        "messages": [_message(0), _message(1), _message(2)],
        "config": "c",
    }
    space = saver._backend.threads["heal"][""]  # type: ignore[attr-defined]
    segments = [seg for chain in space.segments.values() for seg in chain.values()]
    assert [(s.start, s.end, s.base_id) for s in segments] == [(0, 3, None)]


def test_unchanged_channels_are_not_stored_again(tmp_path: Path) -> None:
    path = tmp_path / "refs.db"
    saver = SqliteSaver(path)
    chain = Chain(saver, "refs")
    chain.put(big=["x" * 1000] * 20)
    for i in range(20):
        chain.put(counter=i)
    blobs, segments, _, size = _value_stats(path)
    assert (blobs, segments) == (20, 1) and size < 25_000
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
        alive = [t.checkpoint["id"] for t in saver.list(config("h"))]
        if op == "prune":
            saver.prune("h", RetentionPolicy(keep_last=1 + pick % 3))
            expected = {cid: v for cid, v in expected.items() if saver.get(config("h", "", cid))}
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
    fresh = InMemorySaver()
    fresh._backend = saver._backend  # no value cache: every value comes from the segments
    for cid, value in expected.items():
        for reader in (saver, fresh):
            got = reader.get(config("h", "", cid))
            assert got is not None and got["channel_values"]["messages"] == value


class _Reads:
    """Counts the segment rows a fresh saver reads."""

    def __init__(self, saver: Any) -> None:
        self.inner, self.rows = saver._backend, 0
        saver._backend = self

    def read(self, body: Any, *, snapshot: bool) -> Any:
        reads = self

        class Tx:
            def __init__(self, tx: Any) -> None:
                self.tx = tx

            def segments(self, *args: Any, **kwargs: Any) -> Any:
                rows = self.tx.segments(*args, **kwargs)
                reads.rows += len(rows)
                return rows

            def __getattr__(self, name: str) -> Any:
                return getattr(self.tx, name)

        return self.inner.read(lambda tx: body(Tx(tx)), snapshot=snapshot)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_loads_read_a_logarithmic_number_of_rows_however_long_the_thread() -> None:
    saver = InMemorySaver()
    chain = Chain(saver, "long")
    messages: list[Any] = []
    ids = []
    for i in range(2000):
        messages = [*messages, _message(i)]
        ids.append(chain.put(messages=messages))
    for n in (1, 100, 1000, 1999, 2000):
        fresh = InMemorySaver()
        fresh._backend = saver._backend  # no cache: every row comes from storage
        reads = _Reads(fresh)
        got = fresh.get(config("long", "", ids[n - 1]))
        assert got is not None and got["channel_values"]["messages"] == messages[:n]
        assert reads.rows <= math.log2(2000) + 1, (n, reads.rows)
    space = saver._backend.threads["long"][""]  # type: ignore[attr-defined]
    (segments,) = space.segments.values()
    sizes = [s.end - s.start for s in sorted(segments.values(), key=lambda s: s.start)]
    assert sum(sizes) == 2000 and sizes == sorted(sizes, reverse=True), sizes
    assert all(a >= 2 * b for a, b in itertools.pairwise(sizes)), sizes


def test_a_fork_stores_only_what_it_adds_and_survives_merges_of_its_base() -> None:
    saver = InMemorySaver()
    chain = Chain(saver, "f")
    messages: list[Any] = []
    ids = []
    for i in range(10):
        messages = [*messages, _message(i)]
        ids.append(chain.put(messages=messages))
    fork = chain.put(ids[4], messages=[*messages[:5], _message(100)])
    for i in range(10, 40):  # the base chain keeps growing and merging its segments
        messages = [*messages, _message(i)]
        chain.put(chain.last if i > 10 else ids[-1], messages=messages)
    space = saver._backend.threads["f"][""]  # type: ignore[attr-defined]
    items = sum(s.end - s.start for chain_ in space.segments.values() for s in chain_.values())
    assert items == 40 + 1, "the fork must store its one new message only"
    fresh = InMemorySaver()
    fresh._backend = saver._backend
    got = fresh.get(config("f", "", fork))
    assert got is not None and got["channel_values"]["messages"] == [*messages[:5], _message(100)]


def test_concurrent_appends_to_one_chain_fork_in_memory() -> None:
    concurrent_forks(InMemorySaver(), writers=20, rounds=3)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60))
def test_segments_halve_towards_the_tail_whatever_the_append_sizes(sizes: list[int]) -> None:
    saver = InMemorySaver()
    chain = Chain(saver, "s")
    items: list[Any] = []
    for n, size in enumerate(sizes):
        items = [*items, *(f"{n}.{i}" for i in range(size))]
        chain.put(items=items)
    space = saver._backend.threads["s"][""]  # type: ignore[attr-defined]
    (segments,) = space.segments.values()
    lengths = [s.end - s.start for s in sorted(segments.values(), key=lambda s: s.start)]
    assert sum(lengths) == len(items)
    assert all(a >= 2 * b for a, b in itertools.pairwise(lengths)), lengths
    assert len(lengths) <= math.log2(len(items)) + 1
    got = saver.get(config("s"))
    assert got is not None and got["channel_values"]["items"] == items

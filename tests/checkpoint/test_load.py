"""Loading values: lazy listing, one read per stored row, consistent reads beside prune."""

from __future__ import annotations

import copy
import json
import pickle
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hone.checkpoint import InMemorySaver, RetentionPolicy, SqliteSaver
from hone.checkpoint.conformance import Chain, config
from hone.errors import CheckpointNotFoundError
from hone.messages import UserMessage


class _CountingTx:
    def __init__(self, tx: Any, counts: _Counting) -> None:
        self.tx, self.counts = tx, counts

    def blob_chains(self, *args: Any, **kwargs: Any) -> Any:
        chains = self.tx.blob_chains(*args, **kwargs)
        self.counts.value_rows += sum(len(c) for c in chains.values())
        return chains

    def segments(self, *args: Any, **kwargs: Any) -> Any:
        rows = self.tx.segments(*args, **kwargs)
        self.counts.value_rows += len(rows)
        return rows

    def checkpoints(self, *args: Any, **kwargs: Any) -> Any:
        rows = self.tx.checkpoints(*args, **kwargs)
        self.counts.checkpoint_rows += len(rows)
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tx, name)


class _Counting:
    """Wraps a saver's backend and counts the value rows and checkpoint rows it reads."""

    def __init__(self, saver: Any) -> None:
        self.inner = saver._backend
        self.value_rows = 0
        self.checkpoint_rows = 0
        saver._backend = self

    def read(self, body: Any, *, snapshot: bool) -> Any:
        return self.inner.read(lambda tx: body(_CountingTx(tx, self)), snapshot=snapshot)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _history(saver: Any, steps: int, thread: str = "t") -> list[list[UserMessage]]:
    chain = Chain(saver, thread)
    values: list[list[UserMessage]] = []
    messages: list[UserMessage] = []
    for i in range(steps):
        messages = [*messages, UserMessage(content=f"m{i}")]
        chain.put(messages=messages, n=i)
        values.append(messages)
    return values


def test_listing_reads_no_values_until_one_is_read() -> None:
    saver = InMemorySaver()
    _history(saver, 200)
    fresh = InMemorySaver()
    fresh._backend = saver._backend  # no value cache: every value comes from storage
    counting = _Counting(fresh)
    listed = list(fresh.list(config("t"), limit=10))
    assert len(listed) == 10 and counting.checkpoint_rows == 10
    assert counting.value_rows == 0, "listing must not read values"
    values = listed[3].checkpoint["channel_values"]
    assert set(values) == {"messages", "n"} and len(values) == 2 and "n" in values
    assert counting.value_rows == 0, "keys and length come from the references"
    assert values["n"] == 196 and len(values["messages"]) == 197


def test_reading_a_whole_history_reads_each_stored_row_once() -> None:
    saver = InMemorySaver()
    expected = _history(saver, 150)
    fresh = InMemorySaver()
    fresh._backend = saver._backend
    counting = _Counting(fresh)
    got = [t.checkpoint["channel_values"]["messages"] for t in fresh.list(config("t"))]
    assert got == expected[::-1]
    # The list is one chain of at most log2(150) + 1 segments, read once for the newest
    # checkpoint; the counter channel is never read, so never loaded.
    assert 1 <= counting.value_rows <= 8, counting.value_rows
    before = counting.value_rows
    counters = [t.checkpoint["channel_values"]["n"] for t in fresh.list(config("t"))]
    assert counters == list(range(149, -1, -1)) and counting.value_rows == before + 150


def test_listed_values_are_independent_objects() -> None:
    saver = InMemorySaver()
    chain = Chain(saver, "t")
    chain.put(items=[{"k": 0}])
    chain.put(items=[{"k": 0}, {"k": 1}])
    newer, older = (t.checkpoint["channel_values"]["items"] for t in saver.list(config("t")))
    newer[0]["k"] = 99
    newer.append({"k": 2})
    assert older == [{"k": 0}]
    again = next(iter(saver.list(config("t")))).checkpoint["channel_values"]["items"]
    assert again == [{"k": 0}, {"k": 1}]


def test_lazy_values_behave_as_a_dict() -> None:
    saver = InMemorySaver()
    Chain(saver, "t").put(a=1, b=[UserMessage(content="x")])
    values = next(iter(saver.list(config("t")))).checkpoint["channel_values"]
    assert isinstance(values, dict) and isinstance(values, Mapping)
    assert list(values) == ["a", "b"] and len(values) == 2 and "a" in values
    assert values == {"a": 1, "b": [UserMessage(content="x")]}
    assert dict(values) == {"a": 1, "b": [UserMessage(content="x")]}
    assert {**values} == dict(values) and values.copy() == dict(values)
    assert type(values.copy()) is dict and type(copy.deepcopy(values)) is dict
    assert pickle.loads(pickle.dumps(values)) == dict(values)
    assert json.loads(json.dumps(values, default=str))["a"] == 1
    assert "c" not in values and values.get("c") is None
    with pytest.raises(KeyError):
        values["c"]


def test_lazy_values_load_one_channel_at_a_time_until_all_are_needed() -> None:
    saver = InMemorySaver()
    Chain(saver, "t").put(a=1, b=[2], c={"x": 3})
    listed = next(iter(saver.list(config("t")))).checkpoint["channel_values"]
    assert dict.__len__(listed) == 0  # nothing read yet
    assert listed["b"] == [2] and dict.__len__(listed) == 1
    assert list(listed.items()) == [("a", 1), ("b", [2]), ("c", {"x": 3})]
    listed["d"] = 4  # a change makes it an ordinary dict
    assert list(listed) == ["a", "b", "c", "d"] and listed.pop("a") == 1
    assert repr(listed) == "{'b': [2], 'c': {'x': 3}, 'd': 4}"
    fresh = next(iter(saver.list(config("t")))).checkpoint["channel_values"]
    assert repr(fresh) == "{'a': 1, 'b': [2], 'c': {'x': 3}}"
    one, two, three = (
        next(iter(saver.list(config("t")))).checkpoint["channel_values"] for _ in "abc"
    )
    assert one == two  # two unread listings compare by their values
    assert (two != three) is False and one != {"a": 1}


def test_a_value_read_after_its_checkpoint_was_pruned_says_so(tmp_path: Path) -> None:
    saver = SqliteSaver(tmp_path / "c.db")
    _history(saver, 10)
    listed = list(saver.list(config("t")))
    saver.prune("t", RetentionPolicy(keep_last=1))
    assert listed[0].checkpoint["channel_values"]["n"] == 9  # kept
    with pytest.raises(CheckpointNotFoundError, match="deleted after it was listed"):
        listed[-1].checkpoint["channel_values"]["n"]
    saver.close()


_op = st.tuples(st.sampled_from(["append", "replace", "fork", "same"]), st.integers(0, 100))


@settings(max_examples=40, deadline=None)
@given(st.lists(_op, min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_listed_values_of_forked_histories_are_exact(ops: list[tuple[str, int]], rnd: Any) -> None:
    saver = InMemorySaver()
    chain = Chain(saver, "h")
    first = [UserMessage(content="0")]
    expected = {chain.put(messages=first): first}
    for n, (op, pick) in enumerate(ops, start=1):
        ids = sorted(expected)
        parent = ids[pick % len(ids)] if op == "fork" else ids[-1]
        old = expected[parent]
        new = [UserMessage(content=f"r{n}"), *old[1:]] if op == "replace" else [*old]
        if op != "same":
            new.append(UserMessage(content=str(n)))
        expected[chain.put(parent, messages=new)] = new
    fresh = InMemorySaver()
    fresh._backend = saver._backend
    listed = list(fresh.list(config("h")))
    rnd.shuffle(listed)  # any order of reading must give the same values
    for item in listed:
        assert item.checkpoint["channel_values"]["messages"] == expected[item.checkpoint["id"]]


def test_get_beside_prune_never_sees_half_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    writer = SqliteSaver(path)
    chain = Chain(writer, "r")
    ids = [chain.put(messages=[UserMessage(content="0")], n=0)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def prune_loop() -> None:
        try:
            for i in range(1, 150):
                ids.append(chain.put(messages=[UserMessage(content=str(i))], n=i))
                writer.prune("r", RetentionPolicy(keep_last=1))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            stop.set()

    reader = SqliteSaver(path)
    thread = threading.Thread(target=prune_loop)
    thread.start()
    seen = 0
    while not stop.is_set():
        got = reader.get(config("r", "", ids[max(0, len(ids) - 3)]))  # often pruned meanwhile
        if got is not None:
            n = got["channel_values"]["n"]
            assert got["channel_values"]["messages"] == [UserMessage(content=str(n))]
            seen += 1
    thread.join()
    assert not errors, errors
    assert seen > 0
    writer.close()
    reader.close()

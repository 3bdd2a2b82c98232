"""Building blocks of the conformance checks: the harness, a checkpoint builder, sample values,
and concurrent writers."""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from hone.checkpoint._protocol import (
    Checkpoint,
    CheckpointConfig,
    Checkpointer,
    CheckpointMetadata,
    CheckpointTuple,
    TaskWrites,
    ThreadAdmin,
    new_checkpoint_id,
)
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage

__all__ = [
    "Chain",
    "Color",
    "Point",
    "Saver",
    "SaverHarness",
    "Span",
    "chain_pending",
    "check_chain",
    "concurrent_forks",
    "concurrent_writes",
    "config",
    "expect",
    "message",
    "same_config",
    "sample_values",
    "values_of",
    "write_chain",
]


class Saver(Checkpointer, ThreadAdmin, Protocol):
    """What the checks exercise: both saver protocols."""


@dataclass(frozen=True)
class SaverHarness:
    """How the checks get and damage savers.

    Attributes:
        make: a new saver with empty storage.
        close: releases a saver after a check (default: its ``close()``, if any).
        corrupt: ``(saver, thread_id, ns, checkpoint_id)`` damages the stored values that
            checkpoint wrote, so that loading it must fail.
        set_format_version: ``(saver, thread_id, ns, checkpoint_id, version)`` rewrites the
            stored format version of that checkpoint's row.
    """

    make: Callable[[], Saver]
    close: Callable[[Saver], None] | None = None
    corrupt: Callable[[Saver, str, str, str], None] | None = None
    set_format_version: Callable[[Saver, str, str, str, int], None] | None = None


def expect(condition: bool, message: str) -> None:
    """Raise AssertionError with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def config(thread_id: str, ns: str | None = "", checkpoint_id: str | None = None) -> dict[str, Any]:
    """A ``{"configurable": {...}}`` config (``ns`` None: no ``checkpoint_ns`` key)."""
    conf: dict[str, Any] = {"thread_id": thread_id}
    if ns is not None:
        conf["checkpoint_ns"] = ns
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


class Chain:
    """Builds a line of checkpoints in one thread and namespace, like a graph runtime does."""

    #: Written to a channel, removes its value.
    REMOVE: Any = object()

    def __init__(self, saver: Saver, thread_id: str, ns: str = "") -> None:
        self.saver, self.thread_id, self.ns = saver, thread_id, ns
        self.values: dict[str, Any] = {}
        self.versions: dict[str, int] = {}
        self.last: str | None = None
        self.step = -1

    def checkpoint(self, writes: Mapping[str, Any]) -> tuple[Checkpoint, dict[str, int]]:
        """Apply channel writes and build the next checkpoint (not saved) with its
        ``new_versions``."""
        new_versions: dict[str, int] = {}
        for channel, value in writes.items():
            self.versions[channel] = self.versions.get(channel, 0) + 1
            new_versions[channel] = self.versions[channel]
            if value is self.REMOVE:
                self.values.pop(channel, None)
            else:
                self.values[channel] = value
        self.step += 1
        checkpoint: Checkpoint = {
            "v": 4,
            "id": new_checkpoint_id(),
            "ts": dt.datetime.now(dt.UTC).isoformat(),
            "channel_values": dict(self.values),
            "channel_versions": dict(self.versions),
            "versions_seen": {"agent": dict(self.versions)},
            "updated_channels": sorted(writes),
        }
        return checkpoint, new_versions

    def put(
        self,
        parent: str | None = "",
        /,
        *,
        _writes: Sequence[TaskWrites] = (),
        **writes: Any,
    ) -> str:
        """Write channels (``Chain.REMOVE`` removes one) and save a checkpoint after ``parent``
        (default: the last one saved here); return its id."""
        checkpoint, new_versions = self.checkpoint(writes)
        parent_id = self.last if parent == "" else parent
        metadata: CheckpointMetadata = {"source": "loop", "step": self.step, "parents": {}}
        saved = self.saver.put(
            config(self.thread_id, self.ns, parent_id),
            checkpoint,
            metadata,
            new_versions,
            writes=_writes,
        )
        expect(
            saved == config(self.thread_id, self.ns, checkpoint["id"]),
            f"put must return the config naming the new checkpoint, got {saved!r}",
        )
        self.last = checkpoint["id"]
        return checkpoint["id"]

    def config(self, checkpoint_id: str | None = None) -> dict[str, Any]:
        """The config naming one checkpoint of the chain (None: the newest)."""
        return config(self.thread_id, self.ns, checkpoint_id)

    def write(
        self, checkpoint_id: str, task_id: str, writes: Sequence[tuple[str, Any]], path: str = ""
    ) -> None:
        """Save pending writes of a task against a checkpoint of the chain."""
        self.saver.put_writes(self.config(checkpoint_id), writes, task_id, path)

    def load(self, checkpoint_id: str | None = None) -> CheckpointTuple:
        """The stored checkpoint, which must exist."""
        got = self.saver.get_tuple(self.config(checkpoint_id))
        expect(got is not None, f"checkpoint {checkpoint_id} of {self.thread_id} not found")
        assert got is not None  # for the type checker
        return got


def values_of(chain: Chain, checkpoint_id: str | None = None) -> Mapping[str, Any]:
    """The channel values of a stored checkpoint of the chain."""
    return chain.load(checkpoint_id).checkpoint["channel_values"]


def message(i: int) -> UserMessage | AssistantMessage:
    """The i-th message of a test conversation (odd ones are assistant turns with a tool call)."""
    if i % 2:
        call = ToolCall(id=f"call_{i}", name="search", arguments={"q": i})
        return AssistantMessage(id=f"m{i}", content=f"turn {i}", tool_calls=(call,))
    return UserMessage(id=f"m{i}", content=f"turn {i}")


def chain_pending(chain: Chain, checkpoint_id: str) -> int:
    """How many pending writes a checkpoint has."""
    return len(chain.load(checkpoint_id).pending_writes or [])


class Color(enum.Enum):
    """An enum value for the type round-trip check."""

    RED = "red"


class Point(BaseModel):
    """A pydantic model for the type round-trip check."""

    x: int
    tags: list[str] = []


@dataclass(frozen=True)
class Span:
    """A dataclass for the type round-trip check."""

    start: int
    label: str
    when: dt.datetime | None = None


def sample_values() -> dict[str, Any]:
    """One value of every type savers must store exactly."""
    return {
        "none": None,
        "scalars": [1, 2.5, True, "é", -(2**70)],
        "nested": {"a": [{"b": None}], "": 0},
        "int_keys": {1: "one", (2, 3): "pair"},
        "reserved_key": {"__hone__": "not a tag"},
        "tuple": (1, (2, "x")),
        "set": {1, 2},
        "frozenset": frozenset({"a"}),
        "bytes": b"\x00\xff",
        "datetime": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        "date": dt.date(2024, 5, 1),
        "timedelta": dt.timedelta(seconds=90),
        "enum": Color.RED,
        "model": Point(x=1, tags=["a"]),
        "dataclass": Span(1, "s", dt.datetime(2024, 1, 1)),
        "messages": [message(0), message(1), ToolMessage(content="r", tool_call_id="call_1")],
    }


# -- concurrency ----------------------------------------------------------------------------


def write_chain(saver: Saver, thread_id: str, tag: str, steps: int) -> list[str]:
    """Append ``steps`` messages as checkpoints, each with one pending write; return the ids."""
    chain = Chain(saver, thread_id)
    messages: list[Any] = []
    ids = []
    for i in range(steps):
        messages = [*messages, UserMessage(content=f"{tag}-{i}")]
        cid = chain.put(messages=messages, owner=tag)
        chain.write(cid, tag, [("out", i)], "node")
        ids.append(cid)
    return ids


def check_chain(saver: Saver, thread_id: str, tag: str, ids: list[str]) -> None:
    """Every checkpoint :func:`write_chain` saved loads with its own messages and write."""
    for i, cid in enumerate(ids):
        got = saver.get_tuple(config(thread_id, "", cid))
        expect(got is not None, f"{tag}: checkpoint {i} of {thread_id} is lost")
        assert got is not None  # for the type checker
        texts = [m.text for m in got.checkpoint["channel_values"]["messages"]]
        expect(texts == [f"{tag}-{j}" for j in range(i + 1)], f"{tag}: step {i} holds {texts}")
        writes = [w[2] for w in got.pending_writes or []]
        expect(writes == [i], f"{tag}: the write of step {i} is {writes}")


def concurrent_writes(saver: Saver, *, writers: int = 50, steps: int = 5) -> None:
    """Run ``writers`` threads at once, each writing a thread of its own and every fifth
    one also a thread all of them share; check that nothing was lost."""
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def work(tag: str) -> None:
        try:
            start.wait()
            if int(tag[1:]) % 5 == 0:
                write_chain(saver, "shared", tag, steps)
            results[tag] = write_chain(saver, f"own-{tag}", tag, steps)
        except BaseException as exc:  # reported below, from the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise AssertionError(f"{len(errors)} writers failed; first: {errors[0]!r}") from errors[0]
    for tag, ids in results.items():
        check_chain(saver, f"own-{tag}", tag, ids)
    shared = len(list(saver.list(config("shared"))))
    expected = len(range(0, writers, 5)) * steps
    expect(shared == expected, f"the shared thread has {shared} checkpoints, not {expected}")


def _fork(
    saver: Saver,
    parent_id: str,
    value: list[Any],
    version: int,
    start: threading.Barrier,
    children: dict[str, list[Any]],
    errors: list[BaseException],
) -> None:
    try:
        chain = Chain(saver, "forks")
        chain.versions = {"messages": version}
        start.wait()
        children[chain.put(parent_id, messages=value)] = value
    except BaseException as exc:  # reported by concurrent_forks, from the main thread
        errors.append(exc)


def concurrent_forks(saver: Saver, *, writers: int = 20, rounds: int = 3) -> None:
    """Run ``writers`` threads that each extend the *same* checkpoint's message list at once
    (``rounds`` times, each round on the last round's first child); check that every child
    loads its own value: concurrent appends to one chain must fork, never overwrite."""
    parent = Chain(saver, "forks").put(messages=[message(0)])
    expected: dict[str, list[Any]] = {parent: [message(0)]}
    errors: list[BaseException] = []
    for round_ in range(rounds):
        start = threading.Barrier(writers)
        children: dict[str, list[Any]] = {}
        threads = [
            threading.Thread(
                target=_fork,
                args=(
                    saver,
                    parent,
                    [*expected[parent], UserMessage(content=f"r{round_}-w{i}")],
                    round_ + 2,
                    start,
                    children,
                    errors,
                ),
            )
            for i in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise AssertionError(f"{len(errors)} writers failed; first: {errors[0]!r}") from errors[
                0
            ]
        expected.update(children)
        parent = sorted(children)[0]
    for cid, value in expected.items():
        got = saver.get_tuple(config("forks", "", cid))
        expect(got is not None, f"checkpoint {cid} is lost")
        assert got is not None  # for the type checker
        loaded = got.checkpoint["channel_values"]["messages"]
        expect(loaded == value, f"checkpoint {cid} holds {[m.text for m in loaded]}")


def same_config(got: CheckpointConfig | None, thread_id: str, ns: str, cid: str | None) -> bool:
    """Whether a returned config names exactly (thread, ns, checkpoint id)."""
    if cid is None:
        return got is None
    return got == config(thread_id, ns, cid)

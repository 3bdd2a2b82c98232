"""The public surface of hone.checkpoint and behaviour shared by all savers."""

from __future__ import annotations

from pathlib import Path

import pytest

import hone.checkpoint as checkpoint
from hone.checkpoint import (
    Checkpointer,
    InMemorySaver,
    Serializer,
    SqliteSaver,
    ThreadAdmin,
)
from hone.checkpoint.conformance import Chain, config
from hone.errors import CheckpointError


def test_all_is_the_sorted_public_surface() -> None:
    # isort-style order, as ruff keeps it: constants, then classes, then functions.
    kind = {True: 0, False: 1}
    order = sorted(checkpoint.__all__, key=lambda n: (kind[n.isupper()], n[0].islower(), n))
    assert checkpoint.__all__ == order
    assert set(checkpoint.__all__) == {
        "FORMAT_VERSION",
        "WRITES_IDX_MAP",
        "AesGcmCipher",
        "ChannelVersions",
        "Checkpoint",
        "CheckpointConfig",
        "CheckpointMetadata",
        "CheckpointTuple",
        "Checkpointer",
        "Cipher",
        "InMemorySaver",
        "MemorySaver",
        "Migration",
        "PendingWrite",
        "PoolConfig",
        "PostgresSaver",
        "RetentionPolicy",
        "Serializer",
        "SqliteSaver",
        "TaskWrites",
        "ThreadAdmin",
        "as_serializer",
        "new_checkpoint_id",
    }
    for name in checkpoint.__all__:
        assert getattr(checkpoint, name) is not None


def test_savers_implement_both_protocols(tmp_path: Path) -> None:
    for saver in (InMemorySaver(), SqliteSaver(tmp_path / "p.db")):
        assert isinstance(saver, Checkpointer) and isinstance(saver, ThreadAdmin)
        saver.close()


class _Opaque:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Opaque)

    __hash__ = object.__hash__


def test_durable_savers_refuse_what_they_cannot_encode(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "refuse.db") as saver:
        with pytest.raises(CheckpointError, match="_Opaque"):
            Chain(saver, "t").put(thing=_Opaque())
        assert saver.get_tuple(config("t")) is None
    trusting = SqliteSaver(tmp_path / "pickle.db", serde=Serializer(allow_pickle=True))
    Chain(trusting, "t").put(thing=_Opaque())
    got = trusting.get(config("t"))
    assert got is not None and got["channel_values"]["thing"] == _Opaque()
    trusting.close()


def test_in_memory_pickles_by_default_and_can_be_strict() -> None:
    Chain(InMemorySaver(), "t").put(thing=_Opaque())
    with pytest.raises(CheckpointError, match="_Opaque"):
        Chain(InMemorySaver(serde=Serializer()), "t").put(thing=_Opaque())


def test_memory_saver_is_langgraphs_alias() -> None:
    assert checkpoint.MemorySaver is InMemorySaver


def test_from_conn_string_is_a_context_manager(tmp_path: Path) -> None:
    with SqliteSaver.from_conn_string(str(tmp_path / "c.db")) as saver:
        saver.setup()
        Chain(saver, "t").put(n=1)
        assert saver.get(config("t")) is not None
    with pytest.raises(CheckpointError, match="closed"):
        saver.get(config("t"))
    with SqliteSaver.from_conn_string(":memory:") as memory:
        Chain(memory, "t").put(n=2)
        got = memory.get(config("t"))
        assert got is not None and got["channel_values"] == {"n": 2}


async def test_savers_are_async_context_managers(tmp_path: Path) -> None:
    async with SqliteSaver(tmp_path / "a.db") as saver:
        Chain(saver, "t").put(n=1)
        assert await saver.aget(config("t")) is not None
    with pytest.raises(CheckpointError, match="closed"):
        saver.get(config("t"))

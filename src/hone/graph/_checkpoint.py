"""Checkpoint values as the runtime builds them (LangGraph's dict shape), and channels
restored from them.

A checkpoint is ``{"v", "id", "ts", "channel_values", "channel_versions", "versions_seen",
"updated_channels"}``; its id is a time-ordered UUID (v6 layout), so ids sort in creation
order, and task ids are derived from it.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from hone.graph._channels import MISSING, Channel

__all__ = [
    "LATEST_VERSION",
    "advance_checkpoint",
    "channels_from_checkpoint",
    "copy_checkpoint",
    "create_checkpoint",
    "empty_checkpoint",
    "new_versions",
    "patch_checkpoint_map",
    "uuid6",
    "uuid6_str",
]

LATEST_VERSION = 4

_lock = threading.Lock()
_last_ts = 0
_node = random.getrandbits(48)
_node_hex = f"{_node:012x}"


def _reseed() -> None:
    global _node, _node_hex
    _node = random.getrandbits(48)
    _node_hex = f"{_node:012x}"


os.register_at_fork(after_in_child=_reseed)


def uuid6(clock_seq: int | None = None) -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 6): ids made later sort after earlier ones,
    also within one 100 ns tick (the timestamp is bumped)."""
    return uuid.UUID(uuid6_str(clock_seq))


def uuid6_str(clock_seq: int | None = None) -> str:
    """:func:`uuid6` as its string (without building a UUID object)."""
    global _last_ts
    with _lock:
        # 100 ns intervals since the Gregorian epoch, as in UUID v1/v6.
        now = time.time_ns() // 100 + 0x01B21DD213814000
        ts = max(now, _last_ts + 1)
        _last_ts = ts
    seq = random.getrandbits(14) if clock_seq is None else clock_seq & 0x3FFF
    # The fields in order: time high (32 bits), time mid (16), version 6 with time low (12),
    # variant 0b10 with the clock sequence (14), node (48). One is made per super-step, so
    # the groups are formatted at once rather than cut from a 128-bit number's hex digits
    # (printf-style: a quarter fewer instructions than str.format or an f-string here).
    return "%08x-%04x-%04x-%04x-%s" % (  # noqa: UP031
        (ts >> 28) & 0xFFFFFFFF,
        (ts >> 12) & 0xFFFF,
        0x6000 | (ts & 0x0FFF),
        0x8000 | seq,
        _node_hex,
    )


def empty_checkpoint() -> dict[str, Any]:
    """A checkpoint with no values (before a thread's first input)."""
    return {
        "v": LATEST_VERSION,
        "id": uuid6_str(clock_seq=-2),
        "ts": datetime.now(UTC).isoformat(),
        "channel_values": {},
        "channel_versions": {},
        "versions_seen": {},
        "updated_channels": None,
    }


def advance_checkpoint(
    checkpoint: dict[str, Any], step: int, updated_channels: Iterable[str] | None
) -> dict[str, Any]:
    """The next checkpoint of a run that saves nothing: the same dict with a new id (task ids
    derive from it); values stay in the channels."""
    checkpoint["id"] = uuid6_str(clock_seq=step)
    checkpoint["updated_channels"] = None if updated_channels is None else sorted(updated_channels)
    return checkpoint


def copy_checkpoint(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """A copy deep enough to change versions and values without touching the original."""
    return {
        "v": checkpoint.get("v", LATEST_VERSION),
        "id": checkpoint["id"],
        "ts": checkpoint["ts"],
        "channel_values": dict(checkpoint["channel_values"]),
        "channel_versions": dict(checkpoint["channel_versions"]),
        "versions_seen": {k: dict(v) for k, v in checkpoint["versions_seen"].items()},
        "updated_channels": checkpoint.get("updated_channels"),
    }


def create_checkpoint(
    checkpoint: Mapping[str, Any],
    channels: Mapping[str, Channel] | None,
    step: int,
    *,
    id: str | None = None,
    updated_channels: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The next checkpoint: ``checkpoint``'s versions with the channels' current values."""
    if channels is None:
        values = dict(checkpoint["channel_values"])
    else:
        values = {}
        for key, channel in channels.items():
            if key not in checkpoint["channel_versions"]:
                continue
            stored = channel.checkpoint()
            if stored is not MISSING:
                values[key] = stored
    return {
        "v": LATEST_VERSION,
        "id": id or uuid6_str(clock_seq=step),
        "ts": datetime.now(UTC).isoformat(),
        "channel_values": values,
        "channel_versions": dict(checkpoint["channel_versions"]),
        "versions_seen": {k: dict(v) for k, v in checkpoint["versions_seen"].items()},
        "updated_channels": None if updated_channels is None else sorted(updated_channels),
    }


def channels_from_checkpoint(
    specs: Mapping[str, Channel], checkpoint: Mapping[str, Any]
) -> dict[str, Channel]:
    """Fresh channels holding a checkpoint's values."""
    values = checkpoint["channel_values"]
    return {key: spec.from_checkpoint(values.get(key, MISSING)) for key, spec in specs.items()}


def new_versions(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The channel versions that changed since ``previous``."""
    if not previous:
        return dict(current)
    null: Any = type(next(iter(current.values()), 0))() if current else 0
    return {k: v for k, v in current.items() if v > previous.get(k, null)}


def patch_checkpoint_map(config: Any, metadata: Mapping[str, Any] | None) -> Any:
    """A config with ``checkpoint_map`` filled in from the checkpoint's ``parents``."""
    if config is None:
        return None
    parents = metadata.get("parents") if metadata else None
    if not parents:
        return config
    conf = config["configurable"]
    return {
        **config,
        "configurable": {
            **conf,
            "checkpoint_map": {**parents, conf["checkpoint_ns"]: conf["checkpoint_id"]},
        },
    }

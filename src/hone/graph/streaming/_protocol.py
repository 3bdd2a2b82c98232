"""Protocol events: the one envelope every v3 stream item travels in.

A run's raw stream parts (``{"type", "ns", "data"[, "interrupts"]}``, what
``stream(..., version="v2")`` yields) become protocol events, as do the items transformers push
into named channels. The root mux numbers the events it keeps (``seq``); ``timestamp`` is wall
clock milliseconds, so order by ``seq``.
"""

from __future__ import annotations

import time
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

__all__ = ["EventParams", "ProtocolEvent", "channel_event", "protocol_event"]


class EventParams(TypedDict):
    """Where an event comes from (``namespace``: the subgraph path, ``[]`` at the root), when
    (``timestamp``, milliseconds), its payload (``data``), and for ``values`` events the
    interrupts the run stopped on."""

    namespace: list[str]
    timestamp: int
    data: Any
    interrupts: NotRequired[tuple[Any, ...]]


class ProtocolEvent(TypedDict):
    """One event of a v3 run: ``method`` is the stream mode (``values``, ``messages``,
    ``updates``, ``custom``, ...) or the name of a transformer's channel (``lifecycle``,
    ``custom:<name>``); ``seq`` is its position in the root run's event log."""

    type: Literal["event"]
    event_id: NotRequired[str]
    seq: NotRequired[int]
    method: str
    params: EventParams


def _now_ms() -> int:
    return int(time.time() * 1000)


def protocol_event(part: dict[str, Any]) -> ProtocolEvent:
    """The protocol event of a v2 stream part."""
    params: EventParams = {
        "namespace": list(part["ns"]),
        "timestamp": _now_ms(),
        "data": part["data"],
    }
    if "interrupts" in part:
        params["interrupts"] = part["interrupts"]
    return {"type": "event", "method": part["type"], "params": params}


def channel_event(method: str, item: Any) -> ProtocolEvent:
    """The protocol event of an item pushed into a named channel (namespace ``[]``: the
    channel belongs to the mux that forwards it)."""
    return {
        "type": "event",
        "method": method,
        "params": {"namespace": [], "timestamp": _now_ms(), "data": item},
    }

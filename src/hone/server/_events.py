"""A run's stream: graph chunks become the API's SSE events, kept in a log that any number of
clients read, from the start or from the last event they saw.

Event names are the API's: ``metadata`` first (``{"run_id", "attempt"}``), then one per
requested mode (``values``, ``updates``, ``custom``, ``debug``, ``checkpoints``, ``tasks``;
``messages-tuple`` as ``messages`` ``[chunk, metadata]``; ``messages`` as
``messages/metadata``, ``messages/partial`` — the message so far — and
``messages/complete``; ``events``: LangChain's event stream, ``astream_events`` v2, one event
each), ``error`` (``{"error", "message"}``) if the run fails, and ``end`` last. A subgraph's
events carry its namespace: ``values|node:task_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.messages import AssistantMessageChunk
from hone.server._json import dumps, jsonable, message_dict

__all__ = [
    "STREAM_MODES",
    "Changes",
    "EventConverter",
    "EventLog",
    "EventLogs",
    "graph_chunks",
    "graph_modes",
    "sse",
]

#: The stream modes a run may ask for.
STREAM_MODES = (
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "debug",
    "checkpoints",
    "tasks",
    "events",
)


def graph_modes(requested: Sequence[str]) -> list[str]:
    """The graph's stream modes that give the requested API modes (``events`` is not one:
    see :func:`graph_chunks`)."""
    out: list[str] = []
    for mode in requested:
        graph_mode = "messages" if mode == "messages-tuple" else mode
        if graph_mode not in out and graph_mode != "events":
            out.append(graph_mode)
    return out


async def graph_chunks(
    graph: Any, inp: Any, config: dict[str, Any], requested: Sequence[str], **kwargs: Any
) -> AsyncIterator[tuple[tuple[str, ...], str, Any]]:
    """A run's chunks as ``(namespace, mode, payload)``. With the ``events`` mode the run goes
    through LangChain's event stream (``astream_events`` v2, with the config's ``run_id`` as
    the graph's run): each event is an ``events`` chunk, except the graph's own stream
    events, which carry the other modes' chunks."""
    modes = graph_modes(requested)
    subgraphs = bool(kwargs.get("subgraphs"))
    if "events" not in requested:
        async for chunk in graph.astream(inp, config, stream_mode=modes, **kwargs):
            yield chunk if subgraphs else ((), *chunk)
        return
    root = str(config["run_id"])
    events = graph.astream_events(
        inp, config, version="v2", stream_mode=modes or ["values"], **kwargs
    )
    async for event in events:
        if event["event"] == "on_chain_stream" and event["run_id"] == root:
            if modes:
                chunk = event["data"]["chunk"]
                yield chunk if subgraphs else ((), *chunk)
            continue
        yield (), "events", event


def _is_chunk(message: Any) -> bool:
    if isinstance(message, AssistantMessageChunk):
        return True
    cls = type(message)
    return cls.__module__.startswith("langchain_core.") and cls.__name__.endswith("MessageChunk")


def _whole(message: Any) -> Any:
    """A summed chunk as the API's ``messages/partial`` shows it: the message so far."""
    if isinstance(message, AssistantMessageChunk):
        return message_dict(message, partial=True)
    from langchain_core.messages import message_chunk_to_message

    return jsonable(message_chunk_to_message(message))


class EventConverter:
    """Turns one run's graph chunks into ``(event, data)`` pairs for the requested modes."""

    def __init__(self, requested: Sequence[str]) -> None:
        self.requested = frozenset(requested)
        self._seen: set[str] = set()
        self._sums: dict[str, Any] = {}

    def convert(self, ns: Sequence[str], mode: str, payload: Any) -> list[tuple[str, Any]]:
        """The events of one chunk (``ns``: the subgraph namespace, empty at the root)."""
        suffix = "".join(f"|{part}" for part in ns)
        if mode != "messages":
            return [(mode + suffix, payload)] if mode in self.requested else []
        message, meta = payload
        out: list[tuple[str, Any]] = []
        if "messages-tuple" in self.requested:
            out.append(("messages" + suffix, [message, meta]))
        if "messages" in self.requested:
            out.extend(self._messages(message, meta, suffix))
        return out

    def _messages(self, message: Any, meta: Any, suffix: str) -> list[tuple[str, Any]]:
        ident = str(getattr(message, "id", None) or id(message))
        out: list[tuple[str, Any]] = []
        if ident not in self._seen:
            self._seen.add(ident)
            out.append(("messages/metadata" + suffix, {ident: {"metadata": meta}}))
        if _is_chunk(message):
            total = self._sums.get(ident)
            total = message if total is None else total + message
            self._sums[ident] = total
            out.append(("messages/partial" + suffix, [_whole(total)]))
        else:
            self._sums.pop(ident, None)
            out.append(("messages/complete" + suffix, [message]))
        return out


def sse(event: str, data_json: str, event_id: int | None) -> bytes:
    """One SSE frame."""
    head = f"event: {event}\ndata: {data_json}\n"
    if event_id is not None:
        head += f"id: {event_id}\n"
    return (head + "\n").encode()


class Changes:
    """Wakes the readers of a log when it changes: :meth:`tell` after each change,
    ``await wait(timeout)`` in a reader (False when nothing changed in time)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def tell(self) -> None:
        """Wake every reader waiting now (a later ``wait`` waits for the next change)."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Wait for the next change; False if none came within ``timeout`` seconds."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout=timeout)
        except TimeoutError:
            return False
        return True


@dataclass(slots=True)
class EventLog:
    """One run's events, in order, each with its id (its position, from 1)."""

    #: (event name, JSON text)
    events: list[tuple[str, str]] = field(default_factory=list)
    done: bool = False
    changes: Changes = field(default_factory=Changes)

    def publish(self, event: str, data: Any) -> None:
        """Append an event (encoded now, once for every reader)."""
        self.events.append((event, dumps(data)))
        self.changes.tell()

    def close(self) -> None:
        """No more events: readers finish after the ones they have not read."""
        self.done = True
        self.changes.tell()

    async def follow(
        self, *, after: int = 0, keepalive: float = 10.0
    ) -> AsyncIterator[tuple[int, str, str] | None]:
        """Events after id ``after`` as ``(id, event, json)``, as they come, until the log
        closes; None every ``keepalive`` seconds without one (time for a comment)."""
        position = max(after, 0)
        while True:
            while position < len(self.events):
                event, data = self.events[position]
                position += 1
                yield position, event, data
            if self.done:
                return
            if not await self.changes.wait(keepalive):
                yield None


class EventLogs:
    """The logs of runs that are going or ended recently (``retention`` seconds)."""

    def __init__(self, retention: float = 300.0) -> None:
        self.retention = retention
        self._logs: dict[str, EventLog] = {}
        self._expiry: dict[str, float] = {}

    def open(self, run_id: str) -> EventLog:
        """The run's log, new (a restarted run starts a new one)."""
        self._sweep()
        log = EventLog()
        self._logs[run_id] = log
        self._expiry.pop(run_id, None)
        return log

    def get(self, run_id: str) -> EventLog | None:
        """The run's log, while it is kept."""
        return self._logs.get(run_id)

    def close(self, run_id: str) -> None:
        """Close the run's log; forget it ``retention`` seconds later."""
        log = self._logs.get(run_id)
        if log is not None:
            log.close()
            self._expiry[run_id] = time.monotonic() + self.retention

    def drop(self, run_id: str) -> None:
        """Forget a run's log now (its run was deleted)."""
        log = self._logs.pop(run_id, None)
        self._expiry.pop(run_id, None)
        if log is not None:
            log.close()

    def _sweep(self) -> None:
        now = time.monotonic()
        for run_id in [r for r, t in self._expiry.items() if t <= now]:
            self._expiry.pop(run_id, None)
            with contextlib.suppress(KeyError):
                del self._logs[run_id]

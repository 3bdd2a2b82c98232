"""A thread's event stream over the wire (``POST /threads/{id}/stream/events``): the wire
events of the thread's latest event-streaming run, numbered, kept for readers that connect
late, and followed live.

Each event gets the thread's next ``seq`` (it never goes back, across runs) and an
``event_id`` unique to this server process. Starting a run clears the kept events, so a
reader connecting after ``run.start`` replays that run from its first event and never an
earlier run's end; a reader that passes ``since`` gets only events after that ``seq``. A log
keeps at most ``limit`` events (the older half of a longer run goes), in memory: a restart
forgets them.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.server._events import Changes
from hone.server._json import dumps
from hone.server._wire import matches

__all__ = ["ThreadEventLog", "ThreadEventLogs"]


@dataclass(slots=True)
class ThreadEventLog:
    """The kept wire events of one thread: ``(seq, event, its JSON)``."""

    events: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)
    #: The most events kept: past it the older half goes (a reader that had not read them
    #: yet goes on from the oldest kept one).
    limit: int = 100_000
    #: Counts the times ``events`` was replaced (a run started, or the older half went):
    #: readers keep their place in it until it changes, then find it again by ``seq``.
    generation: int = 0
    #: The run whose events are kept.
    run_id: str | None = None
    last_used: float = field(default_factory=time.monotonic)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    changes: Changes = field(default_factory=Changes)

    def start_run(self, run_id: str | None = None) -> None:
        """A run starts: the events kept so far are an earlier run's, and go."""
        self.run_id = run_id
        self.events = []
        self.generation += 1
        self.changes.tell()

    def publish(self, event: dict[str, Any]) -> None:
        """Number ``event`` and keep it (encoded once, for every reader)."""
        seq = next(self._seq)
        event = {**event, "seq": seq, "event_id": f"{self._prefix}-{seq}"}
        self.events.append((seq, event, dumps(event)))
        if len(self.events) > self.limit:
            self.events = self.events[len(self.events) // 2 :]
            self.generation += 1
        self.last_used = time.monotonic()
        self.changes.tell()

    async def follow(
        self,
        channels: Iterable[str],
        *,
        namespaces: Sequence[Sequence[str]] | None = None,
        depth: int | None = None,
        since: int | None = None,
        keepalive: float = 10.0,
        take: Callable[[dict[str, Any]], bool] | None = None,
    ) -> AsyncIterator[tuple[int, str, str] | None]:
        """The matching events after ``since`` as ``(seq, method, JSON)``: the kept ones,
        then each as it is published, until the run ends (its root ``completed`` or
        ``failed``: a client that starts another run reconnects with ``since``) or the
        reader goes; None every ``keepalive`` seconds without one (time for a comment).
        ``take`` replaces the filter (a reader with several subscriptions)."""
        wanted = list(channels)
        after = since or 0
        generation, position = self.generation, 0
        while True:
            if generation != self.generation:  # the kept events were replaced
                generation, position = self.generation, 0
            events = self.events
            while position < len(events):
                seq, event, data = events[position]
                position += 1
                if seq <= after:
                    continue
                after = seq
                if take(event) if take is not None else matches(event, wanted, namespaces, depth):
                    yield seq, event["method"], data
                if _run_ended(event):
                    return
            if not await self.changes.wait(keepalive):
                yield None


class ThreadEventLogs:
    """Every thread's log, made on first use; a log idle for ``retention`` seconds with no
    reader is forgotten."""

    def __init__(self, retention: float = 3600.0) -> None:
        self.retention = retention
        self._logs: dict[str, ThreadEventLog] = {}

    def get(self, thread_id: str) -> ThreadEventLog:
        """The thread's log (new and empty if none is kept)."""
        self._sweep()
        log = self._logs.get(thread_id)
        if log is None:
            log = self._logs[thread_id] = ThreadEventLog()
        log.last_used = time.monotonic()
        return log

    def drop(self, thread_id: str) -> None:
        """Forget a thread's log (the thread was deleted)."""
        self._logs.pop(thread_id, None)

    def _sweep(self) -> None:
        cutoff = time.monotonic() - self.retention
        for thread_id in [t for t, log in self._logs.items() if log.last_used < cutoff]:
            del self._logs[thread_id]


def _run_ended(event: dict[str, Any]) -> bool:
    params = event["params"]
    return (
        event["method"] == "lifecycle"
        and not params["namespace"]
        and params["data"].get("event") in ("completed", "failed")
    )

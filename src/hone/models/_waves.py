"""Deterministic batching waves: which calls share a batched generation depends on the
participants, not on timing.

On its own, :class:`~hone.models.BatchingModel` sends a batch when calls stop arriving for a
few milliseconds, so which episodes of a rollout batch share a generation, and in which row
order, depends on how fast each episode ran its tools. Batched generation over padded rows is
not bit-identical across batch compositions (the padding and the batch shape change the
floating-point sums), so a sampled episode could diverge between two runs of the same seed.

A :class:`Wave` is a rollout batch's declaration of its participants (the rollouts it runs,
so many at once). Each participant takes a *seat* under a stable key (its position in the
batch). A batching model called from a seat holds the call until every seat's participant is
waiting on a held call of its own (or has finished), then sends all of them in key order: the
k-th calls of the participants meet in the same batches, in the same row order, in every run.

A participant counts as waiting as soon as one of its calls is held, so a rollout that makes
concurrent calls of its own (parallel graph branches) gets the guarantee only for calls made
one at a time. A participant whose other work never ends (a tool waiting on another rollout, say) would hold
the others forever; after ``stall_timeout_s`` without a new call the wave sends what it holds,
logs a warning, and counts a stall (the run is then no longer repeatable).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from hone.errors import ConfigError
from hone.models._protocol import ChatRequest, Completion

__all__ = [
    "STALL_TIMEOUT_S",
    "PendingCall",
    "Seat",
    "Wave",
    "WaveSink",
    "current_seat",
    "outside_waves",
]

logger = logging.getLogger(__name__)

#: Seconds a wave waits without any new call before it sends what it holds anyway.
STALL_TIMEOUT_S = 60.0

#: A participant's stable key: its position in the rollout batch (task, rollout index).
Key = tuple[int, ...]


@dataclass(slots=True)
class PendingCall:
    """One held call: its request, the future its completion goes to, and its order key."""

    request: ChatRequest
    future: asyncio.Future[Completion]
    #: (participant key..., call number): the row order inside a wave's batch.
    key: Key = ()
    sent: bool = False


class WaveSink(Protocol):
    """What a wave hands its calls to (a :class:`~hone.models.BatchingModel`)."""

    def send_wave(self, calls: Sequence[PendingCall]) -> None:
        """Send ``calls`` (already in key order) as batches, in this order."""
        ...


@dataclass(frozen=True, slots=True)
class Seat:
    """A participant's place in a wave, visible to the code it runs (a context variable)."""

    wave: Wave
    key: Key


_SEAT: ContextVar[Seat | None] = ContextVar("hone_wave_seat", default=None)


def current_seat() -> Seat | None:
    """The wave seat of the code running in this context, or None outside a wave."""
    return _SEAT.get()


def outside_waves() -> contextvars.Context:
    """A copy of the current context without a wave seat, for a task that must not join the
    caller's wave (a batch's own task)."""
    context = contextvars.copy_context()
    context.run(_SEAT.set, None)
    return context


@dataclass(slots=True)
class _Member:
    held: int = 0  # calls held by the wave
    sent: int = 0  # calls sent, not yet back with their caller
    calls: int = 0  # calls made so far (the order key of the next one)

    @property
    def ready(self) -> bool:
        """Waiting on held calls only: nothing it does can add a call to this wave."""
        return self.held > 0 and self.sent == 0


@dataclass(slots=True)
class _Held:
    sink: WaveSink
    call: PendingCall
    member: _Member


class Wave:
    """The participants of deterministic batching (see the module docs).

    Args:
        participants: how many participants will take a seat, in all.
        seats: most seated at once (a concurrency limit); None: all of them. When one leaves
            while others have yet to start, its seat is kept for the next.
        stall_timeout_s: seconds without a new call after which held calls are sent anyway.

    Attributes:
        waves: how many times held calls were sent.
        stalls: how many of those were forced by the stall timeout.
    """

    def __init__(
        self,
        participants: int,
        *,
        seats: int | None = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ) -> None:
        if participants < 0 or (seats is not None and seats < 1) or stall_timeout_s <= 0:
            raise ConfigError(
                f"a wave needs participants >= 0, seats >= 1 and stall_timeout_s > 0, got "
                f"{participants}, {seats} and {stall_timeout_s}"
            )
        self._seats = participants if seats is None else min(seats, participants)
        self._queued = participants - self._seats
        self.stall_timeout_s = stall_timeout_s
        self._members: dict[Key, _Member] = {}
        self._ready = 0  # members that are ready
        self._held: list[_Held] = []
        self._timer: asyncio.TimerHandle | None = None
        #: The event loop the wave runs on (set by the first seat).
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waves = 0
        self.stalls = 0

    @contextlib.contextmanager
    def seat(self, key: Key) -> Iterator[Seat]:
        """Seat the participant ``key`` for the ``with`` block (its calls join the wave)."""
        loop = asyncio.get_running_loop()
        if self.loop is None:
            self.loop = loop
        elif loop is not self.loop:
            raise ConfigError("a wave's participants must all run on one event loop")
        if key in self._members:
            raise ConfigError(f"two participants of one wave share the key {key!r}")
        self._members[key] = _Member()
        seat = Seat(self, key)
        token = _SEAT.set(seat)
        try:
            yield seat
        finally:
            _SEAT.reset(token)
            self._leave(key)

    async def call(self, sink: WaveSink, key: Key, request: ChatRequest) -> Completion:
        """Hold ``request`` from participant ``key`` until the wave sends it through ``sink``."""
        member = self._members.get(key)
        if member is None or self.loop is None:
            raise ConfigError(f"participant {key!r} is not seated in this wave")
        call = PendingCall(request, self.loop.create_future(), (*key, member.calls))
        held = _Held(sink, call, member)
        member.calls += 1
        self._change(member, held=1)
        self._held.append(held)
        self._arm()
        self._check()
        try:
            return await held.call.future
        finally:
            if held.call.sent:
                self._change(member, sent=-1)
            else:  # the caller was cancelled before its call was sent
                self._held.remove(held)
                self._change(member, held=-1)
            self._check()

    def _change(self, member: _Member, *, held: int = 0, sent: int = 0) -> None:
        before = member.ready
        member.held += held
        member.sent += sent
        self._ready += member.ready - before

    def _leave(self, key: Key) -> None:
        member = self._members.pop(key)
        self._ready -= member.ready
        if self._queued > 0:  # the seat passes to a participant yet to start
            self._queued -= 1
        else:
            self._seats = max(self._seats - 1, len(self._members))
        self._check()

    def _check(self) -> None:
        """Send the held calls once no seat can add one: every seat is taken and every
        participant in it waits on held calls only."""
        if not self._held:
            self._disarm()
            return
        if len(self._members) >= self._seats and self._ready == len(self._members):
            self._send()

    def _send(self) -> None:
        held, self._held = self._held, []
        self._disarm()
        self.waves += 1
        by_sink: dict[int, list[_Held]] = {}
        for item in sorted(held, key=lambda h: h.call.key):
            item.call.sent = True
            self._change(item.member, held=-1, sent=1)
            by_sink.setdefault(id(item.sink), []).append(item)
        # Sinks in the order of their first call's key, each with its calls in key order.
        for items in by_sink.values():
            items[0].sink.send_wave([item.call for item in items])

    def _arm(self) -> None:
        self._disarm()
        if self.loop is not None:
            self._timer = self.loop.call_later(self.stall_timeout_s, self._stalled)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _stalled(self) -> None:
        self._timer = None
        if not self._held:
            return
        self.stalls += 1
        waiting = self._seats - self._ready  # seats not yet taken, or whose code still runs
        logger.warning(
            "a batching wave waited %.0f s for %d of %d participants; sending %d held calls "
            "without them (this run is no longer repeatable)",
            self.stall_timeout_s,
            waiting,
            self._seats,
            len(self._held),
        )
        self._send()

"""Dynamic batching: concurrent ``complete()`` calls share one ``complete_batch()`` call.

Agent rollouts run as many concurrent tasks, each calling ``complete()`` for its own
conversation. A local backend is far faster when those calls become one batched generation;
:class:`BatchingModel` collects the calls that arrive within a few milliseconds of each other
and sends them together.

Inside a rollout batch (a :class:`~hone.models._waves.Wave`) timing decides nothing: calls go
in deterministic waves, every participant's next call together, ordered by participant, so a
fixed seed gives the same batches and the same episodes in every run.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence

from hone.errors import ConfigError
from hone.models._chat import ChatSurface
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent
from hone.models._waves import PendingCall, current_seat, outside_waves

__all__ = ["BatchingModel"]

logger = logging.getLogger(__name__)


class BatchingModel(ChatSurface):
    """Wraps any :class:`~hone.models.ModelBackend` so concurrent ``complete()`` calls are
    coalesced into one ``complete_batch()`` call.

    A batch is sent when ``max_batch`` calls are waiting, or ``max_wait_ms`` after its first
    call arrived. At most ``max_in_flight`` batches run at once; calls arriving meanwhile wait
    and go together in the next batch, so batches grow with the load. If a batch fails, its
    requests are retried one by one, so one bad request (a prompt too long, say) fails only
    its own caller. ``stream`` is passed through.

    Calls made from a rollout of :func:`~hone.trajectory.rollout_batch` (a wave's seat) are
    batched by the wave instead: sent once every rollout in flight waits on its next call,
    in rollout order (in chunks of ``max_batch``), so the batches do not depend on timing.

    Args:
        backend: The model to wrap.
        max_batch: Most requests in one batch.
        max_wait_ms: How long the first request of a batch waits for company.
        max_in_flight: Most batches running at once (1 suits a local model, which runs one
            generation at a time anyway).
    """

    def __init__(
        self,
        backend: ModelBackend,
        *,
        max_batch: int = 64,
        max_wait_ms: float = 5.0,
        max_in_flight: int = 1,
    ) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ConfigError(
                f"max_batch and max_in_flight must be at least 1, got {max_batch} and {max_in_flight}"
            )
        self.backend = backend
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_in_flight = max_in_flight
        self._in_flight = 0
        self._pending: list[PendingCall] = []
        self._ready: deque[list[PendingCall]] = deque()  # formed batches (waves) to send
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        """The wrapped backend's name."""
        return self.backend.name

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation, batched with concurrent calls."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (e.g. a second asyncio.run)
            self._loop, self._pending, self._timer, self._in_flight = loop, [], None, 0
            self._ready = deque()
        seat = current_seat()
        if seat is not None and seat.wave.loop is loop:
            return await seat.wave.call(self, seat.key, request)
        future: asyncio.Future[Completion] = loop.create_future()
        self._pending.append(PendingCall(request, future))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait, self._flush)
        return await future

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations (passed straight to the backend)."""
        return await self.backend.complete_batch(requests)

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one conversation (not batched)."""
        return self.backend.stream(request)

    def send_wave(self, calls: Sequence[PendingCall]) -> None:
        """Send a wave's calls, in their order, as batches of at most ``max_batch`` (called
        by :class:`~hone.models._waves.Wave`)."""
        for start in range(0, len(calls), self.max_batch):
            self._ready.append(list(calls[start : start + self.max_batch]))
        self._pump()

    def _flush(self) -> None:
        """The timed calls are due (their wait ran out, or a batch is full)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pump()

    def _pump(self) -> None:
        """Start batches while fewer than ``max_in_flight`` run: formed waves first, then due
        timed calls. Timed calls whose wait has not run out keep waiting for company (a wave
        of callers may still be on its way)."""
        while self._in_flight < self.max_in_flight:
            if self._ready:
                batch = self._ready.popleft()
            elif self._pending and (self._timer is None or len(self._pending) >= self.max_batch):
                batch = self._pending[: self.max_batch]
                self._pending = self._pending[self.max_batch :]
            else:
                return
            self._in_flight += 1
            # The batch runs in its own task, outside the caller's wave seat.
            task = asyncio.get_running_loop().create_task(self._run(batch), context=outside_waves())
            self._tasks.add(task)  # keep a reference until done, so it is not collected
            task.add_done_callback(self._batch_done)

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        self._pump()

    async def _run(self, batch: list[PendingCall]) -> None:
        logger.debug("sending a batch of %d requests to %s", len(batch), self.name)
        try:
            results = await self.backend.complete_batch([p.request for p in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exc)
                return
            logger.debug("batch of %d failed (%s); retrying one by one", len(batch), exc)
            await asyncio.gather(*(self._run([p]) for p in batch))
            return
        for pending, result in zip(batch, results, strict=True):
            _settle(pending, result)


def _settle(pending: PendingCall, outcome: Completion | BaseException) -> None:
    if pending.future.done():  # the caller was cancelled
        return
    if isinstance(outcome, BaseException):
        pending.future.set_exception(outcome)
    else:
        pending.future.set_result(outcome)

"""``StreamChannel``: one projection of a v3 run, read by one consumer as the run goes.

A channel is a queue a transformer pushes into and one reader drains. Reading drives the run:
when the queue is empty and the channel is still open, the cursor asks the run for one more
graph event (the *pump* the run stream installs) and looks again, so memory is bounded by the
reader's pace and no thread runs behind the caller's back. Items reach the queue only once a
reader has subscribed (a projection nobody reads costs nothing); a channel with a ``name`` also
forwards every item into the run's main event log, read or not.

A channel serves either ``for`` or ``async for``, whichever lane its mux runs on; ``tee(n)`` /
``atee(n)`` give several readers their own copies.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from hone.graph.streaming._mux import StreamMux

__all__ = ["StreamChannel"]

T = TypeVar("T")


class StreamChannel(Generic[T]):
    """A single-reader queue of a run's projection (``run.values``, ``run.messages``, ...).

    ``name``: also forward each item into the run's event log, as method ``name`` for a
    built-in (native) transformer's channel and ``custom:<name>`` otherwise.
    ``maxlen``: accepted for LangGraph compatibility; the caller-driven pump already bounds
    the queue.

    Raises:
        ValueError: ``maxlen`` is not a positive int.
    """

    def __init__(self, name: str | None = None, *, maxlen: int | None = None) -> None:
        if maxlen is not None and maxlen <= 0:
            raise ValueError(f"StreamChannel maxlen must be a positive int or None, got {maxlen}")
        self.name = name
        self._maxlen = maxlen
        # (stamp, item): the stamp orders items across channels (``interleave``).
        self._items: deque[tuple[int, T]] = deque()
        self._closed = False
        self._error: BaseException | None = None
        self._is_async: bool | None = None
        self._subscribed = False
        self._request_more: Callable[[], bool] | None = None
        self._arequest_more: Callable[[], Awaitable[bool]] | None = None
        self._wire_fn: Callable[[T], None] | None = None
        self._mux: StreamMux | None = None

    def __repr__(self) -> str:
        state = "failed" if self._error else "closed" if self._closed else "open"
        return f"StreamChannel(name={self.name!r}, {state}, queued={len(self._items)})"

    # ------------------------------------------------------------------ wiring (by the mux)

    def _bind_mux(self, mux: StreamMux) -> None:
        self._mux = mux

    def _bind(self, *, is_async: bool) -> None:
        """Fix the lane (``for`` or ``async for``); done once, by the mux that owns it."""
        if self._is_async is not None:
            raise RuntimeError("StreamChannel is already bound to a run")
        self._is_async = is_async

    def _wire(self, fn: Callable[[T], None]) -> None:
        self._wire_fn = fn

    # ------------------------------------------------------------------ producing

    def push(self, item: T) -> None:
        """Add an item (queued only while a reader is subscribed; forwarded when named).

        Raises:
            RuntimeError: the channel is closed and has a reader.
        """
        if self._subscribed:
            if self._closed:
                raise RuntimeError(f"Cannot push to a closed StreamChannel ({self.name!r})")
            stamp = self._mux._next_push_seq() if self._mux is not None else 0
            self._items.append((stamp, item))
        if self._wire_fn is not None:
            self._wire_fn(item)

    def close(self) -> None:
        """End the channel: its reader stops after the queued items."""
        self._closed = True

    def fail(self, err: BaseException) -> None:
        """End the channel with an error its reader raises after the queued items."""
        self._error = err
        self._closed = True

    # ------------------------------------------------------------------ reading

    def _subscribe(self, *, is_async: bool) -> None:
        if self._is_async is None:
            raise TypeError(
                "StreamChannel has not been bound to a run yet: a transformer's channels are "
                "bound when it is registered with a StreamMux"
            )
        if self._is_async != is_async:
            lane, use = ("async", "async for") if self._is_async else ("sync", "for")
            raise TypeError(f"this StreamChannel is bound to {lane} mode: read it with {use!r}")
        if self._subscribed:
            raise RuntimeError(
                f"StreamChannel {self.name or ''!s} already has a subscriber (one reader per "
                "projection); use .tee(n) or .atee(n) to read it more than once"
            )
        self._subscribed = True

    def _next_ready(self) -> tuple[bool, T | None]:
        """(True, item) when an item is queued; (False, None) when the channel has ended.

        Raises:
            BaseException: the error the channel failed with, once its queue is empty.
        """
        if self._items:
            return True, self._items.popleft()[1]
        if self._error is not None:
            raise self._error
        return False, None

    def __iter__(self) -> Iterator[T]:
        """Subscribe and read (``for``); once only.

        Raises:
            TypeError: the channel is unbound or belongs to an async run.
            RuntimeError: it already has a reader.
        """
        self._subscribe(is_async=False)
        return self._cursor()

    def _cursor(self) -> Iterator[T]:
        while True:
            if self._items or self._closed:
                ready, item = self._next_ready()
                if not ready:
                    return
                yield item  # type: ignore[misc]
            elif (
                self._request_more is None or not (self._request_more() or self._items)
            ) and not self._closed:
                # Nothing more will come: no pump, or the run has ended without closing us
                # (a subgraph's channel after its parent moved on).
                return

    def __aiter__(self) -> AsyncIterator[T]:
        """Subscribe and read (``async for``); once only.

        Raises:
            TypeError: the channel is unbound or belongs to a sync run.
            RuntimeError: it already has a reader.
        """
        self._subscribe(is_async=True)
        return self._acursor()

    async def _acursor(self) -> AsyncIterator[T]:
        while True:
            if self._items or self._closed:
                ready, item = self._next_ready()
                if not ready:
                    return
                yield item  # type: ignore[misc]
            elif (
                self._arequest_more is None or not (await self._arequest_more() or self._items)
            ) and not self._closed:
                return

    # ------------------------------------------------------------------ several readers

    def tee(self, n: int = 2) -> tuple[Iterator[T], ...]:
        """``n`` independent readers (``for``) of this channel, each seeing every item.

        Raises:
            ValueError: ``n`` < 1.
        """
        if n < 1:
            raise ValueError(f"tee() needs n >= 1, got {n}")
        source = iter(self)
        queues: list[deque[T]] = [deque() for _ in range(n)]
        done = [False]

        def branch(queue: deque[T]) -> Iterator[T]:
            while True:
                if queue:
                    yield queue.popleft()
                    continue
                if done[0]:
                    return
                try:
                    item = next(source)
                except StopIteration:
                    done[0] = True
                    return
                for q in queues:
                    q.append(item)

        return tuple(branch(q) for q in queues)

    def atee(self, n: int = 2) -> tuple[AsyncIterator[T], ...]:
        """``n`` independent readers (``async for``) of this channel, each seeing every item.

        Raises:
            ValueError: ``n`` < 1.
        """
        if n < 1:
            raise ValueError(f"atee() needs n >= 1, got {n}")
        source = aiter(self)
        queues: list[deque[T]] = [deque() for _ in range(n)]
        ended: list[BaseException | bool | None] = [False]
        lock = asyncio.Lock()

        async def branch(queue: deque[T]) -> AsyncIterator[T]:
            while True:
                if queue:
                    yield queue.popleft()
                    continue
                if ended[0] is not False:
                    if isinstance(ended[0], BaseException):
                        raise ended[0]
                    return
                async with lock:
                    if queue or ended[0] is not False:
                        continue
                    try:
                        item = await anext(source)
                    except StopAsyncIteration:
                        ended[0] = None
                        continue
                    except Exception as exc:
                        ended[0] = exc
                        continue
                    for q in queues:
                        q.append(item)

        return tuple(branch(q) for q in queues)

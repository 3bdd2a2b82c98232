"""``StreamMux``: routes a run's protocol events through its transformers into its event log.

One mux serves one scope (the root run, or one subgraph handle): it builds the transformers
from their factories (``before_builtins`` ones first), merges their projections into
``extensions`` (names may not collide), binds every ``StreamChannel`` among them to the run's
lane, and forwards the items of named channels into the main log. A subgraph handle gets a
child mux built from the same factories at the subgraph's scope; only the root numbers events.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hone.graph.streaming._channel import StreamChannel
from hone.graph.streaming._protocol import ProtocolEvent, channel_event
from hone.graph.streaming._transformer import StreamTransformer, needs_async

__all__ = ["StreamMux", "TransformerFactory"]

TransformerFactory = Callable[[tuple[str, ...]], StreamTransformer]
"""Builds a fresh transformer for a scope (a transformer class is its own factory)."""


class StreamMux:
    """The event router of one run scope.

    ``factories`` are called with ``scope`` here and again for every child scope;
    ``transformers`` are ready instances used at this scope only. ``is_async`` picks the lane
    (``apush``/``aclose``/``afail`` and ``async for`` channels).

    Raises:
        RuntimeError: an async-only transformer on the sync lane.
        TypeError: a transformer's ``init()`` did not return a dict.
        ValueError: two transformers' projection names collide.
    """

    def __init__(
        self,
        transformers: Sequence[StreamTransformer] | None = None,
        *,
        is_async: bool = False,
        factories: Sequence[TransformerFactory] | None = None,
        scope: tuple[str, ...] = (),
        _assign_seq: bool = True,
    ) -> None:
        self.is_async = is_async
        self.scope = scope
        self._assign_seq = _assign_seq
        self._events: StreamChannel[ProtocolEvent] = StreamChannel()
        self._events._bind(is_async=is_async)
        self._events._bind_mux(self)
        self._transformers: list[StreamTransformer] = []
        self._channels: list[StreamChannel[Any]] = []
        self._seq = 0
        self._push_seq = 0
        self.extensions: dict[str, Any] = {}
        self.native_keys: set[str] = set()
        self._owners: dict[str, StreamTransformer] = {}
        self._factories = list(factories) if factories is not None else None
        self._pump_fn: Callable[[], bool] | None = None
        self._apump_fn: Callable[[], Awaitable[bool]] | None = None
        built = [factory(scope) for factory in self._factories or ()]
        for group in (built, list(transformers or ())):
            for transformer in sorted(group, key=lambda t: not t.before_builtins):
                self._register(transformer)

    # ------------------------------------------------------------------ registration

    def _register(self, transformer: StreamTransformer) -> None:
        name = type(transformer).__name__
        if needs_async(transformer) and not self.is_async:
            raise RuntimeError(
                f"{name} requires an async run (it overrides aprocess/afinalize/afail or sets "
                "requires_async): use astream_events(version='v3'), not stream_events"
            )
        projection = transformer.init()
        if not isinstance(projection, dict):
            raise TypeError(
                f"{name}.init() must return a dict of projections, got {type(projection).__name__}"
            )
        clashes = sorted(set(projection) & set(self.extensions))
        if clashes:
            owned = ", ".join(f"{k!r} (owned by {type(self._owners[k]).__name__})" for k in clashes)
            raise ValueError(f"{name} returned projection names that conflict with: {owned}")
        native = bool(getattr(transformer, "_native", False))
        self._transformers.append(transformer)
        for value in projection.values():
            if isinstance(value, StreamChannel):
                self._adopt(value, native=native)
        self.extensions.update(projection)
        for key in projection:
            self._owners[key] = transformer
        if native:
            self.native_keys.update(projection)
        transformer._on_register(self)

    def _adopt(self, channel: StreamChannel[Any], *, native: bool) -> None:
        channel._bind(is_async=self.is_async)
        channel._bind_mux(self)
        self._channels.append(channel)
        if channel.name is not None:
            method = channel.name if native else f"custom:{channel.name}"
            channel._wire(lambda item: self._forward(method, item))

    @property
    def is_root(self) -> bool:
        """Whether this mux is a run's own (a subgraph handle's mux is not)."""
        return self._assign_seq

    def transformer_by_key(self, key: str) -> StreamTransformer | None:
        """The transformer that registered projection ``key``."""
        return self._owners.get(key)

    def _next_push_seq(self) -> int:
        self._push_seq += 1
        return self._push_seq

    # ------------------------------------------------------------------ pumps and children

    def bind_pump(self, fn: Callable[[], bool]) -> None:
        """Let every reader of this scope (the log, the channels, the transformers that build
        their own readers) pull the next graph event with ``fn`` (sync lane)."""
        self._pump_fn = fn
        for channel in (self._events, *self._channels):
            channel._request_more = fn
        for transformer in self._transformers:
            if (bind := getattr(transformer, "_bind_pump", None)) is not None:
                bind(fn)

    def bind_apump(self, fn: Callable[[], Awaitable[bool]]) -> None:
        """:meth:`bind_pump` for the async lane."""
        self._apump_fn = fn
        for channel in (self._events, *self._channels):
            channel._arequest_more = fn
        for transformer in self._transformers:
            if (bind := getattr(transformer, "_bind_apump", None)) is not None:
                bind(fn)

    def _make_child(self, scope: tuple[str, ...]) -> StreamMux:
        """A mux for the subgraph at ``scope``: the same factories, the parent's pumps.

        Raises:
            RuntimeError: this mux was built from instances, which cannot be copied.
        """
        if self._factories is None:
            raise RuntimeError(
                "a StreamMux built from transformer instances cannot serve subgraphs: pass "
                "factories= (transformer classes or scope -> transformer callables)"
            )
        child = StreamMux(
            factories=self._factories, is_async=self.is_async, scope=scope, _assign_seq=False
        )
        if self._pump_fn is not None:
            child.bind_pump(self._pump_fn)
        if self._apump_fn is not None:
            child.bind_apump(self._apump_fn)
        return child

    # ------------------------------------------------------------------ events

    def _keep(self, event: ProtocolEvent) -> None:
        # Numbered as it enters the log, after the transformers ran: items they forwarded
        # while processing it come first, so ``seq`` follows the log's order.
        if self._assign_seq:
            self._seq += 1
            event["seq"] = self._seq
        self._events.push(event)

    def _forward(self, method: str, item: Any) -> None:
        # Straight into the log: a transformer pushing while it processes must not see its
        # own item again.
        self._keep(channel_event(method, item))

    def push(self, event: ProtocolEvent) -> None:
        """Show ``event`` to every transformer, then log it unless one returned False."""
        keep = True
        for transformer in self._transformers:
            keep = transformer.process(event) and keep
        if keep:
            self._keep(event)

    async def apush(self, event: ProtocolEvent) -> None:
        """:meth:`push` on the async lane (each ``aprocess`` is awaited in turn)."""
        keep = True
        for transformer in self._transformers:
            keep = await transformer.aprocess(event) and keep
        if keep:
            self._keep(event)

    # ------------------------------------------------------------------ the end

    def _end_channels(self, err: BaseException | None) -> None:
        for channel in (*self._channels, self._events):
            if not channel._closed:
                if err is None:
                    channel.close()
                else:
                    channel.fail(err)

    def close(self) -> None:
        """Finalize every transformer, then close the channels and the log.

        Raises:
            BaseException: the first error a ``finalize`` raised (after everything closed).
        """
        first: BaseException | None = None
        for transformer in self._transformers:
            try:
                transformer.finalize()
            except BaseException as exc:
                first = first or exc
        self._end_channels(None)
        if first is not None:
            raise first

    def fail(self, err: BaseException) -> None:
        """Tell every transformer the run failed, then fail the channels and the log."""
        for transformer in self._transformers:
            # The run's own error is the one to report.
            with contextlib.suppress(BaseException):
                transformer.fail(err)
        self._end_channels(err)

    def _pending(self) -> list[asyncio.Task[Any]]:
        return [
            task
            for transformer in self._transformers
            for task in transformer.__dict__.get("_stream_scheduled_tasks", ())
            if not task.done()
        ]

    async def aclose(self) -> None:
        """:meth:`close` on the async lane, after the transformers' scheduled work finished.

        Raises:
            BaseException: a scheduled task's error (``on_error="raise"``) or the first
                ``afinalize`` error.
        """
        pending = self._pending()
        if pending:
            results = await asyncio.gather(*pending, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(
                    result, asyncio.CancelledError
                ):
                    raise result
        first: BaseException | None = None
        for transformer in self._transformers:
            try:
                await transformer.afinalize()
            except BaseException as exc:
                first = first or exc
        self._end_channels(None)
        if first is not None:
            raise first

    async def afail(self, err: BaseException) -> None:
        """:meth:`fail` on the async lane, after cancelling the transformers' scheduled work."""
        pending = self._pending()
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for transformer in self._transformers:
            with contextlib.suppress(BaseException):
                await transformer.afail(err)
        self._end_channels(err)

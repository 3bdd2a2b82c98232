"""Run streams: what ``stream_events(version="v3")`` returns.

A run stream holds a run's projections (``run.values``, ``run.messages``, ``run.subgraphs``, ...
and every transformer's under ``run.extensions``) and the graph's event iterator. Nothing runs
ahead of the caller: reading any projection, the raw event log (iterating the run) or
``output`` pulls graph events one at a time through the mux (the *pump*). Several projections
can be read in turn or interleaved; each has one reader.

``GraphRunStream`` is the sync lane; ``AsyncGraphRunStream`` the async one, where concurrent
readers share one in-flight pull. Subgraph handles (``run.subgraphs``) are run streams of
their own, fed by the parent's pump.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

from hone.graph.streaming._channel import StreamChannel
from hone.graph.streaming._mux import StreamMux
from hone.graph.streaming._protocol import ProtocolEvent, protocol_event

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "AsyncGraphRunStream",
    "AsyncSubgraphRunStream",
    "GraphRunStream",
    "SubgraphRunStream",
    "SubgraphStatus",
]

SubgraphStatus = Literal["started", "completed", "failed", "interrupted", "drained"]
"""Where a subgraph run stands: started, then one terminal status."""


class _RunView:
    """What both lanes share: the projections, and the run's output and interrupts as its
    own-scope ``values`` events report them."""

    # The built-in projections and those of the transformers this package ships (set on the
    # instance when registered; ``subgraphs`` is typed per lane by the subclasses).
    values: StreamChannel[dict[str, Any]]
    messages: StreamChannel[Any]
    lifecycle: StreamChannel[Any]
    updates: StreamChannel[dict[str, Any]]
    custom: StreamChannel[Any]
    checkpoints: StreamChannel[dict[str, Any]]
    debug: StreamChannel[dict[str, Any]]
    tasks: StreamChannel[dict[str, Any]]
    tool_calls: StreamChannel[Any]

    def __init__(self, mux: StreamMux) -> None:
        self._mux = mux
        self.extensions: Mapping[str, Any] = MappingProxyType(mux.extensions)
        self._exhausted = False
        self._latest: dict[str, Any] | None = None
        self._interrupted = False
        self._interrupts: list[Any] = []
        self._scope_list = list(mux.scope)
        for key in mux.native_keys:
            setattr(self, key, mux.extensions[key])

    def __getattr__(self, name: str) -> Any:
        # Native projections are set on the instance; anything else reaching here is unknown.
        mux = self.__dict__.get("_mux")
        known = ", ".join(sorted(mux.native_keys)) if mux is not None else ""
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r} "
            f"(registered projections: {known or 'none'})"
        )

    def _observe_event(self, event: ProtocolEvent) -> None:
        if event["method"] != "values":
            return
        params = event["params"]
        if params["namespace"] != self._scope_list:
            return
        self._latest = params["data"]
        if interrupts := params.get("interrupts", ()):
            self._interrupted = True
            self._interrupts.extend(interrupts)

    def _raise_if_failed(self) -> None:
        if (err := self._mux._events._error) is not None:
            raise err


class GraphRunStream(_RunView):
    """A v3 run read with ``for`` (returned by ``stream_events(version="v3")``).

    Iterating it yields the protocol events of the main log; ``output`` / ``interrupted`` /
    ``interrupts`` run it to the end first. Use it as a context manager, or call
    :meth:`abort`, to stop a run early (its running nodes are cancelled)."""

    subgraphs: StreamChannel[SubgraphRunStream]

    def __init__(
        self, graph_iter: Iterator[Any] | None, mux: StreamMux, *, wire_pump: bool = True
    ) -> None:
        super().__init__(mux)
        self._graph_iter = graph_iter
        if wire_pump:
            mux.bind_pump(self._pump_next)

    def _pump_next(self) -> bool:
        """Pull one graph event through the mux; False once the run has ended."""
        if self._exhausted or self._graph_iter is None:
            return False
        try:
            part = next(self._graph_iter)
        except StopIteration:
            self._exhausted = True
            self._mux.close()
            return False
        except Exception as exc:
            self._exhausted = True
            self._mux.fail(exc)
            return False
        event = protocol_event(part)
        self._observe_event(event)
        try:
            self._mux.push(event)
        except Exception as exc:
            self._stop()
            self._mux.fail(exc)
        return True

    def _stop(self) -> None:
        self._exhausted = True
        graph_iter, self._graph_iter = self._graph_iter, None
        if (close := getattr(graph_iter, "close", None)) is not None:
            with contextlib.suppress(Exception):
                close()

    def abort(self) -> None:
        """Stop the run now: its graph iterator is closed (running nodes are cancelled) and
        every projection ends. Calling it again does nothing."""
        if self._exhausted:
            return
        self._stop()
        with contextlib.suppress(Exception):
            self._mux.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()

    def _drain(self) -> None:
        while self._pump_next():
            pass
        self._raise_if_failed()

    @property
    def output(self) -> dict[str, Any] | None:
        """Run to the end; the final state (None when the run streamed no values).

        Raises:
            BaseException: the error the run failed with.
        """
        self._drain()
        return self._latest

    @property
    def interrupted(self) -> bool:
        """Run to the end; whether it stopped on an interrupt."""
        self._drain()
        return self._interrupted

    @property
    def interrupts(self) -> list[Any]:
        """Run to the end; the interrupts it stopped on."""
        self._drain()
        return self._interrupts

    def __iter__(self) -> Iterator[ProtocolEvent]:
        """Read the main event log (once)."""
        return iter(self._mux._events)

    def interleave(self, *names: str) -> Iterator[tuple[str, Any]]:
        """Read several projections at once, as ``(name, item)`` in the order the items were
        pushed (across projections).

        Raises:
            KeyError: a name is not a projection.
            TypeError: a projection is not a sync ``StreamChannel``.
            RuntimeError: a projection already has a reader.
        """
        channels: dict[str, StreamChannel[Any]] = {}
        try:
            for name in names:
                channel = self.extensions[name]
                if not isinstance(channel, StreamChannel):
                    raise TypeError(
                        f"interleave() reads StreamChannel projections; {name!r} is a "
                        f"{type(channel).__name__}"
                    )
                channel._subscribe(is_async=False)
                channels[name] = channel
            yield from self._interleaved(channels)
        finally:
            for channel in channels.values():
                channel._subscribed = False

    def _interleaved(self, channels: dict[str, StreamChannel[Any]]) -> Iterator[tuple[str, Any]]:
        open_ = dict(channels)
        while open_:
            queued = [(ch._items[0][0], name) for name, ch in open_.items() if ch._items]
            if queued:
                name = min(queued)[1]
                yield name, open_[name]._items.popleft()[1]
                continue
            for name, channel in list(open_.items()):
                if channel._closed:
                    if channel._error is not None:
                        raise channel._error
                    del open_[name]
            pump = self._mux._pump_fn
            stalled = open_ and (pump is None or not pump())
            if stalled and not any(ch._items or ch._closed for ch in open_.values()):
                return


class AsyncGraphRunStream(_RunView):
    """A v3 run read with ``async for`` (awaited from ``astream_events(version="v3")``).

    As :class:`GraphRunStream`, with ``await run.output()`` / ``interrupted()`` /
    ``interrupts()`` and ``async with`` / ``await run.abort()``. Readers running concurrently
    share the pump: one pulls, the others wait for that pull and look at their queues again."""

    subgraphs: StreamChannel[AsyncSubgraphRunStream]

    def __init__(
        self, graph_aiter: AsyncIterator[Any] | None, mux: StreamMux, *, wire_pump: bool = True
    ) -> None:
        super().__init__(mux)
        self._graph_aiter = graph_aiter
        self._pump_cond = asyncio.Condition()
        self._pumping = False
        self._pull: asyncio.Future[Any] | None = None
        self._aborting = False
        if wire_pump:
            mux.bind_apump(self._apump_next)

    async def _apump_next(self) -> bool:
        """Pull one graph event through the mux, or wait for the reader pulling one."""
        async with self._pump_cond:
            if self._exhausted or self._graph_aiter is None:
                return False
            if self._pumping:
                await self._pump_cond.wait()
                return not self._exhausted
            self._pumping = True
        try:
            return await self._pull_one(self._graph_aiter)
        finally:
            async with self._pump_cond:
                self._pumping = False
                self._pump_cond.notify_all()

    async def _pull_one(self, graph_aiter: AsyncIterator[Any]) -> bool:
        self._pull = asyncio.ensure_future(anext(graph_aiter))
        try:
            part = await self._pull
        except asyncio.CancelledError:
            if self._aborting:
                self._exhausted = True
                return False
            self._pull.cancel()
            raise
        except StopAsyncIteration:
            self._exhausted = True
            await self._mux.aclose()
            return False
        except Exception as exc:
            self._exhausted = True
            await self._mux.afail(exc)
            return False
        finally:
            self._pull = None
        event = protocol_event(part)
        self._observe_event(event)
        try:
            await self._mux.apush(event)
        except Exception as exc:
            await self._astop()
            await self._mux.afail(exc)
        return True

    async def _astop(self) -> None:
        self._exhausted = True
        graph_aiter, self._graph_aiter = self._graph_aiter, None
        if (aclose := getattr(graph_aiter, "aclose", None)) is not None:
            with contextlib.suppress(Exception):
                await aclose()

    async def abort(self) -> None:
        """Stop the run now (an in-flight pull is cancelled, the graph iterator closed, every
        projection ends). Calling it again does nothing."""
        async with self._pump_cond:
            if self._exhausted:
                return
            self._aborting = True
            pull = self._pull
            self._pump_cond.notify_all()
        if pull is not None and not pull.done():
            pull.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pull
        await self._astop()
        with contextlib.suppress(Exception):
            await self._mux.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.abort()

    async def _adrain(self) -> None:
        while await self._apump_next():
            pass
        self._raise_if_failed()

    async def output(self) -> dict[str, Any] | None:
        """Run to the end; the final state (a method here, so a missing ``await`` fails at
        type-check time).

        Raises:
            BaseException: the error the run failed with.
        """
        await self._adrain()
        return self._latest

    async def interrupted(self) -> bool:
        """Run to the end; whether it stopped on an interrupt."""
        await self._adrain()
        return self._interrupted

    async def interrupts(self) -> list[Any]:
        """Run to the end; the interrupts it stopped on."""
        await self._adrain()
        return self._interrupts

    def __aiter__(self) -> AsyncIterator[ProtocolEvent]:
        """Read the main event log (once)."""
        return aiter(self._mux._events)


class _SubgraphHandle:
    """What a subgraph handle adds: where it ran, what started it, how it ended."""

    path: tuple[str, ...]
    graph_name: str | None
    trigger_call_id: str | None
    status: SubgraphStatus
    error: str | None
    _seen_terminal: bool

    def _describe(
        self, path: tuple[str, ...], graph_name: str | None, trigger_call_id: str | None
    ) -> None:
        self.path = path
        self.graph_name = graph_name
        self.trigger_call_id = trigger_call_id
        self.status = "started"
        self.error = None
        self._seen_terminal = False


class SubgraphRunStream(GraphRunStream, _SubgraphHandle):
    """A subgraph run inside a sync v3 run: its projections, fed by the parent's pump."""

    def __init__(
        self,
        mux: StreamMux,
        *,
        path: tuple[str, ...],
        graph_name: str | None = None,
        trigger_call_id: str | None = None,
    ) -> None:
        self._parent_pump_fn: Callable[[], bool] | None = mux._pump_fn
        super().__init__(None, mux, wire_pump=False)
        self._describe(path, graph_name, trigger_call_id)

    def _pump_next(self) -> bool:
        if self._exhausted or self._seen_terminal or self._mux._events._closed:
            return False
        return self._parent_pump_fn is not None and self._parent_pump_fn()


class AsyncSubgraphRunStream(AsyncGraphRunStream, _SubgraphHandle):
    """A subgraph run inside an async v3 run: its projections, fed by the parent's pump."""

    def __init__(
        self,
        mux: StreamMux,
        *,
        path: tuple[str, ...],
        graph_name: str | None = None,
        trigger_call_id: str | None = None,
    ) -> None:
        self._parent_apump_fn: Callable[[], Awaitable[bool]] | None = mux._apump_fn
        super().__init__(None, mux, wire_pump=False)
        self._describe(path, graph_name, trigger_call_id)

    async def _apump_next(self) -> bool:
        if self._exhausted or self._seen_terminal or self._mux._events._closed:
            return False
        return self._parent_apump_fn is not None and await self._parent_apump_fn()

"""``StreamChannel`` and ``StreamMux`` on their own: queueing, lanes, fan-out, forwarding,
registration errors and the end of a run."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hone.graph.streaming import StreamChannel, StreamMux, StreamTransformer, ValuesTransformer
from hone.graph.streaming._protocol import protocol_event


def _bound(is_async: bool = False) -> StreamChannel[int]:
    channel: StreamChannel[int] = StreamChannel()
    channel._bind(is_async=is_async)
    return channel


def test_items_queue_only_once_a_reader_subscribed() -> None:
    channel = _bound()
    channel.push(1)  # nobody reads yet: dropped
    reader = iter(channel)
    channel.push(2)
    channel.push(3)
    channel.close()
    assert list(reader) == [2, 3]


def test_a_failed_channel_raises_after_its_items() -> None:
    channel = _bound()
    reader = iter(channel)
    channel.push(1)
    channel.fail(ValueError("boom"))
    assert next(reader) == 1
    with pytest.raises(ValueError, match="boom"):
        next(reader)


def test_lane_reader_and_state_errors() -> None:
    with pytest.raises(ValueError, match="positive"):
        StreamChannel(maxlen=0)
    with pytest.raises(TypeError, match="not been bound"):
        iter(StreamChannel())
    with pytest.raises(TypeError, match="bound to sync mode"):
        aiter(_bound())
    with pytest.raises(TypeError, match="bound to async mode"):
        iter(_bound(is_async=True))
    channel = _bound()
    iter(channel)
    with pytest.raises(RuntimeError, match="already has a subscriber"):
        iter(channel)
    channel.close()
    with pytest.raises(RuntimeError, match="Cannot push to a closed StreamChannel"):
        channel.push(1)
    with pytest.raises(RuntimeError, match="already bound"):
        channel._bind(is_async=False)


def test_reading_pulls_from_the_pump() -> None:
    channel = _bound()
    source = iter(range(3))

    def pump() -> bool:
        for item in source:
            channel.push(item)
            return True
        channel.close()
        return False

    channel._request_more = pump
    assert list(channel) == [0, 1, 2]


def test_tee_and_atee_copy_every_item() -> None:
    channel = _bound()
    left, right = channel.tee(2)
    for item in (1, 2):
        channel.push(item)
    channel.close()
    assert list(left) == [1, 2] and list(right) == [1, 2]
    with pytest.raises(ValueError):
        _bound().tee(0)

    async def main() -> tuple[list[int], list[int]]:
        achannel = _bound(is_async=True)
        a, b = achannel.atee(2)
        achannel.push(7)
        achannel.close()
        return [x async for x in a], [x async for x in b]

    assert asyncio.run(main()) == ([7], [7])


class _Named(StreamTransformer):
    """Forwards each values event's data to a named channel."""

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self.seen: StreamChannel[Any] = StreamChannel("seen")

    def init(self) -> dict[str, Any]:
        return {"seen": self.seen}

    def process(self, event: Any) -> bool:
        self.seen.push(event["params"]["data"])
        return event["method"] != "drop"


def test_mux_numbers_forwards_and_drops() -> None:
    mux = StreamMux(factories=[ValuesTransformer, _Named])
    log = iter(mux._events)
    mux.push(protocol_event({"type": "values", "ns": (), "data": {"a": 1}, "interrupts": ()}))
    mux.push(protocol_event({"type": "drop", "ns": (), "data": 2}))
    mux.close()
    events = [(e["seq"], e["method"], e["params"]["data"]) for e in log]
    # Items forwarded while an event is processed come before it; dropped events are not logged.
    assert events == [(1, "custom:seen", {"a": 1}), (2, "values", {"a": 1}), (3, "custom:seen", 2)]
    assert set(mux.extensions) == {"values", "seen"} and mux.native_keys == {"values"}
    assert mux.transformer_by_key("seen").__class__ is _Named


def test_mux_registration_errors() -> None:
    class Clash(_Named):
        def init(self) -> dict[str, Any]:
            return {"values": self.seen}

    with pytest.raises(ValueError, match=r"conflict.*'values'.*ValuesTransformer"):
        StreamMux(factories=[ValuesTransformer, Clash])

    class NotADict(_Named):
        def init(self) -> Any:
            return ["seen"]

    with pytest.raises(TypeError, match="must return a dict"):
        StreamMux(factories=[NotADict])

    class AsyncOnly(_Named):
        async def aprocess(self, event: Any) -> bool:
            return True

    with pytest.raises(RuntimeError, match="requires an async run"):
        StreamMux(factories=[AsyncOnly])
    StreamMux(factories=[AsyncOnly], is_async=True)
    with pytest.raises(RuntimeError, match="cannot serve subgraphs"):
        StreamMux([ValuesTransformer()])._make_child(("x",))


def test_before_builtins_transformers_run_first() -> None:
    order: list[str] = []

    def maker(name: str, first: bool) -> Any:
        class T(StreamTransformer):
            before_builtins = first

            def init(self) -> dict[str, Any]:
                return {}

            def process(self, event: Any) -> bool:
                order.append(name)
                return True

        return T

    mux = StreamMux(factories=[maker("late", False), maker("early", True)])
    mux.push(protocol_event({"type": "custom", "ns": (), "data": 1}))
    assert order == ["early", "late"]


def test_failures_end_everything_and_schedule_needs_a_loop() -> None:
    mux = StreamMux(factories=[ValuesTransformer])
    values = iter(mux.extensions["values"])
    mux.fail(KeyError("gone"))
    with pytest.raises(KeyError):
        next(values)
    transformer = _Named()
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="requires a running event loop"):
        transformer.schedule(coro)
    coro.close()

    class Scheduler(_Named):
        requires_async = True

        def process(self, event: Any) -> bool:
            self.schedule(self._later(event["params"]["data"]))
            return True

        async def _later(self, data: Any) -> None:
            await asyncio.sleep(0)
            self.seen.push(("later", data))

    async def main() -> list[Any]:
        amux = StreamMux(factories=[Scheduler], is_async=True)
        log = aiter(amux._events)
        await amux.apush(protocol_event({"type": "custom", "ns": (), "data": 5}))
        await amux.aclose()  # waits for the scheduled work first
        return [e["params"]["data"] async for e in log]

    assert asyncio.run(main()) == [5, ("later", 5)]

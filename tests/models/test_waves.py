"""Deterministic batching waves: batch composition and row order depend on the participants,
never on timing."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence

import pytest

from hone.errors import ConfigError
from hone.messages import AssistantMessage
from hone.models._batching import BatchingModel
from hone.models._protocol import ChatRequest, Completion, StreamEvent, make_request
from hone.models._waves import Wave, current_seat


class Log:
    """Answers each request with its text; records every batch's texts in row order."""

    name = "log"

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay

    async def complete(self, request: ChatRequest) -> Completion:
        return (await self.complete_batch([request]))[0]

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        assert current_seat() is None  # a batch never runs inside a participant's seat
        texts = [r.messages[-1].text for r in requests]
        self.batches.append(texts)
        await asyncio.sleep(self.delay)
        return [Completion(message=AssistantMessage(content=t)) for t in texts]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(kind="done", completion=await self.complete(request))


async def _participant(
    wave: Wave, model: BatchingModel, key: int, calls: int, jitter: random.Random
) -> list[str]:
    """``calls`` model calls with random pauses (standing in for tools) around them."""
    replies = []
    with wave.seat((0, key)):
        await asyncio.sleep(jitter.random() * 0.01)
        for n in range(calls):
            reply = await model.complete(make_request(f"p{key}c{n}"))
            replies.append(str(reply.message.content))
            await asyncio.sleep(jitter.random() * 0.01)
    return replies


async def _run(calls: Sequence[int], jitter_seed: int, **batching: float) -> list[list[str]]:
    log = Log()
    model = BatchingModel(log, max_wait_ms=1, **batching)  # type: ignore[arg-type]
    wave = Wave(len(calls))
    jitter = random.Random(jitter_seed)
    # Started in a shuffled order too: arrival order must not matter.
    order = list(range(len(calls)))
    jitter.shuffle(order)
    tasks = {k: asyncio.create_task(_participant(wave, model, k, calls[k], jitter)) for k in order}
    replies = {k: await t for k, t in tasks.items()}
    assert replies == {k: [f"p{k}c{n}" for n in range(c)] for k, c in enumerate(calls)}
    assert wave.stalls == 0
    return log.batches


async def test_each_wave_holds_every_participants_next_call_in_key_order() -> None:
    calls = [3, 1, 4, 2]
    batches = await _run(calls, jitter_seed=0)
    assert batches == [
        ["p0c0", "p1c0", "p2c0", "p3c0"],
        ["p0c1", "p2c1", "p3c1"],
        ["p0c2", "p2c2"],
        ["p2c3"],
    ]


async def test_batches_do_not_depend_on_timing() -> None:
    calls = [2, 5, 1, 3, 3, 4]
    runs = [await _run(calls, jitter_seed=seed) for seed in range(4)]
    assert all(run == runs[0] for run in runs)


async def test_a_wave_larger_than_max_batch_goes_in_key_ordered_chunks() -> None:
    batches = await _run([1] * 5, jitter_seed=1, max_batch=2)
    assert batches == [["p0c0", "p1c0"], ["p2c0", "p3c0"], ["p4c0"]]


async def test_limited_seats_pass_to_the_next_participant() -> None:
    """With fewer seats than participants, a finished participant's seat waits for the next
    one, so the waves are the same whatever the timing."""

    async def run(jitter_seed: int) -> list[list[str]]:
        log = Log()
        model = BatchingModel(log, max_wait_ms=1)
        wave = Wave(5, seats=2)
        gate = asyncio.Semaphore(2)
        jitter = random.Random(jitter_seed)

        async def one(key: int, calls: int) -> None:
            async with gate:
                await _participant(wave, model, key, calls, jitter)

        await asyncio.gather(*(one(k, c) for k, c in enumerate([1, 3, 2, 1, 2])))
        assert wave.stalls == 0
        return log.batches

    runs = [await run(seed) for seed in range(4)]
    first = runs[0]
    assert all(run == first for run in runs)
    assert first == [
        ["p0c0", "p1c0"],
        ["p1c1", "p2c0"],  # p0's seat went to p2
        ["p1c2", "p2c1"],
        ["p3c0", "p4c0"],
        ["p4c1"],
    ]


async def test_a_stalled_participant_cannot_hold_the_others_forever(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another library's logging setup earlier in the session may have disabled this logger
    # (dictConfig disables loggers that exist when it runs); the warning must still be seen.
    waves_logger = logging.getLogger("hone.models._waves")
    monkeypatch.setattr(waves_logger, "disabled", False)
    caplog.set_level(logging.WARNING, logger=waves_logger.name)
    log = Log()
    model = BatchingModel(log, max_wait_ms=1)
    wave = Wave(2, stall_timeout_s=0.05)
    release = asyncio.Event()

    async def caller() -> str:
        with wave.seat((0, 0)):
            return str((await model.complete(make_request("hi"))).message.content)

    async def sleeper() -> None:
        with wave.seat((0, 1)):
            await release.wait()  # never calls the model until released

    sleeping = asyncio.create_task(sleeper())
    assert await asyncio.wait_for(caller(), timeout=5) == "hi"
    release.set()
    await sleeping
    assert wave.stalls == 1 and "no longer repeatable" in caplog.text


async def test_a_cancelled_held_call_is_withdrawn() -> None:
    log = Log()
    model = BatchingModel(log, max_wait_ms=1)
    wave = Wave(2)

    async def caller(key: int, text: str) -> str:
        with wave.seat((0, key)):
            return str((await model.complete(make_request(text))).message.content)

    first = asyncio.create_task(caller(0, "withdrawn"))
    await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(caller(1, "kept"), timeout=5) == "kept"
    assert log.batches == [["kept"]]


async def test_calls_outside_a_seat_are_batched_by_time() -> None:
    log = Log()
    model = BatchingModel(log, max_wait_ms=20)
    outs = await asyncio.gather(*(model.complete(make_request(f"q{i}")) for i in range(3)))
    assert [o.message.content for o in outs] == ["q0", "q1", "q2"] and log.batches == [
        ["q0", "q1", "q2"]
    ]


async def test_wave_misuse_is_reported() -> None:
    with pytest.raises(ConfigError, match="seats"):
        Wave(3, seats=0)
    with pytest.raises(ConfigError, match="stall_timeout_s"):
        Wave(3, stall_timeout_s=0)
    wave = Wave(2)
    with wave.seat((0, 0)), pytest.raises(ConfigError, match="share the key"), wave.seat((0, 0)):
        pass
    with pytest.raises(ConfigError, match="not seated"):
        await wave.call(BatchingModel(Log()), (9, 9), make_request("x"))

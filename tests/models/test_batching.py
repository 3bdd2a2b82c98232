"""BatchingModel: concurrent complete() calls become one complete_batch() call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from hone.errors import ConfigError, ContextOverflowError
from hone.messages import AssistantMessage
from hone.models._batching import BatchingModel
from hone.models._protocol import (
    ChatRequest,
    Completion,
    ModelBackend,
    SamplingOptions,
    StreamEvent,
    make_request,
)
from hone.models._transformers import TransformersModel


class Echo:
    """Answers each request with its last message's text; records every batch it gets."""

    name = "echo"

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[int] = []
        self.delay = delay

    async def complete(self, request: ChatRequest) -> Completion:
        return (await self.complete_batch([request]))[0]

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        self.batches.append(len(requests))
        await asyncio.sleep(self.delay)
        texts = [r.messages[-1].text for r in requests]
        if len(requests) > 1 and "boom" in texts:
            raise ContextOverflowError("boom is too long")
        if texts == ["boom"]:
            raise ContextOverflowError("boom is too long")
        return [Completion(message=AssistantMessage(content=t)) for t in texts]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(kind="done", completion=await self.complete(request))


async def test_concurrent_calls_share_one_batch() -> None:
    echo = Echo()
    model = BatchingModel(echo, max_wait_ms=20)
    assert isinstance(model, ModelBackend)
    outs = await asyncio.gather(*(model.complete(make_request(f"q{i}")) for i in range(10)))
    assert [o.message.content for o in outs] == [f"q{i}" for i in range(10)]
    assert echo.batches == [10]


async def test_max_batch_splits() -> None:
    echo = Echo()
    model = BatchingModel(echo, max_batch=4, max_wait_ms=20, max_in_flight=3)
    outs = await asyncio.gather(*(model.complete(make_request(f"q{i}")) for i in range(10)))
    assert [o.message.content for o in outs] == [f"q{i}" for i in range(10)]
    assert sorted(echo.batches) == [2, 4, 4]


async def test_calls_arriving_while_busy_wait_for_the_next_batch() -> None:
    echo = Echo(delay=0.05)
    model = BatchingModel(echo, max_wait_ms=1)
    first = asyncio.create_task(model.complete(make_request("first")))
    await asyncio.sleep(0.01)  # the first batch is running now
    later = await asyncio.gather(*(model.complete(make_request(f"q{i}")) for i in range(5)))
    await first
    assert [o.message.content for o in later] == [f"q{i}" for i in range(5)]
    assert echo.batches == [1, 5]


async def test_a_failing_request_fails_alone() -> None:
    model = BatchingModel(Echo(), max_wait_ms=20)
    results = await asyncio.gather(
        *(model.complete(make_request(t)) for t in ("a", "boom", "b")), return_exceptions=True
    )
    assert isinstance(results[1], ContextOverflowError)
    assert [r.message.content for r in (results[0], results[2])] == ["a", "b"]  # type: ignore[union-attr]


async def test_works_across_event_loops() -> None:
    model = BatchingModel(Echo(), max_wait_ms=1)
    assert (await model.complete(make_request("x"))).message.content == "x"

    def other_loop() -> str:
        return str(asyncio.run(model.complete(make_request("y"))).message.content)

    assert await asyncio.to_thread(other_loop) == "y"


def test_rejects_bad_sizes() -> None:
    with pytest.raises(ConfigError, match="max_batch"):
        BatchingModel(Echo(), max_batch=0)


async def test_batches_a_local_model(tiny_model: TransformersModel) -> None:
    options = SamplingOptions(max_tokens=6, temperature=0)
    requests = [make_request(p, options=options) for p in ("hi", "what is 2 + 2?", "hello there")]
    model = BatchingModel(tiny_model, max_wait_ms=20)
    together = await asyncio.gather(*(model.complete(r) for r in requests))
    direct = await tiny_model.complete_batch(requests)
    assert [c.token_ids for c in together] == [c.token_ids for c in direct]

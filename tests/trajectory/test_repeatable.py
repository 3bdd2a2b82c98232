"""Repeatable rollout batches: with a batching backend, which calls share a batch (and in
which row) depends on the rollouts, not on how long their tools took."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from hone.messages import AssistantMessage
from hone.models._batching import BatchingModel
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent, make_request
from hone.trajectory import rollout_batch


class BatchProbe:
    """Replies with where the call sat: the batch's number and size, and its row."""

    name = "probe"

    def __init__(self) -> None:
        self.batches = 0

    async def complete(self, request: ChatRequest) -> Completion:
        return (await self.complete_batch([request]))[0]

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        self.batches += 1
        await asyncio.sleep(0.001)
        return [
            Completion(message=AssistantMessage(content=f"b{self.batches}/{len(requests)} r{i}"))
            for i in range(len(requests))
        ]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(kind="done", completion=await self.complete(request))


def _program(jitter: random.Random) -> Any:
    async def program(task: Mapping[str, Any], model: ModelBackend) -> None:
        """``task["calls"]`` model calls with tool-like pauses of random length between."""
        for n in range(task["calls"]):
            await asyncio.sleep(jitter.random() * 0.004)
            await model.complete(make_request(f"{task['id']} call {n}"))

    return program


async def _episodes(jitter_seed: int, **options: Any) -> list[tuple[Any, ...]]:
    tasks = [{"id": f"t{i}", "calls": 1 + (i * 7) % 4} for i in range(5)]
    model = BatchingModel(BatchProbe(), max_wait_ms=1)
    batch = await rollout_batch(
        _program(random.Random(jitter_seed)), tasks, model, group_size=3, seed=0, **options
    )
    return [
        (e.task_id, e.metadata["rollout_index"], [c.output["content"] for c in e.calls])
        for e in batch.episodes
    ]


@pytest.mark.parametrize("concurrency", [None, 4])
async def test_same_seed_same_episodes_whatever_the_timing(concurrency: int | None) -> None:
    runs = [await _episodes(seed, concurrency=concurrency) for seed in range(3)]
    assert all(run == runs[0] for run in runs)
    sizes = {text.split()[0] for _, _, texts in runs[0] for text in texts}
    assert any(not size.endswith("/1") for size in sizes)  # calls really were batched


async def test_first_wave_holds_every_rollout_in_batch_order() -> None:
    episodes = await _episodes(0)
    first_calls = [texts[0] for _, _, texts in episodes]
    assert first_calls == [f"b1/15 r{row}" for row in range(15)]

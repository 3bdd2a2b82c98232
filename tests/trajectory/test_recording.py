"""RecordingModel: records each call into the episode of the rollout that made it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from hone.messages import text_of
from hone.models._protocol import ChatRequest, Completion, StreamEvent, make_request
from hone.models._scripted import ScriptedModel
from hone.trajectory import EpisodeRecorder, RecordingModel, derive_seed, recording


def echo(request: ChatRequest) -> str:
    return "re: " + text_of(request.messages[-1].content)


class SlowModel:
    """Delays each call by an amount read from the prompt, so concurrent calls interleave."""

    def __init__(self) -> None:
        self.inner = ScriptedModel([echo], when_exhausted="cycle")

    @property
    def name(self) -> str:
        return "slow"

    async def complete(self, request: ChatRequest) -> Completion:
        await asyncio.sleep(0.001 * (len(text_of(request.messages[0].content)) % 5))
        return await self.inner.complete(request)

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        return self.inner.stream(request)


async def test_concurrent_rollouts_record_into_their_own_episode() -> None:
    model = RecordingModel(SlowModel(), role="agent")  # one wrapper shared by every rollout

    async def one(i: int) -> EpisodeRecorder:
        recorder = EpisodeRecorder()
        with recording(recorder):
            for turn in range(3):
                await model.complete(make_request(f"task {i} {'x' * i} turn {turn}"))
        return recorder

    recorders = await asyncio.gather(*(asyncio.create_task(one(i)) for i in range(6)))
    for i, recorder in enumerate(recorders):
        calls = recorder.calls["agent"]
        assert [c.index for c in calls] == [0, 1, 2]
        assert all(c.messages[0]["content"].startswith(f"task {i} ") for c in calls)
        assert calls[2].output["content"] == f"re: task {i} {'x' * i} turn 2"
        # Token ids and logprobs were forced on.
        assert calls[0].has_tokens and len(calls[0].logprobs or []) == len(calls[0].token_ids or [])


async def test_seeds_are_derived_per_call_unless_given() -> None:
    inner = ScriptedModel([echo], when_exhausted="cycle")
    model = RecordingModel(inner, role="solver")
    recorder = EpisodeRecorder(seed=11)
    with recording(recorder):
        await model.complete(make_request("a"))
        await model.complete(make_request("b"))
        explicit = make_request("c")
        await model.complete(make_request("c", options=explicit.options.with_(seed=99)))
    seeds = [r.options.seed for r in inner.requests]
    assert seeds == [derive_seed(11, "solver", 0), derive_seed(11, "solver", 1), 99]
    assert seeds[0] != seeds[1]
    assert recorder.calls["solver"][2].sampling["seed"] == 99


async def test_batch_and_stream_are_recorded() -> None:
    model = RecordingModel(ScriptedModel([echo], when_exhausted="cycle"))
    recorder = EpisodeRecorder(seed=1)
    with recording(recorder):
        await model.complete_batch([make_request("one"), make_request("two")])
        events = [e async for e in model.stream(make_request("three"))]
    assert events[-1].kind == "done"
    calls = recorder.calls["agent"]
    assert [c.output["content"] for c in calls] == ["re: one", "re: two", "re: three"]
    assert len({c.sampling["seed"] for c in calls}) == 3  # batched calls get distinct seeds


async def test_outside_a_rollout_calls_pass_through() -> None:
    inner = ScriptedModel(["hi"])
    model = RecordingModel(inner)
    completion = await model.complete(make_request("x"))
    assert completion.message.text == "hi" and model.name == "scripted"
    assert inner.requests[0].options.seed is None

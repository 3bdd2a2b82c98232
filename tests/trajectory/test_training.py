"""From episodes to training inputs: token ids per call, and training samples."""

from __future__ import annotations

import pytest

from hone.errors import CapabilityError
from hone.models._scripted import ScriptedModel
from hone.trajectory import Episode, ModelCall, episode_samples, episode_to_calls, rollout


def call(
    index: int, prompt: list[int], ids: list[int] | None, logprobs: list[float] | None
) -> ModelCall:
    return ModelCall(
        index=index,
        role="agent",
        model="m",
        messages=[],
        output={"role": "assistant", "content": ""},
        prompt_token_ids=prompt,
        token_ids=ids,
        logprobs=logprobs,
    )


def test_calls_of_an_append_only_episode_merge_into_one_sample() -> None:
    episode = Episode(
        task_id="t",
        group_id="g",
        calls=[call(0, [1, 2], [3, 4], [-0.1, -0.2]), call(1, [1, 2, 3, 4, 5], [6], [-0.3])],
    )
    calls = episode_to_calls(episode)
    assert [c.completion_ids for c in calls] == [[3, 4], [6]]
    merged = episode_samples(episode, 0.5)
    [sample] = merged.samples
    assert sample.input_ids == [1, 2, 3, 4, 5, 6]
    assert sample.loss_mask == [False, False, True, True, False, True]
    assert sample.old_logprobs == [0.0, 0.0, -0.1, -0.2, 0.0, -0.3]
    assert sample.advantage == 0.5 and sample.group_id == "g"


def test_missing_token_ids_raise_a_capability_error() -> None:
    episode = Episode(task_id="t", calls=[call(0, [1], None, None)])
    with pytest.raises(CapabilityError, match="SFT works from messages"):
        episode_to_calls(episode)
    bad = Episode(task_id="t", calls=[call(0, [1], [2, 3], [-0.1])])
    with pytest.raises(CapabilityError, match="one per token"):
        episode_to_calls(bad)


async def test_recorded_rollouts_are_trainable() -> None:
    async def program(task: str, model: ScriptedModel) -> None:
        from hone.agent import arun_agent

        await arun_agent(model, [], task)

    [episode] = await rollout(program, "hi", ScriptedModel(["hello there"]))
    merged = episode_samples(episode, 1.0)
    assert merged.samples[0].num_loss_tokens == len(b"hello there")

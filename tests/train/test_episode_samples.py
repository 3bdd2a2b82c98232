"""From recorded episodes to training samples; the one token-id check and its one message."""

from __future__ import annotations

import pytest

from hone.errors import CapabilityError
from hone.messages import AssistantMessage
from hone.models import Completion, ScriptedModel
from hone.train import episode_samples
from hone.trajectory import Episode, ModelCall, require_token_ids, rollout


def call(
    index: int, prompt: list[int] | None, ids: list[int] | None, logprobs: list[float] | None
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
    merged = episode_samples(episode, 0.5)
    [sample] = merged.samples
    assert sample.input_ids == [1, 2, 3, 4, 5, 6]
    assert sample.loss_mask == [False, False, True, True, False, True]
    assert sample.old_logprobs == [0.0, 0.0, -0.1, -0.2, 0.0, -0.3]
    assert sample.advantage == 0.5 and sample.group_id == "g"


@pytest.mark.parametrize(
    ("prompt", "ids", "logprobs", "missing"),
    [
        (None, [2], [-0.1], "no prompt token ids"),
        ([1], None, None, "no sampled token ids and no logprobs"),
        ([1], [2, 3], [-0.1], "1 logprobs for 2 sampled tokens"),
    ],
)
def test_one_check_one_message(
    prompt: list[int] | None, ids: list[int] | None, logprobs: list[float] | None, missing: str
) -> None:
    episode = Episode(task_id="t", id="ep_x", calls=[call(0, prompt, ids, logprobs)])
    assert not episode.calls[0].has_tokens
    with pytest.raises(CapabilityError, match=missing) as raised:
        episode_samples(episode, 1.0)
    message = str(raised.value)
    assert "model 'm'" in message and "episode ep_x" in message
    assert "SFT, which works from messages" in message and "return_token_ids" in message


def test_the_check_reads_completions_too() -> None:
    bare = Completion(message=AssistantMessage(content="7"), model="remote")
    with pytest.raises(CapabilityError, match="model 'remote' gave no prompt token ids"):
        require_token_ids([bare])
    full = Completion(
        message=AssistantMessage(content="7"),
        prompt_token_ids=(1,),
        token_ids=(2,),
        logprobs=(-0.5,),
    )
    require_token_ids([full])  # nothing missing: no error


async def test_recorded_rollouts_are_trainable() -> None:
    async def program(task: str, model: ScriptedModel) -> None:
        from hone.agent import arun_agent

        await arun_agent(model, [], task)

    [episode] = await rollout(program, "hi", ScriptedModel(["hello there"]))
    merged = episode_samples(episode, 1.0)
    assert merged.samples[0].num_loss_tokens == len(b"hello there")

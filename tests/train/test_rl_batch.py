"""Search-found successes mixed into RL groups (``mix_successes``): a group without a success
gains one, its advantages are GRPO's with that episode in the group, the mixed sample keeps
the recorded behaviour logprobs, and what cannot be used is skipped with a reason, never lost."""

from __future__ import annotations

import pytest
import torch

from hone.errors import TrainingConfigError
from hone.train import build_rl_batch, group_advantages, mix_successes
from hone.trajectory import Episode, ModelCall


def call(logprobs: tuple[float, float] = (-1.0, -1.0), version: int = 3) -> ModelCall:
    return ModelCall(
        index=0,
        role="agent",
        model="m",
        messages=[],
        output={"role": "assistant", "content": "x"},
        prompt_token_ids=[1, 2, 3],
        token_ids=[4, 5],
        logprobs=list(logprobs),
        policy_version=version,
    )


def rollout(task: str, reward: float, group: str | None = None) -> Episode:
    return Episode(task_id=task, group_id=group or f"{task}-g", reward=reward, calls=[call()])


def found(task: str, reward: float | None = 1.0, **fields: object) -> Episode:
    """A search episode: its own group id, its own recorded logprobs."""
    episode = Episode(
        task_id=task,
        group_id=f"{task}-search",
        reward=reward,
        calls=[call((-2.5, -0.25), version=3)],
        metadata={"search": {"node": 4}},
    )
    for name, value in fields.items():
        setattr(episode, name, value)
    return episode


def test_a_group_without_success_gains_one_and_nothing_is_lost() -> None:
    rollouts = [rollout("a", 0.0) for _ in range(3)] + [rollout("b", 1.0), rollout("b", 0.0)]
    success = found("a")
    mixed = mix_successes(rollouts, [success])
    [joined] = mixed.joined
    assert joined.group_id == "a-g" and joined.reward == 1.0 and joined.id == success.id
    assert joined.metadata["mixed_in"] == {
        "source": "search",
        "mode": "join",
        "group_id": "a-g",
        "replaced": None,
    }
    assert joined.metadata["search"] == {"node": 4}
    assert mixed.episodes == [*rollouts[:3], joined, *rollouts[3:]]
    assert mixed.skipped == [] and mixed.displaced == []
    # neither input is modified
    assert success.group_id == "a-search" and "mixed_in" not in success.metadata
    assert [e.group_id for e in rollouts] == ["a-g"] * 3 + ["b-g"] * 2
    # without it the group has no signal; with it, it does
    assert build_rl_batch(rollouts).metrics.skipped_groups == 1
    batch = build_rl_batch(mixed.episodes)
    assert batch.metrics.skipped_groups == 0 and batch.metrics.groups == 2


def test_advantages_are_grpo_with_the_episode_in_the_group() -> None:
    rollouts = [rollout("a", r) for r in (0.0, 0.0, 0.25)]
    mixed = mix_successes(rollouts, [found("a")])
    batch = build_rl_batch(mixed.episodes)
    expected = group_advantages(
        torch.tensor([0.0, 0.0, 0.25, 1.0], dtype=torch.float64), [0, 0, 0, 0]
    )
    got = [float(s.advantage) for s in batch.samples]  # type: ignore[arg-type]
    assert got == pytest.approx(expected.tolist())
    assert got[-1] > 0 > got[0]
    # the same as if the success had been sampled in the group
    native = rollout("a", 1.0)
    native.calls = [call((-2.5, -0.25))]
    assert got == pytest.approx([s.advantage for s in build_rl_batch([*rollouts, native]).samples])


def test_the_mixed_sample_keeps_the_recorded_logprobs_and_version() -> None:
    success = found("a")
    mixed = mix_successes([rollout("a", 0.0), rollout("a", 0.0)], [success])
    sample = build_rl_batch(mixed.episodes).samples[-1]
    assert sample.input_ids == [1, 2, 3, 4, 5]
    assert sample.loss_mask == [False, False, False, True, True]
    assert sample.old_logprobs == [0.0, 0.0, 0.0, -2.5, -0.25]
    # an older search episode is stale like any rollout
    stale = build_rl_batch(mixed.episodes, policy_version=6, max_staleness=2)
    assert stale.metrics.stale == 3 and stale.metrics.samples == 0
    old = found("a")
    old.calls = [call((-2.5, -0.25), version=1)]
    again = mix_successes([rollout("a", 0.0), rollout("a", 0.0)], [old])
    kept = build_rl_batch(again.episodes, policy_version=4, max_staleness=2)
    assert kept.metrics.stale == 1 and kept.metrics.skipped_groups == 1


def test_replace_keeps_the_group_size_and_the_displaced_rollout() -> None:
    rollouts = [rollout("a", 0.0), rollout("a", 0.5), rollout("a", 0.0)]
    mixed = mix_successes(rollouts, [found("a")], mode="replace")
    [joined] = mixed.joined
    assert mixed.displaced == [rollouts[2]]
    assert mixed.episodes == [rollouts[0], rollouts[1], joined]
    assert joined.metadata["mixed_in"]["replaced"] == rollouts[2].id
    assert joined.group_id == "a-g"


def test_what_cannot_be_used_is_skipped_with_the_reason() -> None:
    rollouts = [rollout("a", 0.0), rollout("a", 0.0), rollout("b", 1.0), rollout("b", 0.0)]
    no_ids = found("a")
    no_ids.calls = [ModelCall(index=0, role="agent", model="scripted", messages=[], output={})]
    offered = [
        found("zzz"),  # a task with no group
        no_ids,
        found("a", status="error", error="boom"),
        found("a", reward=None),
        found("a", reward=0.5),
        found("a", calls=[]),
        found("b"),  # b is solved already
        found("a", reward=float("nan")),
    ]
    mixed = mix_successes(rollouts, offered)
    reasons = dict((e.id, why) for e, why in mixed.skipped)
    assert len(mixed.skipped) == len(offered) and mixed.joined == []
    assert "no group of task 'zzz'" in reasons[offered[0].id]
    assert "'scripted'" in reasons[no_ids.id] and "token ids" in reasons[no_ids.id]
    assert "failed (boom)" in reasons[offered[2].id]
    assert "no reward" in reasons[offered[3].id] and "no reward" in reasons[offered[7].id]
    assert "reward 0.5, below the threshold 1" in reasons[offered[4].id]
    assert "no model calls" in reasons[offered[5].id]
    assert "already has a success" in reasons[offered[6].id]
    assert mixed.episodes == rollouts  # nothing lost, nothing added
    # with only_unsolved=False a solved group takes one too
    assert len(mix_successes(rollouts, [found("b")], only_unsolved=False).joined) == 1


def test_one_per_group_the_best_first() -> None:
    rollouts = [rollout("a", 0.0), rollout("a", 0.0)]
    long_one = found("a")
    long_one.calls = [call(), call()]
    short = found("a")
    mixed = mix_successes(rollouts, [long_one, short], threshold=0.9)
    assert [e.id for e in mixed.joined] == [short.id]
    [(skipped, why)] = mixed.skipped
    assert skipped is long_one and "already given a better episode" in why
    # a task drawn twice in a step has two groups: each can take one
    twice = [*rollouts, rollout("a", 0.0, group="a-g2"), rollout("a", 0.0, group="a-g2")]
    both = mix_successes(twice, [long_one, short], threshold=0.9)
    assert {e.group_id for e in both.joined} == {"a-g", "a-g2"}


def test_a_bad_mode_is_refused() -> None:
    with pytest.raises(TrainingConfigError, match="mode must be 'join' or 'replace'"):
        mix_successes([], [], mode="swap")  # type: ignore[arg-type]
